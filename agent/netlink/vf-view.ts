// Joins the netlink VF lists with the snapshot's PFs and VFs: which kernel VF entry belongs to which VF PCI function.
// A PF's list comes with its netdev (or its IPoIB netdev for an InfiniBand PF), and the list's `vf` number is the N of
// the PF's virtfnN link.
import type { NodeSnapshot, Pf, Vf } from '../model.ts';
import type { VfInfoReading, VfLink, VfStats } from './vf-info.ts';

/**
 * PF drivers whose netdev implements ndo_get_vf_stats. The kernel sends IFLA_VF_STATS for every VF of every driver,
 * zero-filled when the driver has no such callback (bnxt_en, for one): only these drivers' numbers are counters.
 */
export const VF_STATS_DRIVERS: ReadonlySet<string> = new Set(['mlx5_core', 'mlx4_core', 'ice', 'i40e', 'ionic']);

export interface VfAdmin {
  pf: Pf;
  vf: Vf;
  /** The link (PF netdev) whose VF list holds this VF. */
  ifname: string;
  link: VfLink;
  /** The VF's traffic counters; undefined when the PF's driver reports none (see VF_STATS_DRIVERS). */
  stats?: VfStats;
}

export interface VfAdminView {
  /** By VF PCI address. */
  byPci: Map<string, VfAdmin>;
  /** PFs with VFs whose netdev has no VF list in the reading (no netdev in this namespace, or the driver lists none). */
  pfsWithoutList: Pf[];
}

/** The kernel VF entry of every snapshot VF that the reading lists; pure. */
export function joinVfLinks(snapshot: NodeSnapshot, reading: VfInfoReading | undefined): VfAdminView {
  const byPci = new Map<string, VfAdmin>();
  const pfsWithoutList: Pf[] = [];
  if (reading === undefined || reading.error !== undefined) return { byPci, pfsWithoutList };
  const byName = new Map(reading.links.map((l) => [l.ifname, l]));
  for (const pf of snapshot.pfs) {
    if (pf.vfs.length === 0) continue;
    // the PF's own netdev first, then its other netdevs (IPoIB child, representors carry no list), then by parentdev
    const names = pf.netdev !== undefined ? [pf.netdev, ...pf.netdevs.filter((n) => n !== pf.netdev)] : pf.netdevs;
    const candidates = [...names.map((n) => byName.get(n)), ...reading.links.filter((l) => l.parentDev === pf.pci)].filter((l) => l !== undefined);
    const list = candidates.find((l) => l.vfs.length > 0) ?? candidates[0];
    if (list === undefined) {
      pfsWithoutList.push(pf);
      continue;
    }
    const entries = new Map(list.vfs.map((v) => [v.vf, v]));
    const statsReported = pf.driver !== undefined && VF_STATS_DRIVERS.has(pf.driver);
    for (const vf of pf.vfs) {
      const link = entries.get(vf.index);
      if (link === undefined) continue;
      const admin: VfAdmin = { pf, vf, ifname: list.ifname, link };
      if (statsReported && link.stats !== undefined) admin.stats = link.stats;
      byPci.set(vf.pci, admin);
    }
  }
  return { byPci, pfsWithoutList };
}

/** true for a GUID or MAC of only zero bytes (`00:00:...`, `0000:0000:...`). */
export function isZeroAddress(value: string | undefined): boolean {
  return value !== undefined && /^[0:.-]+$/.test(value);
}
