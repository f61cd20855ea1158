// Detection benchmark: how fast railwatch notices a netdev leaving the host namespace, and what the rescan loop
// costs when nothing happens.
//
//   node bench/detect.ts [--runs N] [--idle-seconds S]
//
// (a) netlink trigger: a real veth peer is moved into a new network namespace (a stand-in for a VF netdev moved
//     into a pod); latency = from the `ip link set ... netns` call until a rescan loop scan of the real /sys
//     no longer lists it. The loop runs at a 10 s interval, so only the trigger can make this fast.
// (b) interval only, 1 s interval, no trigger: the same move, at a random phase of the interval.
// (c) idle CPU: a rescan loop at a 10 s interval scanning the 8-rail, 128-VF fixture host, with the config and
//     directory watchers and the netlink monitor running; process CPU time / wall time over the window.
//     Twice: a full scan on every interval (the upper bound), and the agent's policy (`railwatch serve`): the
//     cheap rescan on interval scans, a full scan every FULL_SCAN_EVERY intervals or on a structural change.
// (a) and (b) need root and `ip netns`; they are skipped with a message otherwise.
import { createVethNetns, ip, kernelSkipReason } from '../test/helpers/netns.ts';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../agent/log.ts';
import { FULL_SCAN_EVERY } from '../agent/cli/serve.ts';
import type { NodeSnapshot } from '../agent/model.ts';
import { runScan, scanNode, type Scan } from '../agent/scan/registry.ts';
import { rescanNode } from '../agent/scan/rescan.ts';
import { watchConfig, watchDirs } from '../agent/watch/files.ts';
import { startLinkMonitor } from '../agent/watch/netlink.ts';
import { createRescanLoop, type RescanLoop } from '../agent/watch/rescan-loop.ts';
import { buildDgxHost, type FixtureHost } from '../test/helpers/fixture-host.ts';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, 'idle-seconds': { type: 'string', default: '30' } },
});
const RUNS = Math.max(1, Number(flags.runs));
const IDLE_SECONDS = Math.max(5, Number(flags['idle-seconds']));

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Summary {
  runs: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
}

function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 === 1 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
  return { runs: s.length, minMs: s[0] ?? 0, medianMs: mid, maxMs: s[s.length - 1] ?? 0 };
}

/**
 * Moves the veth peer out of the host namespace `runs` times and measures the time until the loop's scan of /sys
 * no longer lists it. `phaseMs` gives a random wait before each move (to sample the interval's phase).
 */
async function measureMoves(opts: { useNetlink: boolean; intervalMs: number; runs: number; randomPhase: boolean }): Promise<number[]> {
  const { a, b, ns, cleanup } = createVethNetns(`rwb${process.pid}`);
  let waiting: ((at: number) => void) | undefined;
  let sawA = false;
  const loop: RescanLoop = createRescanLoop({
    intervalMs: opts.intervalMs,
    log: silentLogger,
    scan: () => {
      const snap = scanNode({ sysfsRoot: '/sys', procfsRoot: '/proc', config: { rails: {} } });
      if (waiting !== undefined && !snap.netdevs.some((n) => n.name === b)) {
        const done = waiting;
        waiting = undefined;
        done(performance.now());
      }
    },
  });
  const monitor = opts.useNetlink
    ? startLinkMonitor({
        log: silentLogger,
        onEvent: (e) => {
          if (e.ifname === a) sawA = true;
          loop.trigger('netlink');
        },
        onResync: () => loop.trigger('netlink'),
      })
    : undefined;
  const latencies: number[] = [];
  try {
    loop.start();
    if (monitor !== undefined) {
      await monitor.seeded;
      for (let i = 0; !sawA; i++) {
        if (i > 500) throw new Error('the link monitor never subscribed');
        ip('link', 'set', 'dev', a, 'mtu', String(1400 + (i % 2)));
        await sleep(10);
      }
    }
    for (let run = 0; run < opts.runs; run++) {
      // let scans triggered by the previous move back settle
      await sleep(opts.randomPhase ? 300 + Math.random() * opts.intervalMs : 400);
      const seen = new Promise<number>((resolve) => {
        waiting = resolve;
      });
      const t0 = performance.now();
      ip('link', 'set', b, 'netns', ns);
      const t1 = await Promise.race([seen, sleep(opts.intervalMs + 5000).then(() => Number.NaN)]);
      waiting = undefined;
      latencies.push(t1 - t0);
      // back into the host namespace (the namespace of this process)
      ip('-n', ns, 'link', 'set', b, 'netns', String(process.pid));
    }
  } finally {
    await monitor?.stop();
    await loop.stop();
    cleanup();
  }
  return latencies;
}

interface IdleResult {
  wallS: number;
  cpuPctOfCore: number;
  scansInWindow: number;
  fullScansInWindow: number;
  coldScanMs: number;
  meanScanMs: number;
  vfs: number;
  netdevs: number;
}

async function measureIdle(seconds: number, host: FixtureHost, policy: 'full' | 'agent'): Promise<IdleResult> {
  const dirs = mkdtempSync(join(tmpdir(), 'railwatch-bench-'));
  const plugins = join(dirs, 'device-plugins');
  const cni = join(dirs, 'net.d');
  mkdirSync(plugins);
  mkdirSync(cni);
  writeFileSync(join(dirs, 'config.yaml'), 'scanIntervalSeconds: 10\n');
  const durations: number[] = [];
  let vfs = 0;
  let netdevs = 0;
  let prev: Scan | undefined;
  let sinceFull = 0;
  let fullScans = 0;
  let started: ((v: void) => void) | undefined;
  const firstScan = new Promise<void>((r) => {
    started = r;
  });
  const loop = createRescanLoop({
    intervalMs: 10_000,
    log: silentLogger,
    scan: (trigger) => {
      const t = performance.now();
      const opts = { sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} } };
      const forceFull = policy === 'full' || trigger !== 'interval' || sinceFull >= FULL_SCAN_EVERY || prev === undefined;
      const res = forceFull ? { ...runScan(opts), mode: 'full' } : rescanNode(prev, opts);
      sinceFull = res.mode === 'full' ? 0 : sinceFull + 1;
      if (res.mode === 'full') fullScans += 1;
      const snap = res.snapshot;
      prev = res;
      durations.push(performance.now() - t);
      vfs = snap.pfs.reduce((n, pf) => n + pf.vfs.length, 0);
      netdevs = snap.netdevs.length;
      started?.();
    },
  });
  const root = process.getuid?.() === 0;
  const monitor = root ? startLinkMonitor({ log: silentLogger, onEvent: () => loop.trigger('netlink') }) : undefined;
  const cfgWatch = watchConfig({ file: join(dirs, 'config.yaml'), onConfig: () => loop.trigger('file'), log: silentLogger });
  const dirWatch = watchDirs({ dirs: [plugins, cni], onChange: () => loop.trigger('file'), log: silentLogger });
  try {
    await Promise.all([cfgWatch.ready, dirWatch.ready]);
    loop.start();
    await firstScan;
    const coldScanMs = durations[0] ?? 0;
    await sleep(200);
    const before = durations.length;
    const fullBefore = fullScans;
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - w0;
    const window = durations.slice(before);
    return {
      wallS: wallMs / 1000,
      cpuPctOfCore: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      scansInWindow: window.length,
      fullScansInWindow: fullScans - fullBefore,
      coldScanMs,
      meanScanMs: window.length > 0 ? window.reduce((x, y) => x + y, 0) / window.length : Number.NaN,
      vfs,
      netdevs,
    };
  } finally {
    await loop.stop();
    await monitor?.stop();
    await cfgWatch.close();
    await dirWatch.close();
    rmSync(dirs, { recursive: true, force: true });
  }
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'missed';
}

async function main(): Promise<void> {
  const rows: string[][] = [['measurement', 'runs', 'min', 'median', 'max', 'target', 'ok']];
  const skip = kernelSkipReason();
  const result: Record<string, unknown> = {};
  if (skip === undefined) {
    const withNetlink = summarize(await measureMoves({ useNetlink: true, intervalMs: 10_000, runs: RUNS, randomPhase: false }));
    rows.push(['(a) netdev leaves host ns -> scan sees it, netlink trigger (interval 10 s)', String(withNetlink.runs), `${fmt(withNetlink.minMs)} ms`, `${fmt(withNetlink.medianMs)} ms`, `${fmt(withNetlink.maxMs)} ms`, '< 1000 ms', String(withNetlink.maxMs < 1000)]);
    const intervalOnly = summarize(await measureMoves({ useNetlink: false, intervalMs: 1000, runs: RUNS, randomPhase: true }));
    rows.push(['(b) same, interval only (1 s), no trigger', String(intervalOnly.runs), `${fmt(intervalOnly.minMs)} ms`, `${fmt(intervalOnly.medianMs)} ms`, `${fmt(intervalOnly.maxMs)} ms`, '< 2000 ms', String(intervalOnly.maxMs < 2000)]);
    result['netlink'] = withNetlink;
    result['intervalOnly1s'] = intervalOnly;
  } else {
    console.log(`(a) and (b) skipped: ${skip}`);
  }
  const host = buildDgxHost({ rails: 8, vfsPerPf: 128, totalVfs: 128, vfNetdevsInHost: 64 });
  try {
    for (const policy of ['full', 'agent'] as const) {
      const idle = await measureIdle(IDLE_SECONDS, host, policy);
      result[`idle-${policy}`] = idle;
      const what = policy === 'full' ? 'full scan every interval' : `agent policy: cheap rescan, full every ${FULL_SCAN_EVERY}`;
      rows.push([
        `(c) idle CPU, ${what}; 8 rails x 128 VFs (${idle.vfs} VFs, ${idle.netdevs} netdevs), 10 s interval, ${fmt(idle.wallS, 1)} s, ${idle.scansInWindow} scans (${idle.fullScansInWindow} full)`,
        '1',
        '',
        `${fmt(idle.cpuPctOfCore, 3)} % of a core`,
        '',
        '< 1 %',
        String(idle.cpuPctOfCore < 1),
      ]);
      rows.push([`    scan time: first (full) ${fmt(idle.coldScanMs, 1)} ms, mean in window ${fmt(idle.meanScanMs, 1)} ms`, '', '', '', '', '', '']);
    }
  } finally {
    host.cleanup();
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  console.log(JSON.stringify({ node: process.version, kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), ...result }));
}

await main();
