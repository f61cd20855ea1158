// `railwatch inventory`: the node's rails, PFs, VFs, RDMA ports and the GPU<->NIC matrix.
import type { NodeSnapshot, Pf, RdmaDevice } from '../model.ts';
import { compareText, nicVendorName } from '../parse/values.ts';
import { snapshotToJson } from '../scan/registry.ts';
import { ranges, wrapLine } from './text.ts';

/** The `--json` document: the snapshot itself (schema in docs/inventory.md). */
export function inventoryJson(s: NodeSnapshot): string {
  return snapshotToJson(s) + '\n';
}

function rateText(bits: number | undefined): string {
  if (bits === undefined) return '?';
  return bits >= 1e9 ? `${bits / 1e9} Gb/s` : `${bits / 1e6} Mb/s`;
}

function pfLine(pf: Pf): string {
  const name = pf.netdev ?? '(no netdev)';
  const sriov = pf.sriovCapable ? `VFs ${pf.numVfs ?? '?'}/${pf.totalVfs}` : 'no SR-IOV';
  return `${name} ${pf.pci} ${nicVendorName(pf.vendor)} ${pf.device ?? ''} driver=${pf.driver ?? 'none'} numa=${pf.numaNode ?? '-'} ${sriov}`;
}

function portLines(dev: RdmaDevice | undefined, indent: string): string[] {
  if (!dev) return [];
  return dev.ports.map(
    (p) =>
      `${indent}${dev.name} port ${p.port}: ${p.state ?? '?'}/${p.physState ?? '?'} ${rateText(p.rateBitsPerSecond)} ${p.linkLayer ?? ''} fw ${dev.fwVer ?? '?'}` +
      ` (${Object.keys(p.counters).length} counters, ${Object.keys(p.hwCounters).length} hw_counters)`,
  );
}

export interface InventoryTextOptions {
  /** List every VF (default: a summary per PF with index ranges). */
  vfs?: boolean;
  /** Wrap long lines (kernel command line, module list, ...) to this many columns (default 80). */
  width?: number;
}

export function inventoryText(s: NodeSnapshot, opts: InventoryTextOptions = {}): string {
  const out: string[] = [];
  const width = opts.width ?? 80;
  /** Lines of the GPU<->NIC table: not wrapped (a table), only trimmed. */
  const table = new Set<number>();
  const vfLines = (pf: Pf, indent: string): string[] => (opts.vfs === true ? vfList(pf, indent) : vfSummary(pf, indent));
  const rdma = new Map(s.rdmaDevices.map((d) => [d.name, d]));
  const id = s.identity;
  out.push(`railwatch inventory of ${s.sysfsRoot}` + (id?.systemModel ? ` (${[id.systemVendor, id.systemModel].filter(Boolean).join(' ')})` : ''));
  out.push(
    `  ${s.rails.length} rail(s), ${s.pfs.length} PF(s), ${s.pfs.reduce((n, p) => n + p.vfs.length, 0)} VF(s), ` +
      `${s.rdmaDevices.length} RDMA device(s), ${s.gpus.length} GPU(s)`,
  );
  if (s.pfs.length === 0 && s.rdmaDevices.length === 0) {
    const nics = s.netdevs.filter((n) => !n.virtual);
    out.push('  No SR-IOV capable or RDMA-capable NIC found: this host has no rails.');
    if (nics.length > 0) out.push(`  Physical netdevs: ${nics.map((n) => `${n.name} (${n.pci ?? 'no PCI'})`).join(', ')}`);
  }
  if (s.rails.length > 0) {
    out.push('', 'Rails');
    for (const rail of s.rails) {
      const pf = s.pfs.find((p) => p.pci === rail.pf);
      out.push(`  rail ${rail.rail} [${rail.source}]${rail.gpu ? ` gpu ${rail.gpu} (${rail.distance})` : ''}`);
      if (!pf) continue;
      out.push(`    PF ${pfLine(pf)}`);
      for (const d of pf.rdmaDevices) out.push(...portLines(rdma.get(d), '      '));
      out.push(...vfLines(pf, '      '));
    }
  }
  const others = s.pfs.filter((p) => p.rail === undefined);
  if (others.length > 0) {
    out.push('', 'Other NICs (not rails)');
    for (const pf of others) {
      out.push(`  PF ${pfLine(pf)}${pf.rdmaDevices.length === 0 ? ' (no RDMA device)' : ''}`);
      for (const d of pf.rdmaDevices) out.push(...portLines(rdma.get(d), '    '));
      out.push(...vfLines(pf, '    '));
    }
  }
  if (s.gpus.length > 0) {
    out.push('', 'GPUs');
    for (const g of s.gpus) out.push(`  ${g.pci} ${g.vendorName} ${g.device ?? ''}${g.model !== undefined ? ` (${g.model})` : ''} driver=${g.driver ?? 'none'} numa=${g.numaNode ?? '-'}`);
  }
  if (s.displayGpus.length > 0) {
    out.push('', 'Display graphics (not counted as GPUs)');
    for (const g of s.displayGpus) out.push(`  ${g.pci} ${g.vendorName} ${g.device ?? ''} ${g.class ?? ''} driver=${g.driver ?? 'none'}`);
  }
  if (s.topology.gpus.length > 0 && s.topology.nics.length > 0) {
    out.push('', 'GPU <-> NIC PCIe distance (PIX same switch, PXB across switches, PHB same root complex, NODE same NUMA, SYS across NUMA)');
    const nicNames = s.topology.nics.map((pci) => s.pfs.find((p) => p.pci === pci)?.rdmaDevices[0] ?? pci);
    // 8 columns of mlx5_N fit in 80 characters
    const w = Math.max(6, ...nicNames.map((n) => n.length)) + 2;
    table.add(out.push('  ' + 'GPU'.padEnd(14) + nicNames.map((n) => n.padEnd(w)).join('')) - 1);
    s.topology.gpus.forEach((g, i) => {
      table.add(out.push('  ' + g.padEnd(14) + (s.topology.distance[i] ?? []).map((d) => d.padEnd(w)).join('')) - 1);
    });
  }
  const h = s.host;
  out.push('', 'Host');
  const grouped = s.pci.filter((f) => f.iommuGroup !== undefined).length;
  const linked = h.iommu.groups === 0 && grouped > 0 ? ` (${grouped} PCI functions with an iommu_group link)` : '';
  out.push(`  kernel ${h.kernelRelease ?? '?'}; cpu ${h.cpuVendor ?? '?'}; IOMMU units ${h.iommu.units.length}, groups ${h.iommu.groups}${linked}`);
  out.push(`  cmdline: ${h.cmdline ?? '(unreadable)'}`);
  const loaded = Object.entries(h.modules).filter(([, m]) => m.loaded).map(([n]) => n);
  out.push(`  modules: ${loaded.length > 0 ? loaded.join(', ') : '(none of the watched modules loaded)'}`);
  if (s.issues.length > 0 || s.failedScanners.length > 0) {
    out.push('', `Skipped ${s.issues.length} unreadable attribute(s)` + (s.failedScanners.length ? `; failed scanners: ${s.failedScanners.join(', ')}` : ''));
    for (const i of s.issues.slice(0, 10)) out.push(`  ${i.scanner}: ${i.path}: ${i.code}${i.detail ? ` (${i.detail})` : ''}`);
    if (s.issues.length > 10) out.push(`  ... and ${s.issues.length - 10} more (see --json)`);
  }
  out.push('', `Scan took ${s.durationMs.toFixed(1)} ms.`);
  return out.flatMap((l, i) => (table.has(i) ? [l.trimEnd()] : wrapLine(l, width))).join('\n') + '\n';
}

function noVfs(pf: Pf, indent: string): string[] | undefined {
  if (pf.vfs.length > 0) return undefined;
  return pf.sriovCapable && (pf.numVfs ?? 0) > 0 ? [`${indent}VFs: sriov_numvfs=${pf.numVfs} but no VF functions found`] : [];
}

function vfHeader(pf: Pf, indent: string): string {
  const withNet = pf.vfs.filter((v) => v.netdev !== undefined).length;
  return `${indent}VFs: ${pf.vfs.length} present, ${withNet} with a netdev in the host namespace`;
}

/** `--vfs`: one line per VF. */
function vfList(pf: Pf, indent: string): string[] {
  const none = noVfs(pf, indent);
  if (none) return none;
  const lines = [vfHeader(pf, indent)];
  for (const v of pf.vfs) {
    lines.push(`${indent}  vf${v.index} ${v.pci} driver=${v.driver ?? 'none'} netdev=${v.netdev ?? '-'}${v.rdmaDevice ? ` rdma=${v.rdmaDevice}` : ''}`);
  }
  return lines;
}

/** The default: VF indexes as ranges, grouped by driver, with those lacking a netdev or an RDMA device named. */
function vfSummary(pf: Pf, indent: string): string[] {
  const none = noVfs(pf, indent);
  if (none) return none;
  const lines = [`${vfHeader(pf, indent)} (--vfs lists each)`];
  const byDriver = new Map<string, number[]>();
  for (const v of pf.vfs) {
    const d = v.driver ?? 'none';
    byDriver.set(d, [...(byDriver.get(d) ?? []), v.index]);
  }
  const first = pf.vfs[0]?.pci;
  const last = pf.vfs[pf.vfs.length - 1]?.pci;
  const drivers = [...byDriver].sort(([a], [b]) => compareText(a, b));
  const only = drivers.length === 1 ? `, driver=${drivers[0]?.[0]}` : '';
  lines.push(`${indent}  vf ${ranges(pf.vfs.map((v) => v.index))}: PCI ${first === last ? first : `${first} .. ${last}`}${only}`);
  if (drivers.length > 1) for (const [driver, idx] of drivers) lines.push(`${indent}  driver=${driver}: vf ${ranges(idx)}`);
  const noNet = pf.vfs.filter((v) => v.netdev === undefined).map((v) => v.index);
  if (noNet.length > 0) lines.push(`${indent}  no netdev in the host namespace (in a pod, or no driver): vf ${ranges(noNet)}`);
  const withRdma = pf.vfs.filter((v) => v.rdmaDevice !== undefined).map((v) => v.index);
  if (withRdma.length > 0) lines.push(`${indent}  RDMA device: vf ${ranges(withRdma)}`);
  return lines;
}
