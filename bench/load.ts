// Load benchmark (`npm run bench:load`): many concurrent scrapers against the real railwatch binary serving a
// fixture host, optionally with slow-loris clients connected the whole time.
// Usage: node bench/load.ts [--duration 60] [--scrapers 200] [--rails 8] [--vfs 128] [--path /metrics]
//                           [--slowloris 0] [--json]
// Reports requests, errors, p50/p90/p99/max latency, throughput; with --slowloris N, how many of those
// connections the server dropped (header timeout, 10 s by default) and whether scrapes kept succeeding.
// Exits 1 when any scrape failed.
import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDgxHost } from '../test/helpers/fixture-host.ts';
import { SERVE_MALLOC_ENV, SERVE_NODE_FLAGS } from '../agent/serve-flags.ts';

const REPO = join(import.meta.dirname, '..');
const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    scrapers: { type: 'string', default: '200' },
    rails: { type: 'string', default: '8' },
    vfs: { type: 'string', default: '128' },
    path: { type: 'string', default: '/metrics' },
    slowloris: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
const durationS = Number(flags.duration);
const scrapers = Number(flags.scrapers);
const lorisCount = Number(flags.slowloris);
const say = (line: string) => !flags.json && process.stderr.write(line + '\n');

export interface LoadResult {
  host: { rails: number; vfsPerPf: number };
  durationS: number;
  scrapers: number;
  requests: number;
  errors: number;
  errorKinds: Record<string, number>;
  bytesPerScrape: number;
  throughputPerS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  slowloris?: { opened: number; droppedByServer: number; stillOpen: number; scrapesOkAtEnd: number };
  serverRssMiB?: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

say(`building a ${flags.rails}-rail host with ${flags.vfs} VFs per PF ...`);
const host = buildDgxHost({ rails: Number(flags.rails), vfsPerPf: Number(flags.vfs), vfNetdevsInHost: 2, extras: true });
// the agent as the image runs it: compiled JavaScript with the Dockerfile ENTRYPOINT's memory flags and malloc settings
say('compiling railwatch (npm run build) ...');
const build = spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' });
if (build.status !== 0) throw new Error('npm run build failed');
const child = spawn(
  process.execPath,
  [...SERVE_NODE_FLAGS, join(REPO, 'dist/main.js'), 'serve', '--sysfs', host.sys, '--procfs', host.proc, '--listen', '127.0.0.1:0', '--no-kube', '--no-monitors', '--pod-resources-socket', join(host.root, 'absent.sock'), '--log-level', 'info'],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '', ...SERVE_MALLOC_ENV } },
);
let stderr = '';
child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));

async function waitFor(fn: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 60_000;
  while (!(await fn())) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`${what}: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function get(port: number, agent: Agent | false, path: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

let port = 0;
await waitFor(() => {
  const m = /"msg":"http server listening".*?"port":(\d+)/.exec(stderr);
  port = Number(m?.[1] ?? 0);
  return port > 0;
}, 'the server did not start');
await waitFor(async () => (await get(port, false, '/readyz').catch(() => ({ status: 0 }))).status === 200, 'no first scan');

// slow-loris: connect and dribble a header line one byte at a time, never finishing the headers
const loris: Socket[] = [];
let lorisDropped = 0;
const dribble = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(10_000);
for (let i = 0; i < lorisCount; i++) {
  const s = connect(port, '127.0.0.1');
  let pos = 0;
  const timer = setInterval(() => !s.destroyed && pos < dribble.length && s.write(dribble[pos++]!), 500);
  s.on('close', () => {
    clearInterval(timer);
    lorisDropped++;
  });
  s.on('error', () => undefined);
  s.on('data', () => undefined);
  loris.push(s);
}

say(`${scrapers} scrapers for ${durationS} s on ${flags.path}${lorisCount > 0 ? `, ${lorisCount} slow-loris connections` : ''} ...`);
const keepAlive = new Agent({ keepAlive: true, maxSockets: scrapers });
const latencies: number[] = [];
const errorKinds: Record<string, number> = {};
let bytes = 0;
const started = performance.now();
const deadline = started + durationS * 1000;
await Promise.all(
  Array.from({ length: scrapers }, async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        const r = await get(port, keepAlive, flags.path);
        if (r.status !== 200) errorKinds[`HTTP ${r.status}`] = (errorKinds[`HTTP ${r.status}`] ?? 0) + 1;
        else {
          latencies.push(performance.now() - t);
          bytes = r.bytes;
        }
      } catch (err) {
        const k = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        errorKinds[k] = (errorKinds[k] ?? 0) + 1;
      }
    }
  }),
);
const elapsedS = (performance.now() - started) / 1000;
keepAlive.destroy();
let lorisScrape = 0;
if (lorisCount > 0) {
  for (let i = 0; i < 5; i++) if ((await get(port, false, '/metrics').catch(() => ({ status: 0 }))).status === 200) lorisScrape++;
}
const rssKb = Number(/VmRSS:\s+(\d+)/.exec(await import('node:fs').then((fs) => fs.readFileSync(`/proc/${child.pid}/status`, 'utf8')))?.[1] ?? 0);
for (const s of loris) s.destroy();
const errors = Object.values(errorKinds).reduce((a, b) => a + b, 0);
latencies.sort((a, b) => a - b);
const round = (n: number) => Math.round(n * 100) / 100;
const result: LoadResult = {
  host: { rails: Number(flags.rails), vfsPerPf: Number(flags.vfs) },
  durationS: round(elapsedS),
  scrapers,
  requests: latencies.length + errors,
  errors,
  errorKinds,
  bytesPerScrape: bytes,
  throughputPerS: round(latencies.length / elapsedS),
  latencyMs: { p50: round(quantile(latencies, 0.5)), p90: round(quantile(latencies, 0.9)), p99: round(quantile(latencies, 0.99)), max: round(latencies.at(-1) ?? 0) },
  serverRssMiB: round(rssKb / 1024),
};
if (lorisCount > 0) {
  const droppedDuringRun = lorisDropped;
  result.slowloris = { opened: lorisCount, droppedByServer: droppedDuringRun, stillOpen: lorisCount - droppedDuringRun, scrapesOkAtEnd: lorisScrape };
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
host.cleanup();
if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
else {
  say(
    `requests ${result.requests}, errors ${errors} ${errors ? JSON.stringify(errorKinds) : ''}\n` +
      `latency p50 ${result.latencyMs.p50} ms, p90 ${result.latencyMs.p90} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms\n` +
      `throughput ${result.throughputPerS} scrapes/s, ${bytes} bytes per scrape, server RSS ${result.serverRssMiB} MiB`,
  );
  if (result.slowloris) say(`slow-loris: ${JSON.stringify(result.slowloris)}`);
}
process.exitCode = errors > 0 ? 1 : 0;
