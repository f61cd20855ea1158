// The per-VF metric families: the VF's admin settings as an info gauge (structural: from the NodeView of the scan)
// and its traffic counters from IFLA_VF_STATS (fresh: read when the scrape comes, a FreshSource of metrics/fresh.ts).
// Structure comes from the snapshot: a VF the snapshot no longer has leaves no series, and a VF whose PF driver
// reports no VF statistics has no counter series at all (never a 0).
import type { StructuralFacts } from '../metrics/catalogue.ts';
import type { MetricFamily } from '../metrics/exposition.ts';
import { FamiliesBytesWriter, labelBlock, writeFamilies } from '../metrics/exposition.ts';
import type { FreshSource, Skip } from '../metrics/fresh.ts';
import type { NodeSnapshot, Pf, Vf } from '../model.ts';
import type { VfInfoIssue, VfInfoReading, VfInfoSource, VfStats } from './vf-info.ts';
import { joinVfLinks, type VfAdminView } from './vf-view.ts';

function pfLabel(pf: Pf): string {
  return pf.netdev ?? pf.pci;
}

function railLabel(pf: Pf): string {
  return pf.rail === undefined ? '' : String(pf.rail);
}

function onOff(v: boolean | undefined): string {
  return v === undefined ? '' : v ? 'on' : 'off';
}

/** railwatch_vf_config_info: the VF's admin settings as the PF driver reports them (NodeView.vfAdmin), valued 1. */
export const VF_CONFIG_FAMILY: MetricFamily<StructuralFacts> = {
  name: 'railwatch_vf_config_info',
  help: 'VF admin settings from the PF netlink VF list, valued 1: MAC, port VLAN (0: none), link_state auto/enable/disable, trust and spoofchk on/off (empty: the driver does not report it).',
  type: 'gauge',
  labels: ['pf', 'rail', 'vf', 'mac', 'vlan', 'link_state', 'trust', 'spoofchk'],
  *collect(f) {
    const view = f.view;
    if (view === undefined) return;
    for (const pf of view.snapshot.pfs) {
      for (const vf of pf.vfs) {
        const link = view.vfAdmin.byPci.get(vf.pci)?.link;
        if (link === undefined) continue;
        // iproute2 prints no VLAN when it is 0
        yield { labels: [pfLabel(pf), railLabel(pf), String(vf.index), link.mac ?? '', String(link.vlan ?? 0), link.linkState ?? '', onOff(link.trust), onOff(link.spoofchk)], value: 1 };
      }
    }
  },
};

/** What the counter families read: the snapshot's VFs joined with one netlink reading. */
export interface VfCounterInput {
  snapshot: NodeSnapshot | undefined;
  admin: VfAdminView;
}

const VF_COUNTER_LABELS = ['pf', 'rail', 'vf'] as const;

/**
 * Each VF's formatted label set, made once per PF object and VF number: a snapshot's PFs are frozen (their netdev
 * and rail cannot change under the cache), and each scan makes new ones.
 */
const vfLabels = new WeakMap<Pf, Map<number, { labels: readonly string[]; formatted: string }>>();

function labelsOf(pf: Pf, vf: Vf): { labels: readonly string[]; formatted: string } {
  let byIndex = vfLabels.get(pf);
  if (byIndex === undefined) {
    byIndex = new Map();
    vfLabels.set(pf, byIndex);
  }
  let block = byIndex.get(vf.index);
  if (block === undefined) {
    block = labelBlock(VF_COUNTER_LABELS, [pfLabel(pf), railLabel(pf), String(vf.index)]);
    byIndex.set(vf.index, block);
  }
  return block;
}

function counter(name: string, help: string, value: (s: VfStats) => bigint | undefined): MetricFamily<VfCounterInput> {
  return {
    name,
    help,
    type: 'counter',
    labels: VF_COUNTER_LABELS,
    *collect(input) {
      for (const pf of input.snapshot?.pfs ?? []) {
        for (const vf of pf.vfs) {
          const stats = input.admin.byPci.get(vf.pci)?.stats;
          const v = stats === undefined ? undefined : value(stats);
          if (v === undefined) continue;
          const { labels, formatted } = labelsOf(pf, vf);
          yield { labels, formatted, value: v };
        }
      }
    },
  };
}

export const VF_COUNTER_FAMILIES: readonly MetricFamily<VfCounterInput>[] = [
  counter('railwatch_vf_receive_bytes_total', 'Bytes the VF received (IFLA_VF_STATS_RX_BYTES), read at scrape time.', (s) => s.rxBytes),
  counter('railwatch_vf_transmit_bytes_total', 'Bytes the VF transmitted (IFLA_VF_STATS_TX_BYTES), read at scrape time.', (s) => s.txBytes),
  counter('railwatch_vf_receive_packets_total', 'Packets the VF received (IFLA_VF_STATS_RX_PACKETS), read at scrape time.', (s) => s.rxPackets),
  counter('railwatch_vf_transmit_packets_total', 'Packets the VF transmitted (IFLA_VF_STATS_TX_PACKETS), read at scrape time.', (s) => s.txPackets),
  counter('railwatch_vf_receive_dropped_total', 'Received packets dropped for the VF (IFLA_VF_STATS_RX_DROPPED, Linux 5.9+).', (s) => s.rxDropped),
  counter('railwatch_vf_transmit_dropped_total', 'Transmitted packets dropped for the VF (IFLA_VF_STATS_TX_DROPPED, Linux 5.9+).', (s) => s.txDropped),
  counter('railwatch_vf_receive_multicast_total', 'Multicast packets the VF received (IFLA_VF_STATS_MULTICAST).', (s) => s.multicast),
  counter('railwatch_vf_receive_broadcast_total', 'Broadcast packets the VF received (IFLA_VF_STATS_BROADCAST).', (s) => s.broadcast),
];

/** The counter families' text for a snapshot and a reading. */
export function vfCounterText(snapshot: NodeSnapshot | undefined, reading: VfInfoReading | undefined): string {
  if (snapshot === undefined) return '';
  return writeFamilies(VF_COUNTER_FAMILIES, { snapshot, admin: joinVfLinks(snapshot, reading) });
}

function skipOf(issue: VfInfoIssue): Skip {
  const reason = issue.code === 'TIMEOUT' ? 'timeout' : issue.code === 'PARSE' || issue.code === 'TRUNCATED' ? 'unparsable' : 'unreadable';
  const skip: Skip = { path: issue.path === 'ip' ? 'ip -j -s -d link show' : issue.path, reason };
  if (issue.detail !== undefined) skip.detail = issue.detail;
  return skip;
}

/** The fresh source of the VF counters: one (coalesced) netlink read per scrape, laid out on the latest snapshot's VFs. */
export function createVfCounterSource(source: VfInfoSource): FreshSource {
  const writer = new FamiliesBytesWriter(VF_COUNTER_FAMILIES);
  return {
    name: 'vf-netlink',
    async read(ctx) {
      const snapshot = ctx.state.snapshot;
      if (snapshot === undefined || !snapshot.pfs.some((pf) => pf.vfs.length > 0)) return { value: '', skips: [] };
      const reading = await source.read();
      return { value: writer.write({ snapshot, admin: joinVfLinks(snapshot, reading) }), skips: reading.issues.map(skipOf) };
    },
  };
}
