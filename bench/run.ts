// railwatch benchmark (`npm run bench`): scrape latency and memory of railwatch on the 8-rail, 128-VFs-per-PF
// fixture host, side by side with Debian's prometheus-node-exporter (infiniband + netclass collectors) on the same
// tree, and a floor: reading just the counter files railwatch exports. Prints a table; exits non-zero on errors.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDgxHost } from '../test/helpers/fixture-host.ts';
import { runScan, scanNode } from '../agent/scan/registry.ts';
import { rescanNode } from '../agent/scan/rescan.ts';

const SCRAPES = Number(process.env['BENCH_SCRAPES'] ?? 200);
const SCANS = Number(process.env['BENCH_SCANS'] ?? 30);
const CONCURRENT = 50;
const PER_CLIENT = 10;
const NODE_EXPORTER = process.env['NODE_EXPORTER'] ?? '/usr/bin/prometheus-node-exporter';
/** V8 flags of the railwatch child: a small young generation keeps the scan garbage from growing the RSS. */
const CHILD_FLAGS = (process.env['BENCH_NODE_FLAGS'] ?? '--max-semi-space-size=1 --max-old-space-size=64 --lite-mode').split(' ').filter(Boolean);
const REPO = join(import.meta.dirname, '..');

/**
 * Compiles agent/ and the bench child to JavaScript as `npm run build` does, so the child runs the production form
 * (no type stripping in the measured process). Returns the child's entry.
 */
function compileChild(dir: string): string {
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(REPO, 'tsconfig.build.json'),
      compilerOptions: { rootDir: REPO, outDir: join(dir, 'out') },
      include: [join(REPO, 'agent'), join(REPO, 'bench/serve-fixture.ts')],
    }),
  );
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  // type errors elsewhere in the tree do not stop tsc from emitting; the entry must exist
  spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'ignore' });
  const entry = join(dir, 'out/bench/serve-fixture.js');
  if (!existsSync(entry)) throw new Error('compiling the railwatch bench child failed');
  return entry;
}

interface Stats {
  median: number;
  p95: number;
  p99: number;
  n: number;
}

function stats(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  return { median: at(0.5), p95: at(0.95), p99: at(0.99), n: s.length };
}

interface Scrape {
  ms: number;
  status: number;
  bytes: number;
}

function scrape(agent: Agent, port: number, headers: Record<string, string> = {}): Promise<Scrape> {
  return new Promise((resolveScrape, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolveScrape({ ms: performance.now() - started, status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrapeMany(port: number, n: number, headers: Record<string, string> = {}, before?: () => Promise<void>): Promise<{ times: number[]; bytes: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  let bytes = 0;
  let errors = 0;
  for (let i = 0; i < n; i++) {
    if (before) await before();
    try {
      const r = await scrape(agent, port, headers);
      if (r.status !== 200) errors++;
      times.push(r.ms);
      bytes = r.bytes;
    } catch {
      errors++;
    }
  }
  agent.destroy();
  return { times, bytes, errors };
}

async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolvePort(port));
    });
  });
}

/** VmRSS and VmHWM (peak) of a process, MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The counter files railwatch exports: every counters/ file and every hw_counters/ file but lifespan. */
function counterFiles(sys: string): string[] {
  const out: string[] = [];
  const ib = join(sys, 'class/infiniband');
  for (const dev of readdirSync(ib)) {
    for (const port of readdirSync(join(ib, dev, 'ports'))) {
      for (const dir of ['counters', 'hw_counters']) {
        const d = join(ib, dev, 'ports', port, dir);
        for (const name of readdirSync(d)) if (name !== 'lifespan') out.push(join(d, name));
      }
    }
  }
  return out;
}

function floor(files: readonly string[], n: number): number[] {
  const times: number[] = [];
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    for (const f of files) sink += readFileSync(f, 'utf8').length;
    times.push(performance.now() - started);
  }
  if (sink < 0) process.stdout.write('');
  return times;
}

interface RailwatchChild {
  child: ChildProcess;
  port: number;
  ask<T>(msg: object, key: string): Promise<T>;
}

async function startRailwatch(entry: string, sys: string, proc: string): Promise<RailwatchChild> {
  const child = spawn(process.execPath, [...CHILD_FLAGS, entry, sys, proc], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(msg: object, key: string): Promise<T> =>
    new Promise<T>((resolveAsk, reject) => {
      const onExit = (code: number | null) => reject(new Error(`railwatch child exited with ${code}`));
      const onMessage = (m: Record<string, unknown>) => {
        if (!(key in m)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolveAsk(m as T);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (Object.keys(msg).length > 0) child.send(msg);
    });
  const ready = await ask<{ port: number }>({}, 'ready');
  return { child, port: ready.port, ask };
}

async function startNodeExporter(sys: string, proc: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(
    NODE_EXPORTER,
    [
      `--path.sysfs=${sys}`,
      `--path.procfs=${proc}`,
      '--collector.disable-defaults',
      '--collector.infiniband',
      '--collector.netclass',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=error',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const agent = new Agent({ keepAlive: false });
  for (let i = 0; ; i++) {
    try {
      const r = await scrape(agent, port);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 100 || child.exitCode !== null) throw new Error('prometheus-node-exporter did not start');
    await sleep(50);
  }
  return { child, port };
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

async function main(): Promise<number> {
  const t0 = performance.now();
  process.stdout.write('building the 8-rail, 128-VFs-per-PF fixture host...\n');
  const host = buildDgxHost({ rails: 8, vfsPerPf: 128, totalVfs: 128, vfNetdevsInHost: 64 });
  const buildDir = mkdtempSync(join(tmpdir(), 'railwatch-bench-'));
  const children: ChildProcess[] = [];
  try {
    // in-process (optimizing JIT on): the full scan and the cheap rescan the agent runs on interval ticks
    process.stdout.write(`measuring ${SCANS} full scans and ${SCANS} cheap rescans in-process...\n`);
    const scanOpts = { sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} } };
    let prev = runScan(scanOpts);
    const jitFull: number[] = [];
    for (let i = 0; i < SCANS; i++) {
      const t = performance.now();
      prev = runScan(scanOpts);
      jitFull.push(performance.now() - t);
    }
    const jitCheap: number[] = [];
    for (let i = 0; i < SCANS; i++) {
      const t = performance.now();
      const r = rescanNode(prev, scanOpts);
      jitCheap.push(performance.now() - t);
      if (r.mode !== 'cheap') throw new Error(`rescan fell back to a full scan: ${r.reason}`);
      prev = r;
    }
    process.stdout.write('compiling railwatch to JavaScript for the child process...\n');
    const entry = compileChild(buildDir);
    const rw = await startRailwatch(entry, host.sys, host.proc);
    children.push(rw.child);
    const ne = await startNodeExporter(host.sys, host.proc);
    children.push(ne.child);

    const phase = async (label: string) => {
      if (process.env['BENCH_VERBOSE'] !== '1') return;
      const m = (await rw.ask<{ memory: NodeJS.MemoryUsage }>({ cmd: 'memory' }, 'memory')).memory;
      const mib = (b: number) => fmt(b / 1048576, 1);
      process.stdout.write(`  railwatch memory ${label}: rss ${mib(m.rss)} heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} external ${mib(m.external)}\n`);
    };
    await phase('at start');
    process.stdout.write(`measuring ${SCANS} scans...\n`);
    const scanTimes = (await rw.ask<{ scanTimes: number[] }>({ cmd: 'scan-times', n: SCANS }, 'scanTimes')).scanTimes;

    await phase('after scans');
    process.stdout.write(`measuring ${SCRAPES} scrapes each...\n`);
    await scrapeMany(rw.port, 20);
    await scrapeMany(ne.port, 5);
    const rwPlain = await scrapeMany(rw.port, SCRAPES);
    await phase('after plain scrapes');
    const steadyMem = memoryOf(rw.child.pid!);
    const rwGzip = await scrapeMany(rw.port, SCRAPES, { 'accept-encoding': 'gzip' });
    await phase('after gzip scrapes');
    const rwRescan = await scrapeMany(rw.port, SCRAPES, {}, async () => {
      await rw.ask({ cmd: 'rescan' }, 'rescanned');
    });
    await phase('after rescan scrapes');
    const nePlain = await scrapeMany(ne.port, SCRAPES);
    const neGzip = await scrapeMany(ne.port, Math.min(SCRAPES, 50), { 'accept-encoding': 'gzip' });

    const files = counterFiles(host.sys);
    floor(files, 20);
    const floorTimes = floor(files, SCRAPES);

    process.stdout.write(`${CONCURRENT} concurrent scrapers x ${PER_CLIENT} scrapes...\n`);
    const concurrent = await Promise.all(Array.from({ length: CONCURRENT }, () => scrapeMany(rw.port, PER_CLIENT, { 'accept-encoding': 'gzip' })));
    const concTimes = concurrent.flatMap((c) => c.times);
    const concErrors = concurrent.reduce((n, c) => n + c.errors, 0);

    await phase('after concurrent scrapes');
    const rwMem = memoryOf(rw.child.pid!);
    const neMem = memoryOf(ne.child.pid!);

    const scan = stats(scanTimes);
    const p = stats(rwPlain.times);
    const g = stats(rwGzip.times);
    const r = stats(rwRescan.times);
    const n = stats(nePlain.times);
    const ng = stats(neGzip.times);
    const f = stats(floorTimes);
    const c = stats(concTimes);
    const rows: [string, string, string, string, string][] = [
      ['railwatch /metrics (snapshot fixed)', fmt(p.median), fmt(p.p99), String(rwPlain.bytes), String(rwPlain.errors)],
      ['railwatch /metrics gzip', fmt(g.median), fmt(g.p99), String(rwGzip.bytes), String(rwGzip.errors)],
      ['railwatch /metrics after a rescan each', fmt(r.median), fmt(r.p99), String(rwRescan.bytes), String(rwRescan.errors)],
      ['node_exporter /metrics', fmt(n.median), fmt(n.p99), String(nePlain.bytes), String(nePlain.errors)],
      [`node_exporter /metrics gzip (${ng.n})`, fmt(ng.median), fmt(ng.p99), String(neGzip.bytes), String(neGzip.errors)],
      [`floor: read ${files.length} counter files`, fmt(f.median), fmt(f.p99), '', ''],
      [`railwatch ${CONCURRENT} concurrent x ${PER_CLIENT} gzip`, fmt(c.median), fmt(c.p99), '', String(concErrors)],
    ];
    const w = Math.max(...rows.map((row) => row[0].length));
    const line = (cols: string[]) => cols[0]!.padEnd(w) + cols.slice(1).map((x) => x.padStart(12)).join('');
    const out: string[] = [];
    out.push(`railwatch benchmark: 8 rails, 128 VFs per PF (1024 VFs, 512 VF netdevs in the host), ${SCRAPES} scrapes, node ${process.version}`);
    out.push(`railwatch child: compiled JavaScript, node flags ${CHILD_FLAGS.join(' ') || '(none)'}`);
    out.push('');
    out.push(line(['scrape latency', 'median ms', 'p99 ms', 'bytes', 'errors']));
    for (const row of rows) out.push(line(row));
    out.push('');
    const jf = stats(jitFull);
    const jc = stats(jitCheap);
    out.push(line(['scan time', 'median ms', 'p95 ms', 'scans', 'target']));
    out.push(line(['scanNode() full, in-process (JIT)', fmt(jf.median), fmt(jf.p95), String(jf.n), '< 50']));
    out.push(line(['rescanNode() cheap path (JIT)', fmt(jc.median), fmt(jc.p95), String(jc.n), '< 10']));
    out.push(line(['scanNode() full, child (image flags)', fmt(scan.median), fmt(scan.p95), String(scan.n), '']));
    out.push('');
    out.push(line(['memory', 'RSS MiB', 'peak MiB', '', '']));
    out.push(line(['railwatch after 30 scans + scrapes', fmt(steadyMem.rss, 1), fmt(steadyMem.peak, 1), '', '']));
    out.push(line([`railwatch after ${SCRAPES} rescans + all`, fmt(rwMem.rss, 1), fmt(rwMem.peak, 1), '', '']));
    out.push(line(['node_exporter', fmt(neMem.rss, 1), fmt(neMem.peak, 1), '', '']));
    out.push('');
    const ratioNe = p.median / n.median;
    const ratioFloor = p.median / f.median;
    const check = (ok: boolean) => (ok ? 'ok' : 'MISSED');
    out.push(line(['ratios and targets', 'value', 'target', '', '']));
    out.push(line(['railwatch / node_exporter (median)', fmt(ratioNe, 3), '<= 0.25', check(ratioNe <= 0.25), '']));
    out.push(line(['railwatch / floor (median)', fmt(ratioFloor, 2), '<= 3', check(ratioFloor <= 3), '']));
    out.push(line(['railwatch after rescan / node_exporter', fmt(r.median / n.median, 3), '', '', '']));
    out.push(line(['railwatch RSS MiB (steady)', fmt(steadyMem.rss, 1), '<= 80', check(steadyMem.rss <= 80), '']));
    out.push(line(['railwatch RSS MiB (after stress)', fmt(rwMem.rss, 1), '<= 80', check(rwMem.rss <= 80), '']));
    out.push(line(['50 concurrent scrapers, errors', String(concErrors), '0', check(concErrors === 0), '']));
    out.push('');
    out.push(`total bench time ${fmt((performance.now() - t0) / 1000, 1)} s`);
    process.stdout.write(out.join('\n') + '\n');
    const errors = rwPlain.errors + rwGzip.errors + rwRescan.errors + concErrors;
    return errors === 0 ? 0 : 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    host.cleanup();
    rmSync(buildDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
