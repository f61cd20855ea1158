// The structural part of the metric catalogue: every family derived from (snapshot, allocation view, checks,
// config), as a table of {name, help, type, labels, collect}. The joins several families share (VF owners, the PF of
// a VF, the PF of an RDMA device) are computed once per input by `structuralFacts`, then every family collects
// from those facts. Rendered once per new input (right after a scan), never per scrape.
import type { CheckReport } from '../checks/types.ts';
import { STATUS_VALUE } from '../checks/types.ts';
import { desiredVfsFor, type Config } from '../config/config.ts';
import type { NodeSnapshot, PcieLink, Pf, PciFunction } from '../model.ts';
import type { AllocationView } from '../state.ts';
import { pciFromDeviceId, vfOwners, type VfOwner } from '../topology/vf-owners.ts';
import { single, type MetricFamily, type Sample } from './exposition.ts';

export interface StructuralInput {
  snapshot: NodeSnapshot | undefined;
  allocation: AllocationView;
  checks: CheckReport | undefined;
  config: Config;
}

/** What the families of the structural part read: the input and the joins computed once. */
export interface StructuralFacts extends StructuralInput {
  pciByAddress: ReadonlyMap<string, PciFunction>;
  /** VF PCI address -> its pod owner; undefined while the kubelet cannot be asked. */
  owners: ReadonlyMap<string, VfOwner> | undefined;
  pfOfVf: ReadonlyMap<string, Pf>;
  /** RDMA device name -> the PF it belongs to (its own, or the parent of its VF). */
  rdmaOwners: ReadonlyMap<string, { pf: Pf; own: boolean }>;
}

/** The `pf` label: the PF's netdev name, else its PCI address. */
export function pfLabel(pf: Pick<Pf, 'netdev' | 'pci'>): string {
  return pf.netdev ?? pf.pci;
}

/** The `rail` label: the rail number, empty when the PF is not a rail. */
export function railLabel(pf: Pick<Pf, 'rail'>): string {
  return pf.rail === undefined ? '' : String(pf.rail);
}

function str(value: string | number | undefined): string {
  return value === undefined ? '' : String(value);
}

function knownLink(link: PcieLink): boolean {
  const speed = link.currentSpeedGTs !== undefined && link.maxSpeedGTs !== undefined;
  const width = link.currentWidth !== undefined && link.maxWidth !== undefined;
  return speed || width;
}

/** Expected rails: the config's expectedRails, else the GPU count when there are GPUs. */
export function expectedRails(config: Config, snapshot: NodeSnapshot | undefined): number | undefined {
  if (config.expectedRails !== undefined) return config.expectedRails;
  const gpus = snapshot?.gpus.length ?? 0;
  return gpus > 0 ? gpus : undefined;
}

export function structuralFacts(input: StructuralInput): StructuralFacts {
  const { snapshot, allocation } = input;
  const pciByAddress = new Map<string, PciFunction>();
  const pfOfVf = new Map<string, Pf>();
  const rdmaOwners = new Map<string, { pf: Pf; own: boolean }>();
  let owners: Map<string, VfOwner> | undefined;
  if (snapshot !== undefined) {
    for (const fn of snapshot.pci) pciByAddress.set(fn.address, fn);
    for (const pf of snapshot.pfs) {
      for (const vf of pf.vfs) {
        pfOfVf.set(vf.pci, pf);
        if (vf.rdmaDevice !== undefined) rdmaOwners.set(vf.rdmaDevice, { pf, own: false });
      }
    }
    for (const pf of snapshot.pfs) for (const name of pf.rdmaDevices) rdmaOwners.set(name, { pf, own: true });
    if (allocation.allocations !== undefined) owners = vfOwners(snapshot, allocation.allocations);
  }
  return { ...input, pciByAddress, owners, pfOfVf, rdmaOwners };
}

type Family = MetricFamily<StructuralFacts>;

const PF_KEY = ['pf', 'rail'] as const;

/** A per-PF gauge over the SR-IOV capable PFs (or all PFs with `all`); `value` undefined leaves the PF out. */
function perPf(name: string, help: string, value: (pf: Pf, f: StructuralFacts) => number | undefined, sriovOnly = true): Family {
  return {
    name,
    help,
    type: 'gauge',
    labels: PF_KEY,
    *collect(f) {
      for (const pf of f.snapshot?.pfs ?? []) {
        if (sriovOnly && !pf.sriovCapable) continue;
        const v = value(pf, f);
        if (v !== undefined) yield { labels: [pfLabel(pf), railLabel(pf)], value: v };
      }
    },
  };
}

function nodeGauge(name: string, help: string, value: (f: StructuralFacts) => number | undefined): Family {
  return { name, help, type: 'gauge', labels: [], collect: (f) => single(value(f)) };
}

function* allocatedVfs(f: StructuralFacts): Iterable<Sample> {
  const { snapshot, allocation, owners } = f;
  if (snapshot === undefined || owners === undefined) return;
  // (pf, resource) pairs the kubelet knows of: allocatable devices give 0s, allocations count up
  const counts = new Map<string, { pf: Pf; resource: string; n: number }>();
  const touch = (pf: Pf, resource: string) => {
    const k = `${pf.pci}\t${resource}`;
    let entry = counts.get(k);
    if (entry === undefined) {
      entry = { pf, resource, n: 0 };
      counts.set(k, entry);
    }
    return entry;
  };
  for (const res of allocation.allocatable ?? []) {
    for (const id of res.deviceIds) {
      const pci = pciFromDeviceId(id);
      const pf = pci === undefined ? undefined : f.pfOfVf.get(pci);
      if (pf !== undefined) touch(pf, res.resourceName);
    }
  }
  for (const owner of owners.values()) touch(owner.pf, owner.resourceName).n++;
  const order = new Map(snapshot.pfs.map((pf, i) => [pf, i]));
  const ordered = [...counts.values()].sort(
    (a, b) => (order.get(a.pf) ?? 0) - (order.get(b.pf) ?? 0) || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0),
  );
  for (const c of ordered) yield { labels: [pfLabel(c.pf), railLabel(c.pf), c.resource], value: c.n };
}

/** RDMA ports with the `pf` and `rail` labels of their owner. */
function* rdmaPorts(f: StructuralFacts) {
  for (const dev of f.snapshot?.rdmaDevices ?? []) {
    const owner = f.rdmaOwners.get(dev.name);
    // a VF's RDMA device belongs to the PF but is not the rail itself
    const pf = owner === undefined ? '' : pfLabel(owner.pf);
    const rail = owner?.own === true ? railLabel(owner.pf) : '';
    for (const port of dev.ports) yield { dev, port, pf, rail };
  }
}

/** The structural families, in exposition order. */
export const STRUCTURAL_FAMILIES: readonly Family[] = [
  {
    name: 'railwatch_pf_info',
    help: 'NIC physical function (SR-IOV or RDMA capable), valued 1. pf is the netdev name, else the PCI address; rail is empty when the PF is not a rail.',
    type: 'gauge',
    labels: ['pf', 'pci', 'driver', 'vendor', 'device', 'netdev', 'rail', 'numa_node', 'link_layer'],
    *collect(f) {
      for (const pf of f.snapshot?.pfs ?? []) {
        yield {
          labels: [pfLabel(pf), pf.pci, str(pf.driver), str(pf.vendor), str(pf.device), str(pf.netdev), railLabel(pf), str(pf.numaNode), str(pf.linkLayer)],
          value: 1,
        };
      }
    },
  },
  perPf('railwatch_pf_vfs_supported', 'VFs the PF supports (sriov_totalvfs).', (pf) => pf.totalVfs),
  perPf('railwatch_pf_vfs_configured', 'VFs configured on the PF (sriov_numvfs).', (pf) => pf.numVfs),
  perPf('railwatch_pf_vfs_desired', 'VFs the railwatch config desires on the PF (desiredVfs).', (pf, f) => desiredVfsFor(f.config, pf), false),
  perPf('railwatch_pf_vfs_present', 'VF PCI functions present under the PF (virtfnN links that resolve).', (pf) => pf.vfs.length),
  perPf('railwatch_pf_vf_netdevs', 'VFs of the PF whose netdev is visible in the host network namespace.', (pf) => pf.vfs.filter((vf) => vf.netdev !== undefined).length),
  {
    name: 'railwatch_pf_vfs_allocated',
    help: 'VFs of the PF the kubelet has assigned to pods, by device plugin resource. Absent when the kubelet cannot be asked.',
    type: 'gauge',
    labels: ['pf', 'rail', 'resource'],
    collect: allocatedVfs,
  },
  {
    name: 'railwatch_vf_info',
    help: 'SR-IOV virtual function, valued 1. vf is the virtfn index; namespace and pod are empty when no pod holds the VF.',
    type: 'gauge',
    labels: ['pf', 'rail', 'vf', 'pci', 'driver', 'netdev', 'namespace', 'pod'],
    *collect(f) {
      for (const pf of f.snapshot?.pfs ?? []) {
        const pfl = pfLabel(pf);
        const rail = railLabel(pf);
        for (const vf of pf.vfs) {
          const owner = f.owners?.get(vf.pci);
          yield { labels: [pfl, rail, String(vf.index), vf.pci, str(vf.driver), str(vf.netdev), owner?.namespace ?? '', owner?.pod ?? ''], value: 1 };
        }
      }
    },
  },
  {
    name: 'railwatch_rdma_port_info',
    help: 'RDMA port, valued 1. pf and rail name the PF the RDMA device belongs to (rail empty for a VF device or a non-rail PF).',
    type: 'gauge',
    labels: ['device', 'port', 'pci', 'pf', 'rail', 'link_layer', 'fw_version', 'node_guid'],
    *collect(f) {
      for (const { dev, port, pf, rail } of rdmaPorts(f)) {
        yield { labels: [dev.name, String(port.port), str(dev.pci), pf, rail, str(port.linkLayer), str(dev.fwVer), str(dev.nodeGuid)], value: 1 };
      }
    },
  },
  {
    name: 'railwatch_rdma_port_up',
    help: '1 when the RDMA port state is ACTIVE and its physical state LinkUp, else 0.',
    type: 'gauge',
    labels: ['device', 'port'],
    *collect(f) {
      for (const { dev, port } of rdmaPorts(f)) {
        if (port.state === undefined && port.physState === undefined) continue;
        yield { labels: [dev.name, String(port.port)], value: port.state === 'ACTIVE' && port.physState === 'LinkUp' ? 1 : 0 };
      }
    },
  },
  {
    name: 'railwatch_rdma_port_rate_bytes_per_second',
    help: 'Data rate of the RDMA port (ports/N/rate) in bytes per second.',
    type: 'gauge',
    labels: ['device', 'port'],
    *collect(f) {
      for (const { dev, port } of rdmaPorts(f)) {
        if (port.rateBitsPerSecond !== undefined) yield { labels: [dev.name, String(port.port)], value: port.rateBitsPerSecond / 8 };
      }
    },
  },
  nodeGauge('railwatch_rails', 'Rails on the node: NIC PFs with a rail number.', (f) => f.snapshot?.rails.length),
  nodeGauge('railwatch_gpus', 'GPUs on the node PCI bus.', (f) => f.snapshot?.gpus.length),
  nodeGauge('railwatch_expected_rails', 'Rails expected on the node: the config expectedRails, else the GPU count.', (f) => expectedRails(f.config, f.snapshot)),
  {
    name: 'railwatch_pcie_link_degraded',
    help: '1 when the PCIe link of the function runs below its maximum width or (PFs) speed, else 0; GPUs lower their speed when idle, so only their width counts. role is pf or gpu.',
    type: 'gauge',
    labels: ['pci', 'role'],
    *collect(f) {
      for (const pf of f.snapshot?.pfs ?? []) {
        const fn = f.pciByAddress.get(pf.pci);
        if (fn !== undefined && knownLink(fn.link)) yield { labels: [pf.pci, 'pf'], value: fn.link.degraded ? 1 : 0 };
      }
      for (const gpu of f.snapshot?.gpus ?? []) {
        if (knownLink(gpu.link)) yield { labels: [gpu.pci, 'gpu'], value: gpu.link.degraded ? 1 : 0 };
      }
    },
  },
  nodeGauge('railwatch_pod_resources_up', '1 when the kubelet PodResources API answered the latest poll, else 0.', (f) => (f.allocation.allocations === undefined ? 0 : 1)),
  {
    name: 'railwatch_check_status',
    help: 'Setup chain check status: 0 pass, 1 warn, 2 fail, -1 skip. step is <position>-<slug>.',
    type: 'gauge',
    labels: ['check', 'step'],
    *collect(f) {
      for (const r of f.checks?.results ?? []) yield { labels: [r.id, r.stepLabel], value: STATUS_VALUE[r.status] };
    },
  },
  {
    name: 'railwatch_drift_active',
    help: '1 while the check fails, else 0.',
    type: 'gauge',
    labels: ['check'],
    *collect(f) {
      for (const r of f.checks?.results ?? []) yield { labels: [r.id], value: r.status === 'fail' ? 1 : 0 };
    },
  },
  nodeGauge('railwatch_setup_ready', '1 when no setup chain check fails, else 0.', (f) => (f.checks === undefined ? undefined : f.checks.ready ? 1 : 0)),
  nodeGauge('railwatch_scan_duration_seconds', 'Duration of the latest host scan in seconds.', (f) => (f.snapshot === undefined ? undefined : f.snapshot.durationMs / 1000)),
  nodeGauge('railwatch_last_scan_timestamp_seconds', 'Unix time the latest host scan started, in seconds.', (f) => (f.snapshot === undefined ? undefined : f.snapshot.takenAtMs / 1000)),
];
