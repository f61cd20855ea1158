// The railwatch metric catalogue, rendered at scrape time from the agent state.
//
// Three parts make one scrape:
//  - the snapshot part: every series derived from (snapshot, allocation view, checks, config), written into a
//    fresh prom-client Registry, so a VF or port that vanished from the snapshot leaves no stale series;
//  - the exact counters: the RDMA counter families, written from their bigint values by railwatch's own writer
//    so 64-bit counters keep every digit (prom-client stores JS numbers, exact only below 2^53);
//  - the live part: a long-lived prom-client Registry whose collect() functions read the cumulative counters of
//    the state (scans, scan errors, Kubernetes requests), build info, and prom-client's process/nodejs metrics.
// The first two are cached per object identity of their inputs (the state replaces, never mutates, them), so a
// scrape between two scans only re-renders the live part.
import { gzipSync } from 'node:zlib';
import { Counter, Gauge, Registry } from './prom.ts';
import { registerProcessMetrics } from './process-metrics.ts';
import type { CheckReport } from '../checks/types.ts';
import { STATUS_VALUE } from '../checks/types.ts';
import { desiredVfsFor, type Config } from '../config/config.ts';
import type { NodeSnapshot, PcieLink, Pf, RdmaDevice } from '../model.ts';
import { SCANNER_NAMES } from '../scan/registry.ts';
import type { AgentState, AllocationView } from '../state.ts';
import { pciFromDeviceId } from '../topology/vf-owners.ts';
import { attachmentMetricsText } from '../attach/metrics.ts';
import { emptyProbes } from '../checks/probe.ts';
import { derive, type NodeView, type VfOwner } from '../view/derive.ts';
import { writeExactFamilies, type ExactFamily, type ExactSample, type LabelSet } from './exposition.ts';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One piece of a scrape: complete metric families, with its gzip member computed once when asked for. */
export interface RenderedPart {
  readonly text: string;
  /** `text` as UTF-8 bytes, made once per part (the snapshot part is shared by every scrape of a snapshot). */
  bytes(): Buffer;
  /** A gzip member of `text`; members concatenate into one valid gzip stream (RFC 1952). */
  gzip(): Buffer;
}

export interface MetricsRenderer {
  /** The parts of one scrape, in order; their texts concatenated are the exposition. */
  render(state: AgentState): Promise<readonly RenderedPart[]>;
}

export interface MetricsRendererOptions {
  /** The standard process_* and nodejs_* metrics (process-metrics.ts; default true). */
  defaultMetrics?: boolean;
}

interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}

interface GaugeFamily {
  name: string;
  help: string;
  labelNames: readonly string[];
  samples: GaugeSample[];
}

/** Counter files exported under their own names; every other `counters/` file goes to port_counter_total. */
const NAMED_COUNTERS = new Set(['port_xmit_data', 'port_rcv_data', 'port_xmit_packets', 'port_rcv_packets']);
/** `hw_counters/lifespan` is the counter cache period in ms, not a counter. */
const NOT_HW_COUNTERS = new Set(['lifespan']);

export function part(text: string): RenderedPart {
  let member: Buffer | undefined;
  let raw: Buffer | undefined;
  return {
    text,
    bytes() {
      raw ??= Buffer.from(text);
      return raw;
    },
    gzip() {
      member ??= gzipSync(text, { level: 6 });
      return member;
    },
  };
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

/** The PF an RDMA device belongs to: its own device, or the parent of the VF it sits on. */
interface RdmaOwner {
  pf: Pf;
  /** The device is the PF's own (not a VF's). */
  own: boolean;
}

function rdmaOwners(snapshot: NodeSnapshot): Map<string, RdmaOwner> {
  const out = new Map<string, RdmaOwner>();
  for (const pf of snapshot.pfs) {
    for (const vf of pf.vfs) if (vf.rdmaDevice !== undefined) out.set(vf.rdmaDevice, { pf, own: false });
  }
  for (const pf of snapshot.pfs) for (const name of pf.rdmaDevices) out.set(name, { pf, own: true });
  return out;
}

function rdmaPfLabels(dev: RdmaDevice, owners: Map<string, RdmaOwner>): { pf: string; rail: string } {
  const owner = owners.get(dev.name);
  if (owner === undefined) return { pf: '', rail: '' };
  // a VF's RDMA device belongs to the PF but is not the rail itself
  return { pf: pfLabel(owner.pf), rail: owner.own ? railLabel(owner.pf) : '' };
}

/** Expected rails: the config's expectedRails, else the GPU count when there are GPUs. */
export function expectedRails(config: Config, snapshot: NodeSnapshot | undefined): number | undefined {
  if (config.expectedRails !== undefined) return config.expectedRails;
  const gpus = snapshot?.gpus.length ?? 0;
  return gpus > 0 ? gpus : undefined;
}

/** The gauge families of the snapshot part, in catalogue order (families may be empty). */
export function snapshotGauges(
  snapshot: NodeSnapshot | undefined,
  allocation: AllocationView,
  checks: CheckReport | undefined,
  config: Config,
  view?: NodeView,
): GaugeFamily[] {
  const fam = (name: string, help: string, labelNames: readonly string[]): GaugeFamily => ({ name, help, labelNames, samples: [] });
  const pfInfo = fam(
    'railwatch_pf_info',
    'NIC physical function (SR-IOV or RDMA capable), valued 1. pf is the netdev name, else the PCI address; rail is empty when the PF is not a rail.',
    ['pf', 'pci', 'driver', 'vendor', 'device', 'netdev', 'rail', 'numa_node', 'link_layer'],
  );
  const vfsTotal = fam('railwatch_pf_vfs_supported', 'VFs the PF supports (sriov_totalvfs).', ['pf', 'rail']);
  const vfsConfigured = fam('railwatch_pf_vfs_configured', 'VFs configured on the PF (sriov_numvfs).', ['pf', 'rail']);
  const vfsDesired = fam('railwatch_pf_vfs_desired', 'VFs the railwatch config desires on the PF (desiredVfs).', ['pf', 'rail']);
  const vfsPresent = fam('railwatch_pf_vfs_present', 'VF PCI functions present under the PF (virtfnN links that resolve).', ['pf', 'rail']);
  const vfNetdevs = fam('railwatch_pf_vf_netdevs', 'VFs of the PF whose netdev is visible in the host network namespace.', ['pf', 'rail']);
  const vfsAllocated = fam(
    'railwatch_pf_vfs_allocated',
    'VFs of the PF the kubelet has assigned to pods, by device plugin resource. Absent when the kubelet cannot be asked.',
    ['pf', 'rail', 'resource'],
  );
  const vfInfo = fam(
    'railwatch_vf_info',
    'SR-IOV virtual function, valued 1. vf is the virtfn index; namespace and pod are empty when no pod holds the VF.',
    ['pf', 'rail', 'vf', 'pci', 'driver', 'netdev', 'namespace', 'pod'],
  );
  const portInfo = fam(
    'railwatch_rdma_port_info',
    'RDMA port, valued 1. pf and rail name the PF the RDMA device belongs to (rail empty for a VF device or a non-rail PF).',
    ['device', 'port', 'pci', 'pf', 'rail', 'link_layer', 'fw_version', 'node_guid'],
  );
  const portUp = fam('railwatch_rdma_port_up', '1 when the RDMA port state is ACTIVE and its physical state LinkUp, else 0.', ['device', 'port']);
  const portRate = fam('railwatch_rdma_port_rate_bytes_per_second', 'Data rate of the RDMA port (ports/N/rate) in bytes per second.', ['device', 'port']);
  const rails = fam('railwatch_rails', 'Rails on the node: NIC PFs with a rail number.', []);
  const gpus = fam('railwatch_gpus', 'GPUs on the node PCI bus.', []);
  const expected = fam('railwatch_expected_rails', 'Rails expected on the node: the config expectedRails, else the GPU count.', []);
  const degraded = fam(
    'railwatch_pcie_link_degraded',
    '1 when the PCIe link of the function runs below its maximum width or (PFs) speed, else 0; GPUs lower their speed when idle, so only their width counts. role is pf or gpu.',
    ['pci', 'role'],
  );
  const scanDuration = fam('railwatch_scan_duration_seconds', 'Duration of the latest host scan in seconds.', []);
  const lastScan = fam('railwatch_last_scan_timestamp_seconds', 'Unix time the latest host scan started, in seconds.', []);
  const podResourcesUp = fam('railwatch_pod_resources_up', '1 when the kubelet PodResources API answered the latest poll, else 0.', []);
  const checkStatus = fam('railwatch_check_status', 'Setup chain check status: 0 pass, 1 warn, 2 fail, -1 skip. step is <position>-<slug>.', ['check', 'step']);
  const driftActive = fam('railwatch_drift_active', '1 while the check fails, else 0.', ['check']);
  const setupReady = fam('railwatch_setup_ready', '1 when no setup chain check fails, else 0.', []);

  const allocations = allocation.allocations;
  podResourcesUp.samples.push({ labels: {}, value: allocations === undefined ? 0 : 1 });

  if (snapshot !== undefined) {
    const pciByAddress = new Map(snapshot.pci.map((fn) => [fn.address, fn]));
    // the VF-to-pod join is the view's (derived once per scan); a view is derived here only for a bare snapshot
    const v = view !== undefined && view.snapshot === snapshot && view.allocation === allocation ? view : derive(snapshot, allocation, emptyProbes(config), config);
    const owners: ReadonlyMap<string, VfOwner> | undefined = v.vfOwners;
    const pfOfVf = new Map<string, Pf>();
    for (const pf of snapshot.pfs) for (const vf of pf.vfs) pfOfVf.set(vf.pci, pf);

    for (const pf of snapshot.pfs) {
      const pfl = pfLabel(pf);
      const rail = railLabel(pf);
      const key = { pf: pfl, rail };
      pfInfo.samples.push({
        labels: {
          pf: pfl,
          pci: pf.pci,
          driver: str(pf.driver),
          vendor: str(pf.vendor),
          device: str(pf.device),
          netdev: str(pf.netdev),
          rail,
          numa_node: str(pf.numaNode),
          link_layer: str(pf.linkLayer),
        },
        value: 1,
      });
      if (pf.sriovCapable) {
        vfsTotal.samples.push({ labels: key, value: pf.totalVfs });
        if (pf.numVfs !== undefined) vfsConfigured.samples.push({ labels: key, value: pf.numVfs });
        vfsPresent.samples.push({ labels: key, value: pf.vfs.length });
        vfNetdevs.samples.push({ labels: key, value: pf.vfs.filter((vf) => vf.netdev !== undefined).length });
      }
      const desired = desiredVfsFor(config, pf);
      if (desired !== undefined) vfsDesired.samples.push({ labels: key, value: desired });
      for (const vf of pf.vfs) {
        const owner = owners?.get(vf.pci);
        vfInfo.samples.push({
          labels: {
            pf: pfl,
            rail,
            vf: String(vf.index),
            pci: vf.pci,
            driver: str(vf.driver),
            netdev: str(vf.netdev),
            namespace: owner?.namespace ?? '',
            pod: owner?.pod ?? '',
          },
          value: 1,
        });
      }
      const fn = pciByAddress.get(pf.pci);
      if (fn !== undefined && knownLink(fn.link)) {
        degraded.samples.push({ labels: { pci: pf.pci, role: 'pf' }, value: fn.link.degraded ? 1 : 0 });
      }
    }

    if (allocations !== undefined && owners !== undefined) {
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
          const pf = pci === undefined ? undefined : pfOfVf.get(pci);
          if (pf !== undefined) touch(pf, res.resourceName);
        }
      }
      for (const [pci, owner] of owners) {
        const pf = pfOfVf.get(pci);
        if (pf !== undefined) touch(pf, owner.resourceName).n++;
      }
      const ordered = [...counts.values()].sort(
        (a, b) => snapshot.pfs.indexOf(a.pf) - snapshot.pfs.indexOf(b.pf) || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0),
      );
      for (const c of ordered) vfsAllocated.samples.push({ labels: { pf: pfLabel(c.pf), rail: railLabel(c.pf), resource: c.resource }, value: c.n });
    }

    const devOwners = rdmaOwners(snapshot);
    for (const dev of snapshot.rdmaDevices) {
      const { pf, rail } = rdmaPfLabels(dev, devOwners);
      for (const port of dev.ports) {
        const id = { device: dev.name, port: String(port.port) };
        portInfo.samples.push({
          labels: {
            ...id,
            pci: str(dev.pci),
            pf,
            rail,
            link_layer: str(port.linkLayer),
            fw_version: str(dev.fwVer),
            node_guid: str(dev.nodeGuid),
          },
          value: 1,
        });
        if (port.state !== undefined || port.physState !== undefined) {
          portUp.samples.push({ labels: id, value: port.state === 'ACTIVE' && port.physState === 'LinkUp' ? 1 : 0 });
        }
        if (port.rateBitsPerSecond !== undefined) portRate.samples.push({ labels: id, value: port.rateBitsPerSecond / 8 });
      }
    }

    rails.samples.push({ labels: {}, value: snapshot.rails.length });
    gpus.samples.push({ labels: {}, value: snapshot.gpus.length });
    for (const gpu of snapshot.gpus) {
      if (knownLink(gpu.link)) degraded.samples.push({ labels: { pci: gpu.pci, role: 'gpu' }, value: gpu.link.degraded ? 1 : 0 });
    }
    scanDuration.samples.push({ labels: {}, value: snapshot.durationMs / 1000 });
    lastScan.samples.push({ labels: {}, value: snapshot.takenAtMs / 1000 });
  }

  const want = expectedRails(config, snapshot);
  if (want !== undefined) expected.samples.push({ labels: {}, value: want });

  if (checks !== undefined) {
    for (const result of checks.results) {
      checkStatus.samples.push({ labels: { check: result.id, step: result.stepLabel }, value: STATUS_VALUE[result.status] });
      driftActive.samples.push({ labels: { check: result.id }, value: result.status === 'fail' ? 1 : 0 });
    }
    setupReady.samples.push({ labels: {}, value: checks.ready ? 1 : 0 });
  }

  return [
    pfInfo,
    vfsTotal,
    vfsConfigured,
    vfsDesired,
    vfsPresent,
    vfNetdevs,
    vfsAllocated,
    vfInfo,
    portInfo,
    portUp,
    portRate,
    rails,
    gpus,
    expected,
    degraded,
    podResourcesUp,
    checkStatus,
    driftActive,
    setupReady,
    scanDuration,
    lastScan,
  ];
}

/** The RDMA counter families, exact from their bigint values. */
export function counterFamilies(snapshot: NodeSnapshot | undefined): ExactFamily[] {
  const txBytes: ExactSample[] = [];
  const rxBytes: ExactSample[] = [];
  const txPackets: ExactSample[] = [];
  const rxPackets: ExactSample[] = [];
  const other: ExactSample[] = [];
  const hw: ExactSample[] = [];
  for (const dev of snapshot?.rdmaDevices ?? []) {
    for (const port of dev.ports) {
      const id: LabelSet = { device: dev.name, port: String(port.port) };
      const c = port.counters;
      // 4-octet words (IBA PortXmitData/PortRcvData) to bytes
      if (c['port_xmit_data'] !== undefined) txBytes.push({ labels: id, value: c['port_xmit_data'] * 4n });
      if (c['port_rcv_data'] !== undefined) rxBytes.push({ labels: id, value: c['port_rcv_data'] * 4n });
      if (c['port_xmit_packets'] !== undefined) txPackets.push({ labels: id, value: c['port_xmit_packets'] });
      if (c['port_rcv_packets'] !== undefined) rxPackets.push({ labels: id, value: c['port_rcv_packets'] });
      for (const [name, value] of Object.entries(c)) {
        if (!NAMED_COUNTERS.has(name)) other.push({ labels: { ...id, stat: name }, value });
      }
      for (const [name, value] of Object.entries(port.hwCounters)) {
        if (!NOT_HW_COUNTERS.has(name)) hw.push({ labels: { ...id, stat: name }, value });
      }
    }
  }
  return [
    { name: 'railwatch_rdma_port_transmit_bytes_total', type: 'counter', help: 'Bytes transmitted on the RDMA port (counters/port_xmit_data x 4).', samples: txBytes },
    { name: 'railwatch_rdma_port_receive_bytes_total', type: 'counter', help: 'Bytes received on the RDMA port (counters/port_rcv_data x 4).', samples: rxBytes },
    { name: 'railwatch_rdma_port_transmit_packets_total', type: 'counter', help: 'Packets transmitted on the RDMA port (counters/port_xmit_packets).', samples: txPackets },
    { name: 'railwatch_rdma_port_receive_packets_total', type: 'counter', help: 'Packets received on the RDMA port (counters/port_rcv_packets).', samples: rxPackets },
    {
      name: 'railwatch_rdma_port_stat_total',
      type: 'counter',
      help: 'Every other file of the RDMA port counters/ directory, by file name.',
      samples: other,
    },
    {
      name: 'railwatch_rdma_hw_stat_total',
      type: 'counter',
      help: 'Every file of the RDMA port hw_counters/ directory except lifespan, by file name.',
      samples: hw,
    },
  ];
}

/** Writes gauge families through a fresh prom-client registry; families without samples are left out. */
async function renderGauges(families: readonly GaugeFamily[]): Promise<string> {
  const registry = new Registry();
  for (const family of families) {
    if (family.samples.length === 0) continue;
    const gauge = new Gauge({ name: family.name, help: family.help, labelNames: [...family.labelNames], registers: [registry] });
    for (const sample of family.samples) {
      // never a NaN or an infinity in the exposition
      if (!Number.isFinite(sample.value)) continue;
      if (family.labelNames.length === 0) gauge.set(sample.value);
      else gauge.set(sample.labels, sample.value);
    }
  }
  const text = await registry.metrics();
  return text === '\n' ? '' : text;
}

/** The snapshot part of a scrape: the gauges and the exact counters. */
export async function renderSnapshotPart(
  snapshot: NodeSnapshot | undefined,
  allocation: AllocationView,
  checks: CheckReport | undefined,
  config: Config,
  view?: NodeView,
): Promise<string> {
  const gauges = await renderGauges(snapshotGauges(snapshot, allocation, checks, config, view));
  return gauges + writeExactFamilies(counterFamilies(snapshot));
}

interface CacheKey {
  snapshot: NodeSnapshot | undefined;
  allocation: AllocationView;
  checks: CheckReport | undefined;
  config: Config;
}

function sameKey(a: CacheKey, b: CacheKey): boolean {
  return a.snapshot === b.snapshot && a.allocation === b.allocation && a.checks === b.checks && a.config === b.config;
}

/** A long-lived registry whose collect() functions read the state being rendered. */
function createLiveRegistry(current: () => AgentState | undefined, defaultMetrics: boolean): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'railwatch_build_info',
    help: 'railwatch build, valued 1.',
    labelNames: ['version'],
    registers: [registry],
    collect() {
      this.reset();
      const state = current();
      if (state !== undefined) this.set({ version: state.version }, 1);
    },
  });
  new Counter({
    name: 'railwatch_scans_total',
    help: 'Host scans completed, by trigger.',
    labelNames: ['trigger'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [trigger, n] of current()?.scansTotal ?? []) this.inc({ trigger }, n);
    },
  });
  new Counter({
    name: 'railwatch_scan_errors_total',
    help: 'Attributes a scanner skipped and counted (unreadable or unparsable), by scanner.',
    labelNames: ['scanner'],
    registers: [registry],
    collect() {
      this.reset();
      const totals = current()?.scanErrorsTotal ?? new Map<string, number>();
      for (const scanner of SCANNER_NAMES) this.inc({ scanner }, totals.get(scanner) ?? 0);
      const extra = [...totals.keys()].filter((k) => !SCANNER_NAMES.includes(k)).sort();
      for (const scanner of extra) this.inc({ scanner }, totals.get(scanner) ?? 0);
    },
  });
  new Counter({
    name: 'railwatch_kube_requests_total',
    help: 'Kubernetes API requests, by verb and HTTP status code.',
    labelNames: ['verb', 'code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of current()?.kubeRequests ?? []) {
        const tab = key.indexOf('\t');
        if (tab < 0) continue;
        this.inc({ verb: key.slice(0, tab), code: key.slice(tab + 1) }, n);
      }
    },
  });
  if (defaultMetrics) registerProcessMetrics(registry);
  return registry;
}

export function createMetricsRenderer(options: MetricsRendererOptions = {}): MetricsRenderer {
  let current: AgentState | undefined;
  // per pod holding VFs (agent/attach/metrics.ts), cached per view like the snapshot part
  let attached: { view: AgentState['attachments']; part: RenderedPart } | undefined;
  const attachmentPart = (view: AgentState['attachments']): RenderedPart => {
    if (attached === undefined || attached.view !== view) attached = { view, part: part(attachmentMetricsText(view)) };
    return attached.part;
  };
  const live = createLiveRegistry(() => current, options.defaultMetrics ?? true);
  let cached: { key: CacheKey; part: Promise<RenderedPart> } | undefined;

  function snapshotPart(state: AgentState): Promise<RenderedPart> {
    const key: CacheKey = { snapshot: state.snapshot, allocation: state.allocation, checks: state.checks, config: state.config };
    if (cached === undefined || !sameKey(cached.key, key)) {
      const promise = renderSnapshotPart(key.snapshot, key.allocation, key.checks, key.config, state.view).then(part);
      cached = { key, part: promise };
      // a failed render is not cached
      promise.catch(() => {
        if (cached?.part === promise) cached = undefined;
      });
    }
    return cached.part;
  }

  return {
    async render(state) {
      const first = await snapshotPart(state);
      current = state;
      const liveText = await live.metrics();
      return [first, attachmentPart(state.attachments), part(liveText)];
    },
  };
}

/** The exposition text of rendered parts. */
export function partsText(parts: readonly RenderedPart[]): string {
  let out = '';
  for (const p of parts) out += p.text;
  return out;
}

/** Renders the whole exposition text of a state once (for tests and one-shot commands). */
export async function renderMetricsText(state: AgentState, options: MetricsRendererOptions = {}): Promise<string> {
  return partsText(await createMetricsRenderer({ defaultMetrics: false, ...options }).render(state));
}
