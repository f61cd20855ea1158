// The scanner registry: one scanner per sysfs area, in dependency order, each returning raw records (records.ts)
// that assemble() joins into one immutable NodeSnapshot. A scanner that throws is recorded and the rest of the
// snapshot is still built. A scanner may read the records of the scanners before it, never change them.
import type { Config } from '../config/config.ts';
import type { HostIdentity, NodeSnapshot } from '../model.ts';
import { HostFs } from '../sysfs/host-fs.ts';
import { assemble } from './assemble.ts';
import type { ScanContext } from './context.ts';
import { scanNvidiaGpus } from './gpu.ts';
import { scanHost } from './host.ts';
import { scanInfiniband, scanInfinibandSteps } from './infiniband.ts';
import { scanNet } from './net.ts';
import { scanPci, scanPciSteps } from './pci.ts';
import { StructureChanged, type ScanRecords } from './records.ts';

export interface ScanOptions {
  sysfsRoot: string;
  procfsRoot: string;
  config: Pick<Config, 'rails'>;
  identity?: HostIdentity;
  now?: () => number;
  /** The scanner registry (default SCANNERS); tests swap one in to make it fail. */
  scanners?: readonly Scanner[];
}

/**
 * One scanner: reads its area into its own field of `out`. With `prev` (a cheap rescan) it may reuse what cannot
 * change while the structure is unchanged, and throws StructureChanged when the structure moved.
 */
export interface Scanner {
  name: string;
  run(ctx: ScanContext, out: ScanRecords, prev?: ScanRecords): void;
  /** The same work in steps (yielding between objects), for a scan that gives the event loop turns. */
  steps?(ctx: ScanContext, out: ScanRecords, prev?: ScanRecords): Generator<void, void>;
}

export const SCANNERS: readonly Scanner[] = [
  {
    name: 'pci',
    run: (ctx, out, prev) => void (out.pci = scanPci(ctx, prev?.pci)),
    *steps(ctx, out, prev) {
      out.pci = yield* scanPciSteps(ctx, prev?.pci);
    },
  },
  { name: 'net', run: (ctx, out) => void (out.net = scanNet(ctx, out.pci)) },
  {
    name: 'infiniband',
    run: (ctx, out) => void (out.infiniband = scanInfiniband(ctx)),
    *steps(ctx, out) {
      out.infiniband = yield* scanInfinibandSteps(ctx);
    },
  },
  { name: 'host', run: (ctx, out, prev) => void (out.host = scanHost(ctx, prev?.host)) },
  { name: 'gpu', run: (ctx, out, prev) => void (out.gpu = scanNvidiaGpus(ctx, prev?.gpu)) },
];

/**
 * The sources a scan issue can name (`ScanIssue.scanner`, the `scanner` label of railwatch_scan_errors_total): the
 * scanners (`gpu`: the NVIDIA driver's procfs GPU list), and `sriov` for the SR-IOV attributes the PCI scanner reads.
 */
export const SCANNER_NAMES: readonly string[] = ['pci', 'net', 'infiniband', 'sriov', 'gpu', 'host'];

/** One scan: the records read and the snapshot assembled from them. */
export interface Scan {
  records: ScanRecords;
  snapshot: NodeSnapshot;
}

/** Reads every area (a cheap rescan when `prev` is given: StructureChanged propagates) and assembles the snapshot. */
export function runScan(opts: ScanOptions, prev?: ScanRecords): Scan {
  const now = opts.now ?? Date.now;
  const started = performance.now();
  const takenAtMs = now();
  const ctx: ScanContext = { sys: new HostFs(opts.sysfsRoot), proc: new HostFs(opts.procfsRoot), issues: [] };
  const records: ScanRecords = { failed: [] };
  const scanners = opts.scanners ?? SCANNERS;
  for (const scanner of scanners) {
    try {
      scanner.run(ctx, records, prev);
    } catch (err) {
      if (err instanceof StructureChanged) throw err;
      records.failed.push({ scanner: scanner.name, message: (err as Error).message });
    }
  }
  deepFreeze(records);
  const base = { sysfsRoot: opts.sysfsRoot, procfsRoot: opts.procfsRoot, config: opts.config, takenAtMs, durationMs: 0 };
  const snapshot = assemble(records, opts.identity !== undefined ? { ...base, identity: opts.identity } : base, scanners.map((s) => s.name));
  snapshot.durationMs = performance.now() - started;
  return { records, snapshot: deepFreeze(snapshot) };
}

/**
 * runScan in slices of at most about `sliceMs` of work, giving the event loop a turn (setImmediate) between them, so
 * a scrape that arrives during a scan waits for one slice, not the scan. `durationMs` is the work, not the waits.
 */
export async function runScanYielding(opts: ScanOptions, prev?: ScanRecords, sliceMs = 2): Promise<Scan> {
  const now = opts.now ?? Date.now;
  const takenAtMs = now();
  let busy = 0;
  let sliceStart = performance.now();
  const ctx: ScanContext = { sys: new HostFs(opts.sysfsRoot), proc: new HostFs(opts.procfsRoot), issues: [] };
  const records: ScanRecords = { failed: [] };
  const scanners = opts.scanners ?? SCANNERS;
  for (const scanner of scanners) {
    try {
      if (scanner.steps === undefined) scanner.run(ctx, records, prev);
      else {
        for (const _ of scanner.steps(ctx, records, prev)) {
          const t = performance.now();
          if (t - sliceStart < sliceMs) continue;
          busy += t - sliceStart;
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
    } catch (err) {
      if (err instanceof StructureChanged) throw err;
      records.failed.push({ scanner: scanner.name, message: (err as Error).message });
    }
  }
  // freezing the records, assemble() and freezing the snapshot are a few ms each on 1024 VFs: a turn between them
  const turn = async () => {
    busy += performance.now() - sliceStart;
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  await turn();
  deepFreeze(records);
  await turn();
  const base = { sysfsRoot: opts.sysfsRoot, procfsRoot: opts.procfsRoot, config: opts.config, takenAtMs, durationMs: 0 };
  const snapshot = assemble(records, opts.identity !== undefined ? { ...base, identity: opts.identity } : base, scanners.map((s) => s.name));
  await turn();
  snapshot.durationMs = busy + (performance.now() - sliceStart);
  return { records, snapshot: deepFreeze(snapshot) };
}

/** A full scan of the host. */
export function scanNode(opts: ScanOptions): NodeSnapshot {
  return runScan(opts).snapshot;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    // indexes and keys without Object.values(), which makes an array per object (a 1024-VF snapshot has ~20,000)
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i] as unknown);
    else for (const k in value) if (Object.hasOwn(value, k)) deepFreeze((value as Record<string, unknown>)[k]);
  }
  return value;
}

/** JSON with bigint counters written as exact JSON numbers (no rounding below 2^64). */
export function snapshotToJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(v.toString()) : v),
    indent,
  );
}
