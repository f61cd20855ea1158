// Soak benchmark (`npm run bench:soak`): scan+scrape cycles in a tight loop, in-process, as the agent runs them
// (a full scan every sixth cycle, the cheap rescan otherwise; the metrics rendered from every new snapshot, with
// gzip every tenth), with counters changing between cycles. Measures the heap after a forced GC and the open
// file descriptors at the start (after a warm-up) and the end.
// Usage: node --expose-gc bench/soak.ts [--cycles 20000] [--rails 2] [--vfs 4] [--json]
// Exits 1 when the heap grew 5 MiB or more, or file descriptors leaked.
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { defaultConfig } from '../agent/config/config.ts';
import { createMetricsRenderer } from '../agent/metrics/render.ts';
import type { NodeSnapshot } from '../agent/model.ts';
import { runScan, type Scan } from '../agent/scan/registry.ts';
import { rescanNode } from '../agent/scan/rescan.ts';
import { bump, createAgentState } from '../agent/state.ts';
import { buildDgxHost } from '../test/helpers/fixture-host.ts';

const { values: flags } = parseArgs({
  options: {
    cycles: { type: 'string', default: '20000' },
    rails: { type: 'string', default: '2' },
    vfs: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
  },
});
const cycles = Number(flags.cycles);
const MIB = 2 ** 20;
const HEAP_LIMIT = 5 * MIB;

function gc(): void {
  let fn = (globalThis as { gc?: () => void }).gc;
  if (fn === undefined) {
    setFlagsFromString('--expose-gc');
    fn = runInNewContext('gc') as () => void;
  }
  fn();
  fn();
}
function heap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}
const fds = () => readdirSync('/proc/self/fd').length;

export interface SoakResult {
  cycles: number;
  host: { rails: number; vfsPerPf: number };
  seconds: number;
  cyclesPerS: number;
  heapStartMiB: number;
  heapEndMiB: number;
  heapGrowthMiB: number;
  heapSamplesMiB: number[];
  fdStart: number;
  fdEnd: number;
  rssEndMiB: number;
}

const host = buildDgxHost({ rails: Number(flags.rails), vfsPerPf: Number(flags.vfs) });
try {
  const config = defaultConfig();
  const state = createAgentState(config, 'soak');
  const renderer = createMetricsRenderer({ defaultMetrics: true });
  const opts = { sysfsRoot: host.sys, procfsRoot: host.proc, config };
  const port = 'class/infiniband/mlx5_0/ports/1/counters/port_xmit_data';
  let prev: Scan | undefined;
  let sink = 0;

  async function cycle(i: number): Promise<void> {
    if (i % 50 === 0) host.replace(port, String(1_000_000 + i)); // counters move, as on a live port
    const scan = i % 6 === 0 || prev === undefined ? runScan(opts) : rescanNode(prev, opts);
    const snapshot = scan.snapshot;
    prev = scan;
    state.snapshot = snapshot;
    bump(state.scansTotal, 'interval');
    for (const issue of snapshot.issues) bump(state.scanErrorsTotal, issue.scanner);
    const parts = await renderer.render(state);
    for (const p of parts) sink += i % 10 === 0 ? p.gzip().length : p.text.length;
    // one event-loop turn per cycle, as between two scrapes of the server: prom-client's event-loop-lag gauge
    // schedules a setImmediate per collection, and a loop of microtasks only would pile them up
    await new Promise((resolve) => setImmediate(resolve));
  }

  const warmup = Math.min(500, Math.floor(cycles / 10));
  for (let i = 0; i < warmup; i++) await cycle(i);
  const heapStart = heap();
  const fdStart = fds();
  const samples: number[] = [heapStart];
  const started = performance.now();
  const every = Math.max(1, Math.floor(cycles / 10));
  for (let i = warmup; i < warmup + cycles; i++) {
    await cycle(i);
    if ((i - warmup + 1) % every === 0) samples.push(heap());
  }
  const seconds = (performance.now() - started) / 1000;
  const heapEnd = heap();
  const fdEnd = fds();
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const result: SoakResult = {
    cycles,
    host: { rails: Number(flags.rails), vfsPerPf: Number(flags.vfs) },
    seconds: r2(seconds),
    cyclesPerS: r2(cycles / seconds),
    heapStartMiB: r2(heapStart / MIB),
    heapEndMiB: r2(heapEnd / MIB),
    heapGrowthMiB: r2((heapEnd - heapStart) / MIB),
    heapSamplesMiB: samples.map((h) => r2(h / MIB)),
    fdStart,
    fdEnd,
    rssEndMiB: r2(process.memoryUsage().rss / MIB),
  };
  if (sink === 0) throw new Error('nothing rendered');
  if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(
      `${cycles} scan+scrape cycles in ${result.seconds} s (${result.cyclesPerS}/s) on a ${flags.rails}-rail host with ${flags.vfs} VFs per PF\n` +
        `heap after GC: ${result.heapStartMiB} -> ${result.heapEndMiB} MiB (growth ${result.heapGrowthMiB} MiB; samples ${result.heapSamplesMiB.join(' ')})\n` +
        `open fds: ${fdStart} -> ${fdEnd}; RSS at the end ${result.rssEndMiB} MiB\n`,
    );
  }
  process.exitCode = heapEnd - heapStart >= HEAP_LIMIT || fdEnd > fdStart ? 1 : 0;
} finally {
  host.cleanup();
}
