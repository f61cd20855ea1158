// Dependencies: every installed package is pinned by the lockfile (exact version and integrity hash), and
// `npm audit --omit=dev` reports no advisory beyond the accepted ones (docs/security.md). The audit needs the
// registry's audit endpoint; when it does not answer, the test is skipped with the reason.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../reliability/helpers.ts';

/** Advisories accepted after review (see docs/security.md): package name -> why. Empty: none accepted. */
const ACCEPTED: Record<string, string> = {};

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
}

test('the lockfile pins every package: version and integrity hash', () => {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockEntry> };
  assert.ok(lock.lockfileVersion >= 2);
  const unpinned = Object.entries(lock.packages)
    .filter(([path, e]) => path !== '' && !e.link && (e.version === undefined || !/^sha(256|384|512)-/.test(e.integrity ?? '')))
    .map(([path]) => path);
  assert.deepEqual(unpinned, []);
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of Object.keys(pkg.dependencies)) assert.ok(lock.packages[`node_modules/${name}`]?.version, `${name} is locked`);
});

test('npm audit --omit=dev: no unaccepted advisory', async (t) => {
  const { stdout, code } = await new Promise<{ stdout: string; code: number }>((resolve) =>
    execFile('npm', ['audit', '--omit=dev', '--json'], { cwd: REPO, timeout: 90_000, maxBuffer: 16 << 20 }, (err, out) =>
      resolve({ stdout: out, code: typeof err?.code === 'number' ? err.code : err ? -1 : 0 }),
    ),
  );
  let report: { metadata?: { vulnerabilities?: Record<string, number> }; vulnerabilities?: Record<string, { severity: string }>; error?: unknown; message?: string };
  try {
    report = JSON.parse(stdout) as typeof report;
  } catch {
    t.skip(`npm audit gave no JSON (exit ${code}); the registry's audit endpoint is not reachable from here`);
    return;
  }
  if (report.metadata?.vulnerabilities === undefined) {
    t.skip(`npm audit could not ask the registry: ${JSON.stringify(report.message ?? report.error ?? report).slice(0, 200)}`);
    return;
  }
  const found = Object.entries(report.vulnerabilities ?? {})
    .filter(([name]) => ACCEPTED[name] === undefined)
    .map(([name, v]) => `${name} (${v.severity})`);
  assert.deepEqual(found, []);
});
