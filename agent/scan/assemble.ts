// assemble(records, config): the one place the scanners' raw records are joined into the NodeSnapshot. PFs are
// built from the PCI records with the netdevs and RDMA devices whose `device` paths end at them; a VF's identity,
// NUMA node and PCIe position are its PF's; rails and the GPU<->NIC distances come last. Nothing here reads the
// filesystem, and no record is modified: the snapshot is built from copies and then deep-frozen.
import type { Config } from '../config/config.ts';
import type { HostFacts, HostIdentity, Netdev, NodeSnapshot, PciFunction, Pf, RdmaDevice, ScanIssue, Vf } from '../model.ts';
import { isNetworkClass } from '../parse/values.ts';
import { assignRails, buildTopology, type PciPosition } from '../topology/rails.ts';
import { scanDisplayGpus, scanGpus } from './gpu-class.ts';
import type { PciRecord, ScanRecords } from './records.ts';

export interface AssembleOptions {
  sysfsRoot: string;
  procfsRoot: string;
  config: Pick<Config, 'rails'>;
  identity?: HostIdentity;
  takenAtMs: number;
  durationMs: number;
}

function emptyHost(): HostFacts {
  return { kernelArgs: {}, iommu: { units: [], groups: 0, groupTypes: {} }, hugepages: [], modules: {}, uverbs: [] };
}

function groupByPci<T extends { pci?: string; name: string }>(items: readonly T[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const it of items) {
    if (it.pci === undefined) continue;
    const list = out.get(it.pci);
    if (list) list.push(it.name);
    else out.set(it.pci, [it.name]);
  }
  return out;
}

/**
 * A VF's function as the snapshot shows it: its own address and driver, its PF's identity and position. The records
 * are frozen before assemble() runs, so the snapshot shares their arrays and objects (the PF's `upstream` chain, a
 * function's `link`) instead of copying them: one chain for the 128 VFs of a PF, not 128.
 */
function vfFunction(rec: PciRecord, pf: PciRecord | undefined): PciFunction {
  const fn: PciFunction = { ...rec.fn };
  if (rec.pf !== undefined) fn.physfn = rec.pf;
  if (pf === undefined || pf.sriov === undefined) return fn;
  const p = pf.fn;
  if (p.vendor !== undefined) fn.vendor = p.vendor;
  if (pf.sriov.vfDevice !== undefined) fn.device = pf.sriov.vfDevice;
  if (p.class !== undefined) fn.class = p.class;
  if (p.numaNode !== undefined) fn.numaNode = p.numaNode;
  if (p.hostBridge !== undefined) fn.hostBridge = p.hostBridge;
  fn.upstream = p.upstream;
  return fn;
}

function buildPfs(recs: readonly PciRecord[], byAddr: ReadonlyMap<string, PciRecord>, netdevs: readonly Netdev[], rdma: readonly RdmaDevice[]): Pf[] {
  const netByPci = groupByPci(netdevs);
  const rdmaByPci = groupByPci(rdma);
  const netByName = new Map(netdevs.map((n) => [n.name, n]));
  const rdmaByName = new Map(rdma.map((d) => [d.name, d]));
  const pfs: Pf[] = [];
  for (const rec of recs) {
    const fn = rec.fn;
    if (rec.pf !== undefined || !isNetworkClass(fn.class)) continue;
    const rdmaDevices = rdmaByPci.get(fn.address) ?? [];
    if (rec.sriov === undefined && rdmaDevices.length === 0) continue;
    // netdevs whose `device` ends at the PF, and those its own `net/` directory lists
    const names = [...new Set([...(netByPci.get(fn.address) ?? []), ...(rec.netNames ?? [])])].sort();
    const pf: Pf = {
      pci: fn.address,
      netdevs: names,
      sriovCapable: rec.sriov !== undefined,
      totalVfs: rec.sriov?.totalVfs ?? 0,
      rdmaDevices,
      vfs: [],
      vfLinksDangling: 0,
    };
    if (fn.driver !== undefined) pf.driver = fn.driver;
    if (fn.vendor !== undefined) pf.vendor = fn.vendor;
    if (fn.device !== undefined) pf.device = fn.device;
    if (fn.class !== undefined) pf.class = fn.class;
    if (fn.numaNode !== undefined) pf.numaNode = fn.numaNode;
    const s = rec.sriov;
    if (s !== undefined) {
      if (s.numVfs !== undefined) pf.numVfs = s.numVfs;
      if (s.offset !== undefined) pf.offset = s.offset;
      if (s.stride !== undefined) pf.stride = s.stride;
      if (s.vfDevice !== undefined) pf.vfDevice = s.vfDevice;
      for (const link of s.links) {
        // a dangling link, or one whose target the PCI listing did not show
        const vfRec = link.address === undefined ? undefined : byAddr.get(link.address);
        if (link.address === undefined || vfRec === undefined) {
          pf.vfLinksDangling++;
          continue;
        }
        const vf: Vf = { index: link.index, pci: link.address };
        if (vfRec.fn.driver !== undefined) vf.driver = vfRec.fn.driver;
        const net = netByPci.get(link.address)?.[0];
        if (net !== undefined) vf.netdev = net;
        const ib = rdmaByPci.get(link.address)?.[0];
        if (ib !== undefined) vf.rdmaDevice = ib;
        pf.vfs.push(vf);
      }
    } else {
      pf.numVfs = 0;
    }
    // the primary netdev: an uplink (not a representor), the `p<N>` port when there are several
    const uplinks = names.filter((n) => !(netByName.get(n)?.representor ?? false));
    const primary = uplinks.find((n) => netByName.get(n)?.physPortName?.match(/^p\d+$/)) ?? uplinks[0];
    if (primary !== undefined) pf.netdev = primary;
    const ll = pf.rdmaDevices.map((n) => rdmaByName.get(n)).find((d) => d !== undefined)?.ports[0]?.linkLayer;
    if (ll !== undefined) pf.linkLayer = ll;
    pfs.push(pf);
  }
  return pfs;
}

/** The scan issues of all records, in scanner order, each record's fixed issues before its state issues. */
function allIssues(records: ScanRecords, order: readonly string[]): ScanIssue[] {
  const by: Record<string, ScanIssue[]> = {};
  const pci = records.pci;
  if (pci) by['pci'] = [...pci.listingIssues, ...pci.functions.flatMap((f) => [...f.fixedIssues, ...f.stateIssues])];
  const net = records.net;
  if (net) by['net'] = [...net.listingIssues, ...net.netdevs.flatMap((n) => n.issues)];
  const ib = records.infiniband;
  if (ib) by['infiniband'] = [...ib.listingIssues, ...ib.devices.flatMap((d) => d.issues)];
  const host = records.host;
  if (host) by['host'] = [...host.fixedIssues, ...host.stateIssues];
  if (records.gpu) by['gpu'] = records.gpu.issues;
  const out: ScanIssue[] = [];
  for (const name of order) {
    out.push(...(by[name] ?? []));
    for (const f of records.failed) if (f.scanner === name) out.push({ scanner: name, path: '', code: 'EXCEPTION', detail: f.message });
  }
  for (const f of records.failed) if (!order.includes(f.scanner)) out.push({ scanner: f.scanner, path: '', code: 'EXCEPTION', detail: f.message });
  return out.map((i) => ({ ...i }));
}

/** Joins the records into the snapshot. `order` is the scanner order, for the issue list. */
export function assemble(records: ScanRecords, opts: AssembleOptions, order: readonly string[] = ['pci', 'net', 'infiniband', 'host', 'gpu']): NodeSnapshot {
  const recs = records.pci?.functions ?? [];
  const byAddr = new Map(recs.map((r) => [r.fn.address, r]));
  const pci = recs.map((r) => (r.pf !== undefined ? vfFunction(r, byAddr.get(r.pf)) : { ...r.fn }));
  const netdevs = (records.net?.netdevs ?? []).map((n) => ({ ...n.netdev }));
  const rdmaDevices = (records.infiniband?.devices ?? []).map((d) => d.device);
  const pfs = buildPfs(recs, byAddr, netdevs, rdmaDevices);
  const gpus = scanGpus(pci, records.gpu?.uuids, records.gpu?.models);
  const displayGpus = scanDisplayGpus(pci);
  const positions = new Map<string, PciPosition>();
  for (const fn of pci) {
    const pos: PciPosition = { upstream: fn.upstream };
    if (fn.hostBridge !== undefined) pos.hostBridge = fn.hostBridge;
    if (fn.numaNode !== undefined) pos.numaNode = fn.numaNode;
    positions.set(fn.address, pos);
  }
  const rails = assignRails({ pfs, gpus, positions, map: opts.config.rails });
  const railOf = new Map(rails.map((r) => [r.pf, r.rail]));
  for (const pf of pfs) {
    const rail = railOf.get(pf.pci);
    if (rail !== undefined) pf.rail = rail;
  }
  const rdmaNics = pfs.filter((p) => p.rdmaDevices.length > 0);
  const topology = buildTopology(
    gpus,
    rdmaNics.map((p) => ({ pci: p.pci, ...(positions.get(p.pci) ?? { upstream: [] }) })),
  );
  const snapshot: NodeSnapshot = {
    schemaVersion: 1,
    takenAtMs: opts.takenAtMs,
    durationMs: opts.durationMs,
    sysfsRoot: opts.sysfsRoot,
    procfsRoot: opts.procfsRoot,
    pci,
    pfs,
    netdevs,
    rdmaDevices,
    gpus,
    displayGpus,
    rails,
    topology,
    host: records.host?.facts ?? emptyHost(),
    issues: allIssues(records, order),
    failedScanners: records.failed.map((f) => f.scanner),
  };
  if (opts.identity !== undefined) snapshot.identity = opts.identity;
  return snapshot;
}
