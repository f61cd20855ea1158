// HostFs: every read is bounded and reports failures as codes; all HostFs share one read buffer, so a value read
// from one root is never changed by a later read from another.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HostFs, MAX_ATTR_BYTES } from '../../agent/sysfs/host-fs.ts';

test('reads from two roots, interleaved, keep their own values; a missing file is a code', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-hostfs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const root of ['a', 'b']) mkdirSync(join(dir, root));
  writeFileSync(join(dir, 'a/long'), 'x'.repeat(5000) + '\n');
  writeFileSync(join(dir, 'b/short'), 'mlx5_core\n');
  writeFileSync(join(dir, 'b/big'), 'y'.repeat(MAX_ATTR_BYTES + 100));
  const a = new HostFs(join(dir, 'a'));
  const b = new HostFs(join(dir, 'b'));
  const long = a.read('long');
  const short = b.read('short');
  assert.deepEqual(short, { ok: true, value: 'mlx5_core' });
  assert.deepEqual(long, { ok: true, value: 'x'.repeat(5000) }, 'the first value survives the second read');
  assert.deepEqual(a.read('missing'), { ok: false, code: 'ENOENT' });
  const big = b.read('big');
  assert.ok(big.ok && big.value.length === MAX_ATTR_BYTES, 'one read, at most MAX_ATTR_BYTES');
  assert.deepEqual(b.read('short'), { ok: true, value: 'mlx5_core' }, 'a short read after a full one: only its bytes');
});
