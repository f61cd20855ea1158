// The structural part of the metric catalogue: every family derived from the NodeView (snapshot, allocation view,
// config: agent/view/derive.ts, where the VF-to-pod join, port-up, PCIe degradation, expected rails and PF names are
// decided once) and the check report, as a table of {name, help, type, labels, collect}. Rendered once per new input
// (right after a scan), never per scrape.
import { emptyProbes } from '../checks/probe.ts';
import type { CheckReport } from '../checks/types.ts';
import { STATUS_VALUE } from '../checks/types.ts';
import type { Config } from '../config/config.ts';
import type { NodeSnapshot } from '../model.ts';
import type { AllocationView } from '../state.ts';
import { pciFromDeviceId } from '../topology/vf-owners.ts';
import { derive, expectedRailsOf, type NodeView, type PfView } from '../view/derive.ts';
import { single, type MetricFamily, type Sample } from './exposition.ts';
import { VF_CONFIG_FAMILY } from '../netlink/vf-metrics.ts';
import { POD_FAMILIES } from '../pods/metrics.ts';
import { compareText } from '../parse/values.ts';

export interface StructuralInput {
  snapshot: NodeSnapshot | undefined;
  /** The view of the scan; derived here when absent or not of this snapshot and allocation (tests, one-shot renders). */
  view?: NodeView | undefined;
  allocation: AllocationView;
  checks: CheckReport | undefined;
  config: Config;
}

/** What the families of the structural part read. */
export interface StructuralFacts {
  view: NodeView | undefined;
  config: Config;
  allocation: AllocationView;
  checks: CheckReport | undefined;
}

function str(value: string | number | undefined): string {
  return value === undefined ? '' : String(value);
}

export function structuralFacts(input: StructuralInput): StructuralFacts {
  const { snapshot, allocation, checks, config } = input;
  let view: NodeView | undefined;
  if (snapshot !== undefined) {
    const v = input.view;
    view = v !== undefined && v.snapshot === snapshot && v.allocation === allocation && v.config === config ? v : derive(snapshot, allocation, emptyProbes(config), config);
  }
  return { view, config, allocation, checks };
}

type Family = MetricFamily<StructuralFacts>;

const PF_KEY = ['pf', 'rail'] as const;

/** A per-PF gauge over the SR-IOV capable PFs (or all PFs with `sriovOnly` false); `value` undefined leaves the PF out. */
function perPf(name: string, help: string, value: (pf: PfView) => number | undefined, sriovOnly = true): Family {
  return {
    name,
    help,
    type: 'gauge',
    labels: PF_KEY,
    *collect(f) {
      for (const pv of f.view?.pfs ?? []) {
        if (sriovOnly && !pv.pf.sriovCapable) continue;
        const v = value(pv);
        if (v !== undefined) yield { labels: [pv.name, pv.railLabel], value: v };
      }
    },
  };
}

function nodeGauge(name: string, help: string, value: (f: StructuralFacts) => number | undefined): Family {
  return { name, help, type: 'gauge', labels: [], collect: (f) => single(value(f)) };
}

function* allocatedVfs(f: StructuralFacts): Iterable<Sample> {
  const view = f.view;
  const owners = view?.vfOwners;
  if (view === undefined || owners === undefined) return;
  // (pf, resource) pairs the kubelet knows of: allocatable devices give 0s, allocations count up
  const counts = new Map<string, { pf: PfView; resource: string; n: number }>();
  const touch = (pf: PfView, resource: string) => {
    const k = `${pf.pf.pci}\t${resource}`;
    let entry = counts.get(k);
    if (entry === undefined) {
      entry = { pf, resource, n: 0 };
      counts.set(k, entry);
    }
    return entry;
  };
  const pfOfVf = (pci: string | undefined) => {
    const vv = pci === undefined ? undefined : view.vfByPci.get(pci);
    return vv === undefined ? undefined : view.pfByPci.get(vv.pfPci);
  };
  for (const res of f.allocation.allocatable ?? []) {
    for (const id of res.deviceIds) {
      const pf = pfOfVf(pciFromDeviceId(id));
      if (pf !== undefined) touch(pf, res.resourceName);
    }
  }
  for (const [pci, owner] of owners) {
    const pf = pfOfVf(pci);
    if (pf !== undefined) touch(pf, owner.resourceName).n++;
  }
  const order = new Map(view.pfs.map((pf, i) => [pf, i]));
  const ordered = [...counts.values()].sort(
    (a, b) => (order.get(a.pf) ?? 0) - (order.get(b.pf) ?? 0) || compareText(a.resource, b.resource),
  );
  for (const c of ordered) yield { labels: [c.pf.name, c.pf.railLabel, c.resource], value: c.n };
}

/** RDMA ports with the `pf` and `rail` labels of their owner (rail empty for a VF's device: it is not the rail). */
function* rdmaPorts(f: StructuralFacts) {
  for (const pv of f.view?.ports ?? []) {
    yield { pv, dev: pv.device, port: pv.port, pf: pv.pf?.name ?? '', rail: pv.own && pv.pf !== undefined ? pv.pf.railLabel : '' };
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
      for (const { pf, name, railLabel } of f.view?.pfs ?? []) {
        yield {
          labels: [name, pf.pci, str(pf.driver), str(pf.vendor), str(pf.device), str(pf.netdev), railLabel, str(pf.numaNode), str(pf.linkLayer)],
          value: 1,
        };
      }
    },
  },
  perPf('railwatch_pf_vfs_supported', 'VFs the PF supports (sriov_totalvfs).', (pv) => pv.pf.totalVfs),
  perPf('railwatch_pf_vfs_configured', 'VFs configured on the PF (sriov_numvfs).', (pv) => pv.pf.numVfs),
  perPf('railwatch_pf_vfs_desired', 'VFs the railwatch config desires on the PF (desiredVfs).', (pv) => pv.desiredVfs, false),
  perPf('railwatch_pf_vfs_present', 'VF PCI functions present under the PF (virtfnN links that resolve).', (pv) => pv.pf.vfs.length),
  perPf('railwatch_pf_vf_netdevs', 'VFs of the PF whose netdev is visible in the host network namespace.', (pv) => pv.pf.vfs.filter((vf) => vf.netdev !== undefined).length),
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
      for (const pv of f.view?.pfs ?? []) {
        for (const { vf, owner } of pv.vfs) {
          yield { labels: [pv.name, pv.railLabel, String(vf.index), vf.pci, str(vf.driver), str(vf.netdev), owner?.namespace ?? '', owner?.pod ?? ''], value: 1 };
        }
      }
    },
  },
  VF_CONFIG_FAMILY,
  ...POD_FAMILIES,
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
      for (const { dev, port, pv } of rdmaPorts(f)) {
        if (pv.up !== undefined) yield { labels: [dev.name, String(port.port)], value: pv.up ? 1 : 0 };
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
  nodeGauge('railwatch_rails', 'Rails on the node: NIC PFs with a rail number.', (f) => f.view?.snapshot.rails.length),
  nodeGauge('railwatch_gpus', 'GPUs on the node PCI bus.', (f) => f.view?.snapshot.gpus.length),
  nodeGauge('railwatch_expected_rails', 'Rails expected on the node: the config expectedRails, else the GPU count.', (f) => (f.view !== undefined ? f.view.expectedRails : expectedRailsOf(f.config, undefined))?.count),
  {
    name: 'railwatch_pcie_link_degraded',
    help: '1 when the PCIe link of the function runs below its maximum width or (PFs) speed, else 0; GPUs lower their speed when idle, so only their width counts. role is pf or gpu.',
    type: 'gauge',
    labels: ['pci', 'role'],
    *collect(f) {
      for (const p of f.view?.pcie ?? []) if (p.known) yield { labels: [p.pci, p.role], value: p.degraded ? 1 : 0 };
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
  nodeGauge('railwatch_scan_duration_seconds', 'Duration of the latest host scan in seconds.', (f) => (f.view === undefined ? undefined : f.view.snapshot.durationMs / 1000)),
  nodeGauge('railwatch_last_scan_timestamp_seconds', 'Unix time the latest host scan started, in seconds.', (f) => (f.view === undefined ? undefined : f.view.snapshot.takenAtMs / 1000)),
];
