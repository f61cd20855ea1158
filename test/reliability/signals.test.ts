// Signals on the real binary: SIGTERM lets a scrape that is being delivered complete and exits 0 within 2 s;
// SIGHUP reloads the config file (a bad one is rejected with its field and the agent keeps serving).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { httpGet, sleep, spawnRailwatch, until, type Spawned } from './helpers.ts';

const host = buildDgxHost({ rails: 8, vfsPerPf: 16 });
const dir = mkdtempSync(join(tmpdir(), 'railwatch-signals-'));
after(() => {
  host.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function logLines(p: Spawned): LogLine[] {
  return p
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function startServe(args: string[] = []): Promise<{ p: Spawned; port: number }> {
  const p = spawnRailwatch(['serve', '--sysfs', host.sys, '--procfs', host.proc, '--listen', '127.0.0.1:0', '--no-kube', '--no-monitors', '--pod-resources-socket', join(dir, 'absent.sock'), ...args]);
  let port = 0;
  await until(() => {
    const line = logLines(p).find((l) => l.msg === 'http server listening');
    port = Number(line?.['port'] ?? 0);
    return port > 0 || p.child.exitCode !== null;
  }, 'the agent to listen');
  assert.ok(port > 0, `agent did not start: ${p.stderr()}`);
  await until(async () => (await httpGet(port, '/readyz')).status === 200, 'the first scan');
  return { p, port };
}

describe('SIGTERM', () => {
  test('a scrape being delivered completes; exit code 0 within 2 s', async (t) => {
    const { p, port } = await startServe();
    t.after(() => p.child.kill('SIGKILL'));
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const firstData = new Promise<void>((resolve) => sock.once('data', (c: Buffer) => (chunks.push(c), sock.pause(), resolve())));
    sock.write('GET /status HTTP/1.1\r\nHost: railwatch\r\n\r\n');
    await firstData;
    // the response has started and the client reads no further: SIGTERM now
    const termAt = Date.now();
    p.child.kill('SIGTERM');
    const exited = p.exited.then((r) => ({ ...r, afterMs: Date.now() - termAt }));
    await sleep(300);
    const ended = new Promise<void>((resolve) => sock.on('end', resolve).on('close', () => resolve()));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.resume();
    await ended;
    const raw = Buffer.concat(chunks).toString('utf8');
    const headEnd = raw.indexOf('\r\n\r\n');
    const length = Number(/content-length: (\d+)/i.exec(raw.slice(0, headEnd))?.[1]);
    const body = raw.slice(headEnd + 4);
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.equal(Buffer.byteLength(body), length, 'the whole body arrived');
    assert.ok(length > 100_000, `a large response (${length} bytes)`);
    assert.equal((JSON.parse(body) as { snapshot: { pfs: unknown[] } }).snapshot.pfs.length, 8);
    const r = await exited;
    t.diagnostic(`exit ${r.code} ${r.afterMs} ms after SIGTERM, /status body ${length} bytes`);
    assert.deepEqual([r.code, r.signal], [0, null]);
    assert.ok(r.afterMs < 2000, `exited ${r.afterMs} ms after SIGTERM`);
    assert.ok(logLines(p).some((l) => l.msg === 'shutting down' && l['signal'] === 'SIGTERM'));
  });

  test('idle agent: exit code 0 within 2 s, nothing left listening', async () => {
    const { p, port } = await startServe();
    const termAt = Date.now();
    p.child.kill('SIGTERM');
    const r = await p.exited;
    const afterMs = Date.now() - termAt;
    assert.deepEqual([r.code, r.signal], [0, null]);
    assert.ok(afterMs < 2000, `exited ${afterMs} ms after SIGTERM`);
    await assert.rejects(httpGet(port, '/healthz'), /ECONNREFUSED/);
  });
});

describe('SIGHUP', () => {
  test('reloads the config; a bad config is rejected with its field and the agent keeps serving', async (t) => {
    const cfgDir = join(dir, 'cfg');
    mkdirSync(cfgDir);
    const file = join(cfgDir, 'config.yaml');
    writeFileSync(file, 'expectedMtu: 9000\n');
    const { p, port } = await startServe(['--config', file]);
    t.after(() => p.child.kill('SIGKILL'));
    p.child.kill('SIGHUP');
    await until(() => logLines(p).some((l) => l.msg === 'config reloaded' && l['source'] === 'SIGHUP'), 'the SIGHUP reload');
    writeFileSync(file, 'expectedMtu: lots\n');
    p.child.kill('SIGHUP');
    await until(
      () => logLines(p).some((l) => l.msg === 'rejected the new config; keeping the old one' && l['field'] === 'expectedMtu'),
      'the rejection of the bad config',
    );
    assert.equal((await httpGet(port, '/metrics')).status, 200);
    assert.equal(p.child.exitCode, null, 'still running');
    p.child.kill('SIGTERM');
    assert.deepEqual(await p.exited, { code: 0, signal: null });
  });
});
