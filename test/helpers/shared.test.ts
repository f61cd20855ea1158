import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { relative } from 'node:path';
import { findShared, SHARED_DIR, sharedRequired, useShared } from './shared.ts';

/** Just enough of a TestContext to see whether useShared skipped, and why. */
function fakeContext(): { t: TestContext; skipped: (string | undefined)[] } {
  const skipped: (string | undefined)[] = [];
  return { t: { skip: (reason?: string) => skipped.push(reason) } as unknown as TestContext, skipped };
}

test('useShared: absent material skips with the path as the reason, outside CI', () => {
  const { t, skipped } = fakeContext();
  assert.equal(useShared(t, 'reference/no-such-capture.txt', {}), undefined);
  assert.equal(skipped.length, 1);
  assert.match(skipped[0] ?? '', /needs \.\.\/shared\/reference\/no-such-capture\.txt beside the clone/);
});

test('useShared: absent material fails the test when CI=true', () => {
  const { t, skipped } = fakeContext();
  assert.throws(() => useShared(t, 'reference/no-such-capture.txt', { CI: 'true' }), /no-such-capture\.txt .*required when CI=true/);
  assert.deepEqual(skipped, []);
  assert.equal(sharedRequired({ CI: 'false' }), false);
  assert.equal(sharedRequired({ CI: 'true' }), true);
});

test('useShared: present material is returned without a skip', () => {
  // this file stands in for material: its path relative to SHARED_DIR (../<repo>/test/helpers/shared.test.ts)
  const rel = relative(SHARED_DIR, import.meta.filename);
  assert.equal(findShared(rel), import.meta.filename);
  const { t, skipped } = fakeContext();
  assert.equal(useShared(t, rel, { CI: 'true' }), import.meta.filename);
  assert.deepEqual(skipped, []);
});
