// Material from ../shared (next to the clone): real sysfs captures and other projects' fixture trees.
// A user's clone does not have it: tests that need it skip with a visible reason. In CI (CI=true) it is required,
// so a missing or misplaced ../shared fails the run instead of silently shrinking it.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { TestContext } from 'node:test';

/** The directory next to the repository root: `<repo>/../shared`. */
export const SHARED_DIR = resolve(import.meta.dirname, '../../../shared');

/** True when CI=true: material from ../shared is then required. */
export function sharedRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['CI'] === 'true';
}

/** The absolute path of `rel` (e.g. `reference/real-sysfs/x.txt`) under ../shared when it exists, else undefined. */
export function findShared(rel: string): string | undefined {
  const abs = join(SHARED_DIR, rel);
  return existsSync(abs) ? abs : undefined;
}

/** Why a test that needs `rel` cannot run (for skip messages and CI failures). */
export function sharedMissingReason(rel: string): string {
  return `needs ../shared/${rel} beside the clone (not found at ${relative(process.cwd(), join(SHARED_DIR, rel)) || '.'})`;
}

/**
 * Inside a test: the absolute path of `rel` under ../shared. When it is absent the test is skipped with the reason
 * and undefined is returned (the caller returns); with CI=true it throws instead, failing the test.
 *
 *   test('real capture', (t) => {
 *     const file = useShared(t, 'reference/real-sysfs/prometheus-procfs.txt');
 *     if (file === undefined) return;
 *     ...
 *   });
 */
export function useShared(t: TestContext, rel: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const abs = findShared(rel);
  if (abs !== undefined) return abs;
  const reason = sharedMissingReason(rel);
  if (sharedRequired(env)) throw new Error(`${reason}; it is required when CI=true`);
  t.skip(reason);
  return undefined;
}
