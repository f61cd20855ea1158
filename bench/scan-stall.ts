// Scrape latency while scans run: the synchronous scan (the baseline), the scan that yields (runScanYielding) and
// the scan on a worker thread, side by side in one run on one fixture host, with no scan as the floor.
// A child process scrapes a small HTTP server in this process back to back (one request in flight, keep-alive);
// this process runs full scans of the host one after another (20 ms apart) for the window of each mode.
//   node bench/scan-stall.ts [SYSFS PROCFS] [--seconds 5]
// Without a tree, it builds the 8 x 128 host (scripts/make-fixture.ts) in a temporary directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScan, runScanYielding } from '../agent/scan/registry.ts';
import { createScanWorker } from './scan-worker.ts';

const args = process.argv.slice(2);
const secIdx = args.indexOf('--seconds');
const SECONDS = secIdx >= 0 ? Number(args[secIdx + 1]) : 5;
const paths = args.filter((a, i) => !a.startsWith('--') && (secIdx < 0 || i !== secIdx + 1));
let sysfsRoot = paths[0];
let procfsRoot = paths[1];
let tmp: string | undefined;
if (sysfsRoot === undefined || procfsRoot === undefined) {
  tmp = mkdtempSync(join(tmpdir(), 'railwatch-stall-'));
  const made = spawn(process.execPath, [join(import.meta.dirname, '../scripts/make-fixture.ts'), tmp, '8', '128'], { stdio: 'ignore' });
  await new Promise((resolve) => made.on('exit', resolve));
  sysfsRoot = join(tmp, 'sys');
  procfsRoot = join(tmp, 'proc');
}
const opts = { sysfsRoot, procfsRoot, config: { rails: {} } };

const BODY = Buffer.from('railwatch_up 1\n'.repeat(2000));
const server: Server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;

const SCRAPER = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const lat = []; const end = Date.now() + ${SECONDS * 1000};
function one() {
  if (Date.now() > end) { process.stdout.write(JSON.stringify(lat)); agent.destroy(); return; }
  const t = performance.now();
  http.get({ host: '127.0.0.1', port: Number(process.argv[1]), path: '/metrics', agent }, (res) => {
    res.resume(); res.on('end', () => { lat.push(performance.now() - t); one(); });
  }).on('error', (e) => { console.error(e); process.exit(1); });
}
one();`;

function scrape(): Promise<number[]> {
  const child = spawn(process.execPath, ['-e', SCRAPER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', () => resolve(JSON.parse(out) as number[])));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Mode = 'none' | 'sync' | 'yield' | 'worker';

async function measure(mode: Mode): Promise<{ mode: Mode; scrapes: number[]; scans: number[] }> {
  const worker = mode === 'worker' ? createScanWorker() : undefined;
  const scans: number[] = [];
  let running = true;
  const scraping = scrape().then((s) => {
    running = false;
    return s;
  });
  await sleep(300); // the scraper is up
  while (running && mode !== 'none') {
    const t = performance.now();
    if (mode === 'sync') runScan(opts);
    else if (mode === 'yield') await runScanYielding(opts);
    else await worker?.scan(opts, 'bench');
    scans.push(performance.now() - t);
    await sleep(20);
  }
  const scrapes = await scraping;
  await worker?.close();
  return { mode, scrapes, scans };
}

function q(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
}

const results = [];
for (const mode of ['none', 'sync', 'yield', 'worker'] as const) results.push(await measure(mode));
server.close();
if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });

const base = results.find((r) => r.mode === 'sync')!;
const f = (x: number) => x.toFixed(2);
console.log(`scrape latency (ms) while full scans run back to back, ${SECONDS} s per mode; ratios against the synchronous scan`);
console.log('mode     scrapes  p50     p99     max      scan median (ms)  max/sync-max');
for (const r of results) {
  console.log(
    `${r.mode.padEnd(8)} ${String(r.scrapes.length).padStart(7)}  ${f(q(r.scrapes, 0.5)).padEnd(7)} ${f(q(r.scrapes, 0.99)).padEnd(7)} ${f(Math.max(...r.scrapes)).padEnd(8)} ` +
      `${r.scans.length ? f(q(r.scans, 0.5)) : '-'}`.padEnd(18) + ` ${f(Math.max(...r.scrapes) / Math.max(...base.scrapes))}`,
  );
}
