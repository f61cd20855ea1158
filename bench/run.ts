// railwatch benchmark (`npm run bench`): railwatch and Debian's prometheus-node-exporter (infiniband + netclass
// collectors) side by side on the same 8-rail, 128-VFs-per-PF fixture host, in one run. railwatch runs as it ships:
// the compiled agent (`npm run build`), `serve --no-kube` with the image's V8 flags and its 10 s scan interval, and
// the host's recorded `ip -j -s -d link show` answer, so that the per-VF counters are read at each scrape as on a
// real host (node_exporter has no such series).
// One table, with the ratio railwatch / node_exporter per row:
//  - counter age at scrape: a writer rewrites counters/port_xmit_data every 5 ms with a value that encodes the time
//    it was written; each scrape's served value gives its age against the scrape's start;
//  - rate() error over 15 s scrape intervals for that steadily growing counter (median and worst), computed as
//    Prometheus does (value difference over the difference of the scrape start times);
//  - scrape time (1 scraper), and p50/p99/max under 50 and 200 concurrent scrapers (gzip, keep-alive), with what
//    else used the CPUs meanwhile and the bench client's own event-loop delay, so that a tail can be told apart
//    from a machine shared with other work;
//  - scan time (railwatch: full and cheap scan in-process, and its own railwatch_scan_duration_seconds; node_exporter
//    reads the tree at every scrape: its collectors' node_scrape_collector_duration_seconds);
//  - idle CPU (no scrapes), RSS at 60 s (split into file-backed and anonymous pages), its median and maximum over
//    the 20 s before, and peak RSS after the load. The sample at 60 s is taken right after the last freshness
//    scrape, ~60 s after railwatch was ready, which is also when its sixth interval scan (a full one,
//    FULL_SCAN_EVERY) runs: it often reads that scan's peak, which lasts ~40-80 ms, rather than the resting size.
// Figures on a shared machine are noisy; the ratios of one run are what to compare. Exits non-zero on scrape errors.
// BENCH_RATE_SCRAPES (5: four 15 s intervals), BENCH_RATE_INTERVAL_S (15), BENCH_RSS_AT_S (60), BENCH_IDLE_S (20), BENCH_LOAD_S (10),
// BENCH_SCRAPES (200), BENCH_SCANS (30), BENCH_NODE_FLAGS and NODE_EXPORTER adjust it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDgxHost } from '../test/helpers/fixture-host.ts';
import { runScan } from '../agent/scan/registry.ts';
import { rescanNode } from '../agent/scan/rescan.ts';
import { SERVE_MALLOC_ENV, SERVE_NODE_FLAGS } from '../agent/serve-flags.ts';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const SCRAPES = env('BENCH_SCRAPES', 200);
const SCANS = env('BENCH_SCANS', 30);
const RATE_SCRAPES = env('BENCH_RATE_SCRAPES', 5);
const RATE_INTERVAL_MS = env('BENCH_RATE_INTERVAL_S', 15) * 1000;
const IDLE_MS = env('BENCH_IDLE_S', 20) * 1000;
const LOAD_MS = env('BENCH_LOAD_S', 10) * 1000;
const RSS_AT_MS = env('BENCH_RSS_AT_S', 60) * 1000;
const NODE_EXPORTER = process.env['NODE_EXPORTER'] ?? '/usr/bin/prometheus-node-exporter';
const CHILD_FLAGS = (process.env['BENCH_NODE_FLAGS'] ?? SERVE_NODE_FLAGS.join(' ')).split(' ').filter(Boolean);
const REPO = join(import.meta.dirname, '..');
/** The counter the freshness rows watch, relative to sys/. */
const COUNTER = 'class/infiniband/mlx5_0/ports/1/counters/port_xmit_data';
/** Words per ms the writer adds: 1e6 words/ms = 4 GB/s. */
const WORDS_PER_MS = 1_000_000;

interface Program {
  name: string;
  child: ChildProcess;
  port: number;
  /** The exported bytes family of COUNTER. */
  bytesSeries: string;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Scrape {
  startedAt: number;
  ms: number;
  status: number;
  text: string;
  bytes: number;
  /** The request went out on a new connection; connectMs: until it was connected. */
  newConnection: boolean;
  connectMs: number;
  /** Until the response headers came. */
  headersMs: number;
}

function scrape(agent: Agent | false, port: number, opts: { gzip?: boolean; keepText?: boolean } = {}): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const headers: Record<string, string> = opts.gzip ? { 'accept-encoding': 'gzip' } : {};
    let newConnection = false;
    let connectMs = 0;
    let headersMs = 0;
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent, headers }, (res) => {
      headersMs = performance.now() - startedAt;
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (opts.keepText) chunks.push(c);
      });
      res.on('end', () =>
        resolve({ startedAt, ms: performance.now() - startedAt, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), bytes, newConnection, connectMs, headersMs }),
      );
      res.on('error', reject);
    });
    req.on('socket', (sock) => {
      if (!sock.connecting) return;
      newConnection = true;
      sock.once('connect', () => (connectMs = performance.now() - startedAt));
    });
    req.setTimeout(60_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

function seriesValue(text: string, series: string): number | undefined {
  const at = text.indexOf('\n' + series + ' ');
  if (at < 0) return undefined;
  const end = text.indexOf('\n', at + 1);
  return Number(text.slice(at + series.length + 2, end < 0 ? undefined : end));
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

async function waitReady(child: ChildProcess, port: number, path: string, what: string): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    if (i > 600 || child.exitCode !== null) throw new Error(`${what} did not start`);
    await sleep(100);
  }
}

/**
 * VmRSS and VmHWM (peak) of a process, MiB, and VmRSS split into its file-backed pages (the program's binary and
 * libraries, mapped from the page cache: for Node most of its RSS) and its anonymous memory (heaps, buffers).
 */
function memoryOf(pid: number): { rss: number; peak: number; file: number; anon: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024, file: kb('RssFile') / 1024, anon: kb('RssAnon') / 1024 };
}

/** utime + stime of a process, seconds (USER_HZ 100). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Busy CPU seconds of the whole machine (all CPUs), from /proc/stat. */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

/**
 * What else ran while `act` did: the CPU the rest of the machine used (busy CPU minus this process and the two
 * programs), as % of one CPU, and the bench client's own event-loop delay (its scrapers wait for it too).
 */
async function contention<T>(pids: readonly number[], act: () => Promise<T>): Promise<{ value: T; otherCpuPct: number; clientLagMaxMs: number }> {
  const own = () => pids.reduce((a, pid) => a + cpuSeconds(pid), 0) + (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const [busy0, own0, t0] = [machineBusySeconds(), own(), performance.now()];
  lag.enable();
  const value = await act();
  lag.disable();
  const seconds = (performance.now() - t0) / 1000;
  const other = machineBusySeconds() - busy0 - (own() - own0);
  return { value, otherCpuPct: (Math.max(0, other) / seconds) * 100, clientLagMaxMs: lag.max / 1e6 };
}

/** Waits (at most 30 s) until the processes use under 5% of a CPU together over 250 ms. */
async function quiet(pids: readonly number[]): Promise<void> {
  const cpu = () => pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
  const until = performance.now() + 30_000;
  while (performance.now() < until) {
    const c0 = cpu();
    await sleep(250);
    if (cpu() - c0 < 0.0125) return;
  }
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

async function sequential(p: Program, n: number): Promise<{ times: number[]; errors: number; bytes: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  let errors = 0;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    try {
      const r = await scrape(agent, p.port);
      if (r.status !== 200) errors++;
      times.push(r.ms);
      bytes = r.bytes;
    } catch {
      errors++;
    }
  }
  agent.destroy();
  return { times: times.sort((a, b) => a - b), errors, bytes };
}

interface Load {
  p50: number;
  p99: number;
  max: number;
  perS: number;
  errors: number;
  /** The slowest scrapes: when in the phase, on a new connection or not, connect and headers times. */
  slowest: string;
}

async function load(p: Program, scrapers: number, ms: number): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: scrapers });
  const times: number[] = [];
  const all: Scrape[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: scrapers }, async () => {
      while (performance.now() < deadline) {
        try {
          const r = await scrape(agent, p.port, { gzip: true });
          if (r.status === 200) {
            times.push(r.ms);
            all.push(r);
          } else errors++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  times.sort((a, b) => a - b);
  const slowest = all
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3)
    .map((r) => `${r.ms.toFixed(0)} ms at +${((r.startedAt - started) / 1000).toFixed(2)} s (${r.newConnection ? `new connection, connected after ${r.connectMs.toFixed(0)} ms` : 'kept-alive'}, headers after ${r.headersMs.toFixed(0)} ms)`)
    .join('; ');
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: times.at(-1) ?? NaN, perS: times.length / elapsed, errors, slowest };
}

interface Freshness {
  ages: number[];
  rateErrors: number[];
  errors: number;
}

/**
 * The writer rewrites COUNTER every 5 ms with words = (now - t0) * WORDS_PER_MS; each program is scraped every
 * RATE_INTERVAL_MS (the rate samples), and for the age probed every ~500 ms in between.
 */
async function freshness(programs: readonly Program[], write: (rel: string, v: string) => void): Promise<Map<string, Freshness>> {
  const t0 = performance.now() - 1000;
  const writtenAt = (words: number) => t0 + words / WORDS_PER_MS;
  const tick = () => write(COUNTER, String(Math.round((performance.now() - t0) * WORDS_PER_MS)));
  // the first value is on disk before the first scrape: a scrape must never see the fixture's own value
  tick();
  const writer = setInterval(tick, 5);
  const out = new Map<string, Freshness>();
  const end = performance.now() + (RATE_SCRAPES - 1) * RATE_INTERVAL_MS + 200;
  await Promise.all(
    programs.map(async (p) => {
      const f: Freshness = { ages: [], rateErrors: [], errors: 0 };
      out.set(p.name, f);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const sample = async (): Promise<{ at: number; bytes: number } | undefined> => {
        try {
          const r = await scrape(agent, p.port, { keepText: true });
          const bytes = seriesValue(r.text, p.bytesSeries);
          if (r.status !== 200 || bytes === undefined) {
            f.errors++;
            return undefined;
          }
          f.ages.push(Math.max(0, r.startedAt - writtenAt(bytes / 4)));
          return { at: r.startedAt, bytes };
        } catch {
          f.errors++;
          return undefined;
        }
      };
      const rates: ({ at: number; bytes: number } | undefined)[] = [];
      let nextRate = performance.now();
      while (performance.now() < end) {
        if (performance.now() >= nextRate) {
          rates.push(await sample());
          nextRate += RATE_INTERVAL_MS;
        } else {
          await sleep(Math.min(nextRate - performance.now(), 300 + Math.random() * 400));
          if (performance.now() < nextRate - 50) await sample();
        }
      }
      const trueRate = WORDS_PER_MS * 4 * 1000;
      for (let i = 1; i < rates.length; i++) {
        const a = rates[i - 1];
        const b = rates[i];
        if (a === undefined || b === undefined) continue;
        const est = (b.bytes - a.bytes) / ((b.at - a.at) / 1000);
        f.rateErrors.push(Math.abs(est / trueRate - 1) * 100);
      }
      agent.destroy();
    }),
  );
  clearInterval(writer);
  return out;
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? fmt(a / b, 3) : 'n/a';
}

async function main(): Promise<number> {
  const started = performance.now();
  process.stdout.write('building the 8-rail, 128-VFs-per-PF fixture host...\n');
  const host = buildDgxHost({ rails: 8, vfsPerPf: 128, totalVfs: 128, vfNetdevsInHost: 64 });
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
    jitFull.sort((a, b) => a - b);
    jitCheap.sort((a, b) => a - b);
    const files = counterFiles(host.sys);
    floor(files, 20);
    const floorTimes = floor(files, SCRAPES).sort((a, b) => a - b);

    process.stdout.write('compiling railwatch (npm run build)...\n');
    if (spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' }).status !== 0) throw new Error('npm run build failed');
    const rwPort = await freePort();
    const rwChild = spawn(
      process.execPath,
      [...CHILD_FLAGS, join(REPO, 'dist/main.js'), 'serve', '--no-kube', '--no-monitors', '--sysfs', host.sys, '--procfs', host.proc, '--listen', `127.0.0.1:${rwPort}`, '--pod-resources-socket', join(host.root, 'absent.sock'), '--ip-link-json', host.ipLinkFile, '--interval', '10', '--node-name', 'bench', '--log-level', 'error'],
      { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env['PATH'] ?? '', ...SERVE_MALLOC_ENV } },
    );
    children.push(rwChild);
    const rwStarted = performance.now();
    const nePort = await freePort();
    const neChild = spawn(
      NODE_EXPORTER,
      [`--path.sysfs=${host.sys}`, `--path.procfs=${host.proc}`, '--collector.disable-defaults', '--collector.infiniband', '--collector.netclass', `--web.listen-address=127.0.0.1:${nePort}`, '--log.level=error'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(neChild);
    await waitReady(rwChild, rwPort, '/readyz', 'railwatch');
    await waitReady(neChild, nePort, '/metrics', 'node_exporter');
    // RSS every 250 ms over the 20 s before RSS_AT_MS: one sample lands anywhere between two collections (on 8x128
    // railwatch's RSS swings by ~6 MiB with each scan), so the window's median and maximum are reported beside it
    const rssWindow: { rw: number[]; ne: number[] } = { rw: [], ne: [] };
    const rssSampler = setInterval(() => {
      if (performance.now() - rwStarted < RSS_AT_MS - 20_000) return;
      rssWindow.rw.push(memoryOf(rwChild.pid!).rss);
      rssWindow.ne.push(memoryOf(neChild.pid!).rss);
    }, 250);
    const rw: Program = { name: 'railwatch', child: rwChild, port: rwPort, bytesSeries: 'railwatch_rdma_port_transmit_bytes_total{device="mlx5_0",port="1"}' };
    const ne: Program = { name: 'node_exporter', child: neChild, port: nePort, bytesSeries: 'node_infiniband_port_data_transmitted_bytes_total{device="mlx5_0",port="1"}' };

    process.stdout.write(`counter age and rate() error: ${RATE_SCRAPES} scrapes ${RATE_INTERVAL_MS / 1000} s apart, age probes between...\n`);
    // a sysfs read is an atomic snapshot of the attribute: write a temporary file and rename it over the counter, so
    // neither program ever reads a half-written value
    const counterPath = join(host.sys, COUNTER);
    const fresh = await freshness([rw, ne], (_rel, v) => {
      writeFileSync(counterPath + '.tmp', v + '\n');
      renameSync(counterPath + '.tmp', counterPath);
    });
    // the RSS once railwatch has run RSS_AT_MS (60 s)
    await sleep(Math.max(0, RSS_AT_MS - (performance.now() - rwStarted)));
    const mem60 = { rw: memoryOf(rwChild.pid!), ne: memoryOf(neChild.pid!) };
    const rss60 = { rw: mem60.rw.rss, ne: mem60.ne.rss };
    clearInterval(rssSampler);
    const windowed = (xs: number[]) => {
      const sorted = [...xs].sort((x, y) => x - y);
      return { median: quantile(sorted, 0.5), max: sorted.at(-1) ?? NaN };
    };
    const rssWin = { rw: windowed(rssWindow.rw), ne: windowed(rssWindow.ne) };

    process.stdout.write(`idle CPU over ${IDLE_MS / 1000} s without scrapes...\n`);
    const cpu0 = { rw: cpuSeconds(rwChild.pid!), ne: cpuSeconds(neChild.pid!) };
    await sleep(IDLE_MS);
    const idle = { rw: ((cpuSeconds(rwChild.pid!) - cpu0.rw) / (IDLE_MS / 1000)) * 100, ne: ((cpuSeconds(neChild.pid!) - cpu0.ne) / (IDLE_MS / 1000)) * 100 };

    process.stdout.write(`${SCRAPES} sequential scrapes each...\n`);
    await sequential(rw, 20);
    await sequential(ne, 5);
    const seq = { rw: await sequential(rw, SCRAPES), ne: await sequential(ne, Math.min(SCRAPES, 100)) };

    const scanOf = async () => {
      const rwText = (await scrape(false, rw.port, { keepText: true })).text;
      const neText = (await scrape(false, ne.port, { keepText: true })).text;
      const neScan =
        (seriesValue(neText, 'node_scrape_collector_duration_seconds{collector="infiniband"}') ?? NaN) +
        (seriesValue(neText, 'node_scrape_collector_duration_seconds{collector="netclass"}') ?? NaN);
      return { rw: (seriesValue(rwText, 'railwatch_scan_duration_seconds') ?? NaN) * 1000, ne: neScan * 1000 };
    };
    const scans = await scanOf();

    const loads: Record<string, { rw: Load; ne: Load }> = {};
    const contended: Record<string, { rw: { otherCpuPct: number; clientLagMaxMs: number }; ne: { otherCpuPct: number; clientLagMaxMs: number } }> = {};
    const pids = [rwChild.pid!, neChild.pid!];
    for (const c of [50, 200]) {
      process.stdout.write(`${c} concurrent scrapers for ${LOAD_MS / 1000} s each...\n`);
      // node_exporter goes on answering the requests it had queued after its scrapers stop (seconds, under 200):
      // each phase starts once both programs are idle, so that neither runs beside the other's load
      await quiet(pids);
      const r = await contention(pids, () => load(rw, c, LOAD_MS));
      await quiet(pids);
      const n = await contention(pids, () => load(ne, c, LOAD_MS));
      loads[c] = { rw: r.value, ne: n.value };
      contended[c] = { rw: r, ne: n };
    }
    const after = { rw: memoryOf(rwChild.pid!), ne: memoryOf(neChild.pid!) };

    const fr = fresh.get('railwatch')!;
    const fn = fresh.get('node_exporter')!;
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const ageRw = sorted(fr.ages);
    const ageNe = sorted(fn.ages);
    const rateRw = sorted(fr.rateErrors);
    const rateNe = sorted(fn.rateErrors);
    type Row = [string, number, number, string?];
    const rows: Row[] = [
      [`counter age at scrape, median ms (${ageRw.length}/${ageNe.length} scrapes)`, quantile(ageRw, 0.5), quantile(ageNe, 0.5)],
      ['counter age at scrape, max ms', ageRw.at(-1) ?? NaN, ageNe.at(-1) ?? NaN, '<= 500 ms'],
      [`rate() error, ${RATE_INTERVAL_MS / 1000} s intervals, median % (${rateRw.length} intervals)`, quantile(rateRw, 0.5), quantile(rateNe, 0.5), 'within 1 point'],
      ['rate() error, worst %', rateRw.at(-1) ?? NaN, rateNe.at(-1) ?? NaN],
      ['scrape, 1 scraper, p50 ms', quantile(seq.rw.times, 0.5), quantile(seq.ne.times, 0.5), '<= 0.1x'],
      ['scrape, 1 scraper, p99 ms', quantile(seq.rw.times, 0.99), quantile(seq.ne.times, 0.99)],
      ['scrape size, bytes', seq.rw.bytes, seq.ne.bytes],
    ];
    for (const c of [50, 200]) {
      const l = loads[c]!;
      rows.push([`${c} scrapers (gzip), p50 ms`, l.rw.p50, l.ne.p50]);
      rows.push([`${c} scrapers (gzip), p99 ms`, l.rw.p99, l.ne.p99]);
      rows.push([`${c} scrapers (gzip), max ms`, l.rw.max, l.ne.max]);
      rows.push([`${c} scrapers (gzip), scrapes/s`, l.rw.perS, l.ne.perS]);
      rows.push([`${c} scrapers, errors`, l.rw.errors, l.ne.errors, '0']);
      rows.push([`${c} scrapers: other processes' CPU, % of one CPU`, contended[c]!.rw.otherCpuPct, contended[c]!.ne.otherCpuPct]);
      rows.push([`${c} scrapers: bench client loop delay max ms`, contended[c]!.rw.clientLagMaxMs, contended[c]!.ne.clientLagMaxMs]);
    }
    rows.push(['scan time, latest in serve ms (node_exporter: collectors per scrape)', scans.rw, scans.ne]);
    rows.push(['idle CPU %, no scrapes (railwatch: 10 s scans)', idle.rw, idle.ne]);
    rows.push([`RSS MiB at ${RSS_AT_MS / 1000} s`, rss60.rw, rss60.ne, '<= 56 MiB']);
    rows.push([`  of which file-backed (binary, libraries)`, mem60.rw.file, mem60.ne.file]);
    rows.push([`  of which anonymous (heaps, buffers)`, mem60.rw.anon, mem60.ne.anon]);
    rows.push([`RSS MiB, median of ${(RSS_AT_MS - 20_000) / 1000}-${RSS_AT_MS / 1000} s (every 250 ms)`, rssWin.rw.median, rssWin.ne.median]);
    rows.push([`RSS MiB, max of ${(RSS_AT_MS - 20_000) / 1000}-${RSS_AT_MS / 1000} s`, rssWin.rw.max, rssWin.ne.max]);
    rows.push(['RSS MiB after the load', after.rw.rss, after.ne.rss]);
    rows.push(['peak RSS MiB', after.rw.peak, after.ne.peak]);

    const w = Math.max(...rows.map((r) => r[0].length), 40);
    const line = (cols: string[]) => cols[0]!.padEnd(w) + cols.slice(1).map((x, i) => (i === 3 ? '  ' + x : x.padStart(14))).join('');
    const out: string[] = [];
    out.push(`railwatch benchmark: 8 rails, 128 VFs per PF (1024 VFs, 512 VF netdevs in the host), node ${process.version}`);
    out.push(`railwatch: compiled, serve --no-kube, node flags ${CHILD_FLAGS.join(' ') || '(none)'}; node_exporter: ${NODE_EXPORTER} (infiniband, netclass)`);
    out.push('');
    out.push(line(['', 'railwatch', 'node_exporter', 'ratio', 'target']));
    for (const [label, a, b, target] of rows) out.push(line([label, fmt(a), fmt(b), ratio(a, b), target ?? '']));
    out.push('');
    out.push(line(['railwatch alone', 'median ms', 'p95 ms', '', '']));
    out.push(line(['full scan in-process (JIT)', fmt(quantile(jitFull, 0.5)), fmt(quantile(jitFull, 0.95)), '', '']));
    out.push(line(['cheap rescan in-process (JIT)', fmt(quantile(jitCheap, 0.5)), fmt(quantile(jitCheap, 0.95)), '', '']));
    out.push(line([`floor: read the ${files.length} counter files`, fmt(quantile(floorTimes, 0.5)), fmt(quantile(floorTimes, 0.95)), '', '']));
    out.push('');
    for (const c of [50, 200]) {
      out.push(`slowest scrapes under ${c}, railwatch: ${loads[c]!.rw.slowest}`);
      out.push(`slowest scrapes under ${c}, node_exporter: ${loads[c]!.ne.slowest}`);
    }
    out.push(`freshness scrape errors: railwatch ${fr.errors}, node_exporter ${fn.errors}; total bench time ${fmt((performance.now() - started) / 1000, 1)} s`);
    process.stdout.write(out.join('\n') + '\n');
    const errors = seq.rw.errors + loads[50]!.rw.errors + loads[200]!.rw.errors + fr.errors;
    return errors === 0 ? 0 : 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    host.cleanup();
  }
}

process.exitCode = await main();
