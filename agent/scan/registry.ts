// The scanner registry: every sysfs area's scanner, in dependency order, assembled into one immutable
// NodeSnapshot. A scanner that throws is recorded and the rest of the snapshot is still built.
import type { Config } from '../config/config.ts';
import type { Gpu, HostFacts, HostIdentity, Netdev, NodeSnapshot, PciFunction, Pf, RdmaDevice, ScanIssue } from '../model.ts';
import { HostFs } from '../sysfs/host-fs.ts';
import { assignRails, buildTopology, type PciPosition } from '../topology/rails.ts';
import type { ScanContext } from './context.ts';
import { scanDisplayGpus, scanGpus } from './gpu.ts';
import { scanHost } from './host.ts';
import { scanInfiniband } from './infiniband.ts';
import { scanNet } from './net.ts';
import { scanPci } from './pci.ts';
import { scanSriov } from './sriov.ts';

export interface ScanOptions {
  sysfsRoot: string;
  procfsRoot: string;
  config: Pick<Config, 'rails'>;
  identity?: HostIdentity;
  now?: () => number;
  /** The scanner registry (default SCANNERS); tests swap one in to make it fail. */
  scanners?: readonly Scanner[];
}

interface Parts {
  pci: PciFunction[];
  pfs: Pf[];
  netdevs: Netdev[];
  rdmaDevices: RdmaDevice[];
  gpus: Gpu[];
  displayGpus: Gpu[];
  host: HostFacts;
}

/** One scanner: a name and a function of the context and the parts scanned before it. */
export interface Scanner {
  name: string;
  run(ctx: ScanContext, parts: Parts): void;
}

export const SCANNERS: readonly Scanner[] = [
  { name: 'pci', run: (ctx, p) => void (p.pci = scanPci(ctx)) },
  {
    name: 'net',
    run: (ctx, p) => void (p.netdevs = scanNet(ctx, new Set(p.pci.filter((f) => f.physfn !== undefined).map((f) => f.address)))),
  },
  { name: 'infiniband', run: (ctx, p) => void (p.rdmaDevices = scanInfiniband(ctx)) },
  { name: 'sriov', run: (ctx, p) => void (p.pfs = scanSriov(ctx, p.pci, p.netdevs, p.rdmaDevices)) },
  {
    name: 'gpu',
    run: (_ctx, p) => {
      p.gpus = scanGpus(p.pci);
      p.displayGpus = scanDisplayGpus(p.pci);
    },
  },
  { name: 'host', run: (ctx, p) => void (p.host = scanHost(ctx)) },
];

export const SCANNER_NAMES: readonly string[] = SCANNERS.map((s) => s.name);

function emptyHost(): HostFacts {
  return { kernelArgs: {}, iommu: { units: [], groups: 0, groupTypes: {} }, hugepages: [], modules: {}, uverbs: [] };
}

export function scanNode(opts: ScanOptions): NodeSnapshot {
  const now = opts.now ?? Date.now;
  const started = performance.now();
  const takenAtMs = now();
  const issues: ScanIssue[] = [];
  const ctx: ScanContext = { sys: new HostFs(opts.sysfsRoot), proc: new HostFs(opts.procfsRoot), issues };
  const parts: Parts = { pci: [], pfs: [], netdevs: [], rdmaDevices: [], gpus: [], displayGpus: [], host: emptyHost() };
  const failedScanners: string[] = [];
  for (const scanner of opts.scanners ?? SCANNERS) {
    try {
      scanner.run(ctx, parts);
    } catch (err) {
      failedScanners.push(scanner.name);
      issues.push({ scanner: scanner.name, path: '', code: 'EXCEPTION', detail: (err as Error).message });
    }
  }
  enrich(parts);
  const positions = new Map<string, PciPosition>();
  for (const fn of parts.pci) {
    const pos: PciPosition = { upstream: fn.upstream };
    if (fn.hostBridge !== undefined) pos.hostBridge = fn.hostBridge;
    if (fn.numaNode !== undefined) pos.numaNode = fn.numaNode;
    positions.set(fn.address, pos);
  }
  const rails = assignRails({ pfs: parts.pfs, gpus: parts.gpus, positions, map: opts.config.rails });
  for (const rail of rails) {
    const pf = parts.pfs.find((p) => p.pci === rail.pf);
    if (pf) pf.rail = rail.rail;
  }
  const rdmaNics = parts.pfs.filter((p) => p.rdmaDevices.length > 0);
  const topology = buildTopology(
    parts.gpus,
    rdmaNics.map((p) => ({ pci: p.pci, ...(positions.get(p.pci) ?? { upstream: [] }) })),
  );
  const snapshot: NodeSnapshot = {
    schemaVersion: 1,
    takenAtMs,
    durationMs: 0,
    sysfsRoot: opts.sysfsRoot,
    procfsRoot: opts.procfsRoot,
    pci: parts.pci,
    pfs: parts.pfs,
    netdevs: parts.netdevs,
    rdmaDevices: parts.rdmaDevices,
    gpus: parts.gpus,
    displayGpus: parts.displayGpus,
    rails,
    topology,
    host: parts.host,
    issues,
    failedScanners,
  };
  if (opts.identity !== undefined) snapshot.identity = opts.identity;
  snapshot.durationMs = performance.now() - started;
  return deepFreeze(snapshot);
}

/** Cross-links: PF primary netdev, PF link layer. */
function enrich(parts: Parts): void {
  const byName = new Map(parts.netdevs.map((n) => [n.name, n]));
  const rdmaByName = new Map(parts.rdmaDevices.map((d) => [d.name, d]));
  for (const pf of parts.pfs) {
    const uplinks = pf.netdevs.filter((n) => !(byName.get(n)?.representor ?? false));
    const primary = uplinks.find((n) => byName.get(n)?.physPortName?.match(/^p\d+$/)) ?? uplinks[0];
    if (primary !== undefined) pf.netdev = primary;
    const dev = pf.rdmaDevices.map((n) => rdmaByName.get(n)).find((d) => d !== undefined);
    const ll = dev?.ports[0]?.linkLayer;
    if (ll !== undefined) pf.linkLayer = ll;
  }
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
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
