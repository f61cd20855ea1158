// serve runs under its memory flags wherever it is started: a serve started without a heap cap replaces itself
// (same pid) with the same command under SERVE_NODE_FLAGS; a caller's own cap is kept.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { heapCapped, runsServe, serveFlagsFor, SERVE_MALLOC_ENV, SERVE_NODE_FLAGS } from '../../agent/serve-flags.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';

const MAIN = join(import.meta.dirname, '../../agent/main.ts');

describe('serve memory flags', () => {
  test('which command lines run serve, and which already cap the heap', () => {
    assert.equal(runsServe(['node', '/app/dist/main.js']), true);
    assert.equal(runsServe(['node', '/app/dist/main.js', 'serve', '--no-kube']), true);
    assert.equal(runsServe(['node', '/usr/lib/node_modules/.bin/railwatch', '--listen', ':1']), true);
    assert.equal(runsServe(['node', 'agent/main.ts', 'doctor']), false);
    assert.equal(runsServe(['node', 'agent/main.ts', 'inventory']), false);
    assert.equal(runsServe(['node', 'test/cli/x.test.ts']), false);
    assert.equal(heapCapped([], undefined), false);
    assert.equal(heapCapped(['--max-old-space-size=256'], undefined), true);
    assert.equal(heapCapped([], '--enable-source-maps --max-old-space-size=128'), true);
  });

  async function cmdlineOfServe(nodeArgs: string[], t: { after(fn: () => void): void }, env: Record<string, string> = {}): Promise<{ cmdline: string[]; environ: Map<string, string> }> {
    const host = buildDgxHost({ rails: 1, vfsPerPf: 1 });
    t.after(() => host.cleanup());
    const child = spawn(
      process.execPath,
      [...nodeArgs, MAIN, 'serve', '--no-kube', '--no-monitors', '--sysfs', host.sys, '--procfs', host.proc, '--listen', '127.0.0.1:0', '--pod-resources-socket', join(host.root, 'absent.sock'), '--node-name', 'x'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', ...env } },
    );
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const end = Date.now() + 30_000;
    while (!stderr.includes('"msg":"http server listening"')) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start: ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // execve keeps the pid: the child's command line is the one serve runs under
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const environ = new Map(
      readFileSync(`/proc/${child.pid}/environ`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
    );
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    return { cmdline, environ };
  }

  test('`node agent/main.ts serve` without flags runs under the heap caps (lite mode only for compiled JavaScript)', async (t) => {
    assert.deepEqual(serveFlagsFor('/app/dist/main.js'), SERVE_NODE_FLAGS);
    assert.deepEqual(serveFlagsFor(MAIN), ['--max-semi-space-size=1', '--max-old-space-size=64', '--no-node-snapshot']);
    const { cmdline, environ } = await cmdlineOfServe([], t);
    for (const flag of serveFlagsFor(MAIN)) assert.ok(cmdline.includes(flag), `${flag} in ${cmdline.join(' ')}`);
    assert.equal(cmdline.filter((a) => a === MAIN).length, 1);
    // and with glibc's malloc thresholds fixed
    for (const [k, v] of Object.entries(SERVE_MALLOC_ENV)) assert.equal(environ.get(k), v, k);
  });

  test('a malloc setting the caller gave is kept through the re-execution', async (t) => {
    const { environ } = await cmdlineOfServe([], t, { MALLOC_MMAP_THRESHOLD_: '65536' });
    assert.equal(environ.get('MALLOC_MMAP_THRESHOLD_'), '65536');
    assert.equal(environ.get('MALLOC_TRIM_THRESHOLD_'), SERVE_MALLOC_ENV['MALLOC_TRIM_THRESHOLD_']);
  });

  test('a caller-given heap cap is kept as it is', async (t) => {
    const { cmdline } = await cmdlineOfServe(['--max-old-space-size=200'], t);
    assert.ok(cmdline.includes('--max-old-space-size=200'));
    assert.ok(!cmdline.includes('--lite-mode'));
  });
});
