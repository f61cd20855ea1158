// The per-VF metric families: traffic counters from IFLA_VF_STATS (read when the scrape comes) and the VF's admin
// settings as an info gauge. Structure comes from the snapshot: a VF the snapshot no longer has leaves no series,
// and a VF whose PF driver reports no VF statistics has no counter series at all (never a 0).
import type { NodeSnapshot, Pf } from '../model.ts';
import type { ExactFamily, ExactSample } from '../metrics/exposition.ts';
import type { NodeView } from '../view/derive.ts';
import type { VfInfoReading, VfStats } from './vf-info.ts';
import { joinVfLinks } from './vf-view.ts';

function pfLabel(pf: Pf): string {
  return pf.netdev ?? pf.pci;
}

function railLabel(pf: Pf): string {
  return pf.rail === undefined ? '' : String(pf.rail);
}

const COUNTERS: readonly { name: string; help: string; value: (s: VfStats) => bigint | undefined }[] = [
  { name: 'railwatch_vf_receive_bytes_total', help: 'Bytes the VF received (IFLA_VF_STATS_RX_BYTES), read at scrape time.', value: (s) => s.rxBytes },
  { name: 'railwatch_vf_transmit_bytes_total', help: 'Bytes the VF transmitted (IFLA_VF_STATS_TX_BYTES), read at scrape time.', value: (s) => s.txBytes },
  { name: 'railwatch_vf_receive_packets_total', help: 'Packets the VF received (IFLA_VF_STATS_RX_PACKETS), read at scrape time.', value: (s) => s.rxPackets },
  { name: 'railwatch_vf_transmit_packets_total', help: 'Packets the VF transmitted (IFLA_VF_STATS_TX_PACKETS), read at scrape time.', value: (s) => s.txPackets },
  { name: 'railwatch_vf_receive_dropped_total', help: 'Received packets dropped for the VF (IFLA_VF_STATS_RX_DROPPED, Linux 5.9+).', value: (s) => s.rxDropped },
  { name: 'railwatch_vf_transmit_dropped_total', help: 'Transmitted packets dropped for the VF (IFLA_VF_STATS_TX_DROPPED, Linux 5.9+).', value: (s) => s.txDropped },
  { name: 'railwatch_vf_receive_multicast_total', help: 'Multicast packets the VF received (IFLA_VF_STATS_MULTICAST).', value: (s) => s.multicast },
  { name: 'railwatch_vf_receive_broadcast_total', help: 'Broadcast packets the VF received (IFLA_VF_STATS_BROADCAST).', value: (s) => s.broadcast },
];

export const VF_COUNTER_NAMES: readonly string[] = COUNTERS.map((c) => c.name);

/** The VF traffic counters of every snapshot VF whose PF driver reports VF statistics. */
export function vfCounterFamilies(snapshot: NodeSnapshot | undefined, reading: VfInfoReading | undefined): ExactFamily[] {
  const samples: ExactSample[][] = COUNTERS.map(() => []);
  if (snapshot !== undefined) {
    const view = joinVfLinks(snapshot, reading);
    for (const pf of snapshot.pfs) {
      for (const vf of pf.vfs) {
        const stats = view.byPci.get(vf.pci)?.stats;
        if (stats === undefined) continue;
        const labels = { pf: pfLabel(pf), rail: railLabel(pf), vf: String(vf.index) };
        COUNTERS.forEach((c, i) => {
          const value = c.value(stats);
          if (value !== undefined) samples[i]!.push({ labels, value });
        });
      }
    }
  }
  return COUNTERS.map((c, i) => ({ name: c.name, help: c.help, type: 'counter', samples: samples[i]! }));
}

function onOff(v: boolean | undefined): string {
  return v === undefined ? '' : v ? 'on' : 'off';
}

/** railwatch_vf_config_info: the VF's admin settings as the PF driver reports them (NodeView.vfAdmin), valued 1. */
export function vfConfigFamily(view: NodeView | undefined): ExactFamily {
  const samples: ExactSample[] = [];
  if (view !== undefined) {
    for (const pf of view.snapshot.pfs) {
      for (const vf of pf.vfs) {
        const link = view.vfAdmin.byPci.get(vf.pci)?.link;
        if (link === undefined) continue;
        samples.push({
          labels: {
            pf: pfLabel(pf),
            rail: railLabel(pf),
            vf: String(vf.index),
            mac: link.mac ?? '',
            // iproute2 prints no VLAN when it is 0
            vlan: String(link.vlan ?? 0),
            link_state: link.linkState ?? '',
            trust: onOff(link.trust),
            spoofchk: onOff(link.spoofchk),
          },
          value: 1n,
        });
      }
    }
  }
  return {
    name: 'railwatch_vf_config_info',
    help: 'VF admin settings from the PF netlink VF list, valued 1: MAC, port VLAN (0: none), link_state auto/enable/disable, trust and spoofchk on/off (empty: the driver does not report it).',
    type: 'gauge',
    samples,
  };
}
