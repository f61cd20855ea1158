// The cheap rescan path: re-reads only what can change between full scans (directory listings, sriov_numvfs,
// link and port states, counters, module and hugepage state) and reuses the previous snapshot's immutable
// parts. Any structural change (a PCI function, netdev or RDMA device that appeared or vanished, a different
// sriov_numvfs) falls back to a full scan, so the result always equals what a full scan would give for the
// attributes it tracks.
import type { HostFacts, Netdev, NodeSnapshot, RdmaDevice, ScanIssue } from '../model.ts';
import { parseUint } from '../parse/values.ts';
import { HostFs } from '../sysfs/host-fs.ts';
import { Reader, type ScanContext } from './context.ts';
import { scanHugepages, scanModules } from './host.ts';
import { scanPort } from './infiniband.ts';
import { scanNetdev } from './net.ts';
import { deepFreeze, scanNode, type ScanOptions } from './registry.ts';

export interface RescanResult {
  snapshot: NodeSnapshot;
  /** `cheap` when the previous snapshot was reused; otherwise why a full scan ran. */
  mode: 'cheap' | 'full';
  reason?: string;
}

function sameSet(listed: readonly string[] | undefined, known: readonly string[]): boolean {
  if (listed === undefined) return known.length === 0;
  if (listed.length !== known.length) return false;
  const a = [...listed].sort();
  const b = [...known].sort();
  return a.every((v, i) => v === b[i]);
}

export function rescanNode(prev: NodeSnapshot | undefined, opts: ScanOptions): RescanResult {
  if (prev === undefined) return { snapshot: scanNode(opts), mode: 'full', reason: 'first scan' };
  if (prev.failedScanners.length > 0) return { snapshot: scanNode(opts), mode: 'full', reason: 'previous scan incomplete' };
  const now = opts.now ?? Date.now;
  const started = performance.now();
  const takenAtMs = now();
  const issues: ScanIssue[] = [];
  const ctx: ScanContext = { sys: new HostFs(opts.sysfsRoot), proc: new HostFs(opts.procfsRoot), issues };
  const r = new Reader(ctx, 'rescan');
  const full = (reason: string): RescanResult => ({ snapshot: scanNode(opts), mode: 'full', reason });

  const pciNames = ctx.sys.list('bus/pci/devices');
  if (!pciNames.ok || !sameSet(pciNames.value, prev.pci.map((f) => f.address))) return full('PCI functions changed');
  const netNames = ctx.sys.listTyped('class/net');
  if (!netNames.ok || !sameSet(netNames.value.filter((e) => !e.file).map((e) => e.name), prev.netdevs.map((n) => n.name))) {
    return full('netdevs changed');
  }
  const ibNames = ctx.sys.list('class/infiniband');
  const ibList = ibNames.ok ? ibNames.value : undefined;
  if (!sameSet(ibList, prev.rdmaDevices.map((d) => d.name))) return full('RDMA devices changed');
  for (const pf of prev.pfs) {
    if (!pf.sriovCapable) continue;
    const n = r.attr(`bus/pci/devices/${pf.pci}/sriov_numvfs`, parseUint);
    if (n !== pf.numVfs) return full(`sriov_numvfs of ${pf.pci} changed`);
  }

  const vfAddrs = new Set(prev.pci.filter((f) => f.physfn !== undefined).map((f) => f.address));
  const netr = new Reader(ctx, 'net');
  const netdevs: Netdev[] = prev.netdevs.map((nd) => {
    if (nd.virtual || (nd.pci !== undefined && vfAddrs.has(nd.pci))) return nd;
    return scanNetdev(netr, nd.name, vfAddrs) ?? nd;
  });
  const ibr = new Reader(ctx, 'infiniband');
  const rdmaDevices: RdmaDevice[] = prev.rdmaDevices.map((d) => ({
    ...d,
    ports: d.ports.map((p) => scanPort(ibr, `class/infiniband/${d.name}/ports/${p.port}`, p.port)),
  }));
  const hostr = new Reader(ctx, 'host');
  const host: HostFacts = { ...prev.host, hugepages: scanHugepages(hostr), modules: scanModules(hostr) };
  const snapshot: NodeSnapshot = {
    ...prev,
    takenAtMs,
    durationMs: 0,
    netdevs,
    rdmaDevices,
    host,
    issues: [...issues.map((i) => (i.scanner === 'rescan' ? { ...i, scanner: 'sriov' } : i))],
  };
  snapshot.durationMs = performance.now() - started;
  return { snapshot: deepFreeze(snapshot), mode: 'cheap' };
}
