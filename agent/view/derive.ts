// The NodeView: every fact that more than one consumer needs, computed once per scan from the snapshot, the
// kubelet's allocations, the probes and the config. Metrics, checks, node labels, events, the HTTP status page and
// the CLI all read it instead of re-deriving facts from the snapshot.
//
//   scanners -> raw records -> assemble(records, config) -> NodeSnapshot
//            -> derive(snapshot, allocation, probes, config) -> NodeView
//
// What is decided here, and nowhere else:
//  - the VF-to-pod join (`vfOwners`, `VfView.owner`): which VF the kubelet allocated to which pod and resource;
//  - the rails expected on the node (`expectedRails`): the config's expectedRails, else the GPU count;
//  - whether an RDMA port is up (`PortView.up`, `portIsUp`): state ACTIVE and physical state LinkUp;
//  - PCIe degradation (`PcieView.degraded`): width for GPUs (their speed drops when idle), width or speed for NICs;
//  - a PF's names (`PfView.name` for labels and metric label values, `PfView.title` for text meant for people);
//  - which PF an RDMA device belongs to and whether it is the PF's own or a VF's (`PortView.pf`, `PortView.own`);
//  - which kernel VF entry (netlink VF list) belongs to which VF, and whether its counters count (`vfAdmin`);
//  - which pod holds which GPUs and VFs, and whether they are on the same rails (`pods`).
// derive() is pure and cheap (maps over the snapshot); the view is frozen like the snapshot.
import type { Probes } from '../checks/probe.ts';
import { desiredVfsFor, type Config } from '../config/config.ts';
import type { Gpu, Netdev, NodeSnapshot, PciFunction, PcieLink, Pf, Rail, RdmaDevice, RdmaPort, Vf } from '../model.ts';
import type { AllocationView } from '../state.ts';
import { pciFromDeviceId, type DeviceOwner } from '../topology/vf-owners.ts';
import type { VfInfoReading } from '../netlink/vf-info.ts';
import { joinVfLinks, type VfAdminView } from '../netlink/vf-view.ts';
import { podRails, type PodRails } from '../pods/alignment.ts';

/** The pod a VF is allocated to, from the kubelet PodResources API. */
export interface VfOwner {
  resourceName: string;
  pod: string;
  namespace: string;
  container: string;
}

/** PCIe link judgement of a rail-candidate PF or a GPU. */
export interface PcieView {
  pci: string;
  role: 'pf' | 'gpu';
  link: PcieLink;
  /** Enough of the link is readable to judge it: the widths (both), or for a PF the speeds (both). */
  known: boolean;
  /** Runs below its maximum: a known, non-zero width below the maximum, or (PFs only) a known speed below it. */
  degraded: boolean;
}

export interface VfView {
  vf: Vf;
  /** PCI address of the PF (the VF's `physfn`). */
  pfPci: string;
  /** The pod holding the VF; undefined when none does or allocations are unknown (see NodeView.vfOwners). */
  owner?: VfOwner;
}

export interface PfView {
  pf: Pf;
  /** The PF's PCI function record, when the PCI scan listed it. */
  fn?: PciFunction;
  /** Short name: the netdev, else the PCI address. Metric `pf` label values and check details use it. */
  name: string;
  /** Name for people: `ens1f0np0 (0000:3b:00.0)`, or the PCI address alone. */
  title: string;
  /** The primary netdev's record, when the PF has one in this namespace. */
  netdev?: Netdev;
  rail?: Rail;
  /** `rail` label value: the rail number, empty when the PF is not a rail. */
  railLabel: string;
  /** The PF's own RDMA device (the rail's, else the first). */
  rdma?: RdmaDevice;
  pcie?: PcieView;
  /** VFs config desires on it (desiredVfs), undefined when the config says nothing. */
  desiredVfs?: number;
  vfs: VfView[];
}

export interface PortView {
  device: RdmaDevice;
  port: RdmaPort;
  /** state ACTIVE and phys_state LinkUp; undefined when neither is readable. */
  up?: boolean;
  /** The PF the RDMA device belongs to: its own device, or the parent of the VF it sits on. */
  pf?: PfView;
  /** The device is the PF's own (not a VF's). */
  own: boolean;
  /** Rail of the port: set for the PF's own device when the PF is a rail. */
  rail?: Rail;
}

export interface RailView {
  rail: Rail;
  pf: PfView;
}

export interface ExpectedRails {
  count: number;
  source: 'config' | 'gpus';
}

export interface NodeView {
  readonly snapshot: NodeSnapshot;
  readonly config: Config;
  readonly allocation: AllocationView;
  readonly probes: Probes;
  /** Every PF, in snapshot order. */
  readonly pfs: readonly PfView[];
  readonly pfByPci: ReadonlyMap<string, PfView>;
  /** Rails in rail order. */
  readonly rails: readonly RailView[];
  /** Every VF of every PF, by PCI address. */
  readonly vfByPci: ReadonlyMap<string, VfView>;
  /** The VF-to-pod join by VF PCI address; undefined when allocations are unknown. */
  readonly vfOwners?: ReadonlyMap<string, VfOwner>;
  /** Every RDMA port, devices in snapshot order. */
  readonly ports: readonly PortView[];
  /** PCIe judgements: PFs (snapshot order) then GPUs. */
  readonly pcie: readonly PcieView[];
  readonly gpus: readonly { gpu: Gpu; pcie: PcieView }[];
  /** Rails expected on the node; undefined without expectedRails in the config and without GPUs. */
  readonly expectedRails?: ExpectedRails;
  /** The PFs' netlink VF lists read with this scan; undefined when not read. */
  readonly vfInfo?: VfInfoReading;
  /** Each VF's kernel entry (admin settings, counters where the driver reports them), by VF PCI address. */
  readonly vfAdmin: VfAdminView;
  /** Pods holding VFs or GPUs, with their rails and alignment; undefined when allocations are unknown. */
  readonly pods?: readonly PodRails[];
}

/** The "port is up" rule: state ACTIVE and physical state LinkUp. */
export function portIsUp(port: Pick<RdmaPort, 'state' | 'physState'>): boolean {
  return port.state === 'ACTIVE' && port.physState === 'LinkUp';
}

/** PCIe degradation, judged for a role: GPUs by width only (their speed drops when idle), PFs by width or speed. */
export function judgePcie(pci: string, role: 'pf' | 'gpu', link: PcieLink): PcieView {
  const pair = (cur: number | undefined, max: number | undefined) => cur !== undefined && max !== undefined;
  const below = (cur: number | undefined, max: number | undefined) => cur !== undefined && max !== undefined && cur > 0 && cur < max;
  const width = pair(link.currentWidth, link.maxWidth);
  const speed = pair(link.currentSpeedGTs, link.maxSpeedGTs);
  const known = width || (role === 'pf' && speed);
  const degraded = below(link.currentWidth, link.maxWidth) || (role === 'pf' && below(link.currentSpeedGTs, link.maxSpeedGTs));
  return { pci, role, link, known, degraded };
}

/** The short PF name (netdev, else PCI address). */
export function pfName(pf: Pick<Pf, 'netdev' | 'pci'>): string {
  return pf.netdev ?? pf.pci;
}

/** The PF name for people: `netdev (pci)`, else the PCI address. */
export function pfTitle(pf: Pick<Pf, 'netdev' | 'pci'>): string {
  return pf.netdev !== undefined ? `${pf.netdev} (${pf.pci})` : pf.pci;
}

/** Expected rails: the config's expectedRails, else the GPU count when there are GPUs. */
export function expectedRailsOf(config: Pick<Config, 'expectedRails'>, snapshot: Pick<NodeSnapshot, 'gpus'> | undefined): ExpectedRails | undefined {
  if (config.expectedRails !== undefined) return { count: config.expectedRails, source: 'config' };
  const gpus = snapshot?.gpus.length ?? 0;
  return gpus > 0 ? { count: gpus, source: 'gpus' } : undefined;
}

/** Joins the kubelet's allocations with the snapshot's VFs (the one place this join runs). */
function joinOwners(vfs: ReadonlyMap<string, unknown>, allocations: readonly DeviceOwner[]): Map<string, VfOwner> {
  const out = new Map<string, VfOwner>();
  for (const a of allocations) {
    const pci = pciFromDeviceId(a.deviceId);
    if (pci === undefined || !vfs.has(pci)) continue;
    out.set(pci, { resourceName: a.resourceName, pod: a.pod, namespace: a.namespace, container: a.container });
  }
  return out;
}

export function derive(snapshot: NodeSnapshot, allocation: AllocationView, probes: Probes, config: Config, vfInfo?: VfInfoReading): NodeView {
  const fnByPci = new Map(snapshot.pci.map((f) => [f.address, f]));
  const netdevByName = new Map(snapshot.netdevs.map((n) => [n.name, n]));
  const rdmaByName = new Map(snapshot.rdmaDevices.map((d) => [d.name, d]));
  const railByPf = new Map(snapshot.rails.map((r) => [r.pf, r]));

  const vfPcis = new Map<string, Vf>();
  for (const pf of snapshot.pfs) for (const vf of pf.vfs) vfPcis.set(vf.pci, vf);
  const owners = allocation.allocations === undefined ? undefined : joinOwners(vfPcis, allocation.allocations);

  const pfs: PfView[] = [];
  const pfByPci = new Map<string, PfView>();
  const vfByPci = new Map<string, VfView>();
  const pcie: PcieView[] = [];
  for (const pf of snapshot.pfs) {
    const fn = fnByPci.get(pf.pci);
    const rail = railByPf.get(pf.pci);
    const view: PfView = { pf, name: pfName(pf), title: pfTitle(pf), railLabel: rail === undefined ? '' : String(rail.rail), vfs: [] };
    if (fn !== undefined) {
      view.fn = fn;
      view.pcie = judgePcie(pf.pci, 'pf', fn.link);
      pcie.push(view.pcie);
    }
    const nd = pf.netdev === undefined ? undefined : netdevByName.get(pf.netdev);
    if (nd !== undefined) view.netdev = nd;
    if (rail !== undefined) view.rail = rail;
    const rdma = rdmaByName.get(rail?.rdma ?? pf.rdmaDevices[0] ?? '');
    if (rdma !== undefined) view.rdma = rdma;
    const desired = desiredVfsFor(config, pf);
    if (desired !== undefined) view.desiredVfs = desired;
    for (const vf of pf.vfs) {
      const vv: VfView = { vf, pfPci: pf.pci };
      const owner = owners?.get(vf.pci);
      if (owner !== undefined) vv.owner = owner;
      view.vfs.push(vv);
      vfByPci.set(vf.pci, vv);
    }
    pfs.push(view);
    pfByPci.set(pf.pci, view);
  }

  // an RDMA device belongs to the PF it is the own device of, else to the PF of the VF it sits on
  const ownerOfDevice = new Map<string, { pf: PfView; own: boolean }>();
  for (const view of pfs) for (const vv of view.vfs) if (vv.vf.rdmaDevice !== undefined) ownerOfDevice.set(vv.vf.rdmaDevice, { pf: view, own: false });
  for (const view of pfs) for (const name of view.pf.rdmaDevices) ownerOfDevice.set(name, { pf: view, own: true });
  const ports: PortView[] = [];
  for (const device of snapshot.rdmaDevices) {
    const owner = ownerOfDevice.get(device.name);
    for (const port of device.ports) {
      const pv: PortView = { device, port, own: owner?.own ?? false };
      if (port.state !== undefined || port.physState !== undefined) pv.up = portIsUp(port);
      if (owner !== undefined) {
        pv.pf = owner.pf;
        if (owner.own && owner.pf.rail !== undefined) pv.rail = owner.pf.rail;
      }
      ports.push(pv);
    }
  }

  const gpus = snapshot.gpus.map((gpu) => ({ gpu, pcie: judgePcie(gpu.pci, 'gpu', gpu.link) }));
  for (const g of gpus) pcie.push(g.pcie);

  const rails: RailView[] = [];
  for (const rail of [...snapshot.rails].sort((a, b) => a.rail - b.rail)) {
    const pf = pfByPci.get(rail.pf);
    if (pf !== undefined) rails.push({ rail, pf });
  }

  const expected = expectedRailsOf(config, snapshot);
  const pods = allocation.allocations === undefined ? undefined : podRails(snapshot, allocation.allocations);
  return freezeView({
    snapshot,
    config,
    allocation,
    probes,
    pfs,
    pfByPci,
    rails,
    vfByPci,
    ...(owners !== undefined ? { vfOwners: owners } : {}),
    ports,
    pcie,
    gpus,
    ...(expected !== undefined ? { expectedRails: expected } : {}),
    ...(vfInfo !== undefined ? { vfInfo } : {}),
    vfAdmin: joinVfLinks(snapshot, vfInfo),
    ...(pods !== undefined ? { pods } : {}),
  });
}

/** Freezes the view's own objects; the snapshot, config and probes it points at are frozen (or owned) elsewhere. */
function freezeView(view: NodeView): NodeView {
  for (const pf of view.pfs) {
    for (const vv of pf.vfs) Object.freeze(vv);
    Object.freeze(pf.vfs);
    Object.freeze(pf);
  }
  for (const p of view.ports) Object.freeze(p);
  for (const p of view.pcie) Object.freeze(p);
  for (const g of view.gpus) Object.freeze(g);
  for (const r of view.rails) Object.freeze(r);
  return Object.freeze(view);
}

/** PCI addresses of the VFs allocated to pods; undefined when allocations are unknown. */
export function allocatedVfs(view: NodeView): ReadonlySet<string> | undefined {
  return view.vfOwners === undefined ? undefined : new Set(view.vfOwners.keys());
}
