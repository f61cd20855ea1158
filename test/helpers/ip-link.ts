// Recorded `ip -j -s -d link show` answers for fixture hosts, written the way iproute2's JSON printer writes them:
// print_linkinfo() for the link, print_vfinfo() and print_vf_stats64() (ip/ipaddress.c, iproute2 5.x/6.x) for each
// VF, with each driver's habits:
//  - mlx5-roce: mlx5e_get_vf_config fills MAC, VLAN, rates, spoof check, trust, link state, RSS query; stats from
//    mlx5e_get_vf_stats (with rx/tx dropped);
//  - mlx5-ib: the IPoIB netdev's VF list: link/infiniband, 20-byte addresses, node and port GUIDs, link state;
//    spoof check, trust and RSS query stay -1 in the kernel and are not printed; stats through ipoib_get_vf_stats;
//  - ice: spoof checking on by default, VLAN lists, stats from ice_get_vf_stats;
//  - bnxt: bnxt_get_vf_config fills MAC, VLAN, rates, spoof check, trust, link state but not RSS query, and bnxt_en
//    has no ndo_get_vf_stats: the kernel still sends IFLA_VF_STATS, zero-filled.

import type { VfLinkState, VfStats } from '../../agent/netlink/vf-info.ts';

export type VfDriverStyle = 'mlx5-roce' | 'mlx5-ib' | 'ice' | 'bnxt';

/** A recording always carries every IFLA_VF_STATS field, rx/tx dropped included. */
export type VfStatsRecord = Required<VfStats>;

export interface VfRecord {
  mac?: string;
  vlan?: number;
  qos?: number;
  linkState?: VfLinkState;
  trust?: boolean;
  spoofchk?: boolean;
  maxTxRate?: number;
  minTxRate?: number;
  nodeGuid?: string;
  portGuid?: string;
  stats?: Partial<VfStatsRecord>;
}

export interface LinkRecord {
  ifindex: number;
  ifname: string;
  /** The PF's PCI address (printed as parentdev by iproute2 5.15+). */
  parentDev?: string;
  style: VfDriverStyle;
  address: string;
  mtu: number;
  vfs: VfRecord[];
}

export const IB_VF_ADDRESS = '00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00';
const IB_BROADCAST = '00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:ff:ff:ff:ff';

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}

/** A deterministic VF MAC: 02:<pf tag>:00:00:<n>. */
export function vfMac(pfTag: number, n: number): string {
  return `02:${hex2(pfTag)}:${hex2(pfTag >> 8)}:00:${hex2(n >> 8)}:${hex2(n)}`;
}

export function vfGuid(pfTag: number, n: number, port = false): string {
  return `b8:ce:f6:${hex2(pfTag)}:00:${port ? '01' : '00'}:${hex2(n >> 8)}:${hex2(n)}`;
}

function defaultStats(seed: number): VfStatsRecord {
  const b = BigInt(seed + 1);
  return {
    rxBytes: 1_000_000n * b,
    rxPackets: 1_000n * b,
    txBytes: 2_000_000n * b,
    txPackets: 2_000n * b,
    multicast: 10n * b,
    broadcast: 3n * b,
    rxDropped: b - 1n,
    txDropped: 0n,
  };
}

/** One `vfinfo_list` entry, keys in print_vfinfo()'s order. */
export function vfInfoEntry(style: VfDriverStyle, n: number, vf: VfRecord, seed: number): Record<string, unknown> {
  const ib = style === 'mlx5-ib';
  const out: Record<string, unknown> = { vf: n, link_type: ib ? 'infiniband' : 'ether', address: ib ? IB_VF_ADDRESS : (vf.mac ?? vfMac(seed, n)) };
  out['broadcast'] = ib ? IB_BROADCAST : 'ff:ff:ff:ff:ff:ff';
  const vlan: Record<string, unknown> = {};
  if (vf.vlan !== undefined && vf.vlan !== 0) vlan['vlan'] = vf.vlan;
  if (vf.qos !== undefined && vf.qos !== 0) vlan['qos'] = vf.qos;
  out['vlan_list'] = [vlan];
  out['rate'] = { max_tx: vf.maxTxRate ?? 0, min_tx: vf.minTxRate ?? 0 };
  if (!ib) out['spoofchk'] = vf.spoofchk ?? style === 'ice';
  if (ib) {
    out['node guid'] = vf.nodeGuid ?? vfGuid(seed, n);
    out['port guid'] = vf.portGuid ?? vfGuid(seed, n, true);
  }
  out['link_state'] = vf.linkState ?? 'auto';
  if (!ib) out['trust'] = vf.trust ?? false;
  if (style === 'mlx5-roce' || style === 'ice') out['query_rss_en'] = false;
  const s: VfStatsRecord =
    style === 'bnxt'
      ? { rxBytes: 0n, rxPackets: 0n, txBytes: 0n, txPackets: 0n, multicast: 0n, broadcast: 0n, rxDropped: 0n, txDropped: 0n }
      : { ...defaultStats(seed * 1000 + n), ...vf.stats };
  out['stats'] = {
    rx: { bytes: s.rxBytes, packets: s.rxPackets, multicast: s.multicast, broadcast: s.broadcast, dropped: s.rxDropped },
    tx: { tx_bytes: s.txBytes, tx_packets: s.txPackets, dropped: s.txDropped },
  };
  return out;
}

/** One link of `ip -j -s -d link show`, keys in print_linkinfo()'s order. */
export function ipLinkEntry(link: LinkRecord, seed = link.ifindex): Record<string, unknown> {
  const ib = link.style === 'mlx5-ib';
  const out: Record<string, unknown> = {
    ifindex: link.ifindex,
    ifname: link.ifname,
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: link.mtu,
    qdisc: 'mq',
    operstate: 'UP',
    linkmode: 'DEFAULT',
    group: 'default',
    txqlen: ib ? 256 : 1000,
    link_type: ib ? 'infiniband' : 'ether',
    address: link.address,
    broadcast: ib ? IB_BROADCAST : 'ff:ff:ff:ff:ff:ff',
    promiscuity: 0,
    allmulti: 0,
    min_mtu: 68,
    max_mtu: ib ? 4092 : 9978,
  };
  if (ib) out['linkinfo'] = { info_kind: 'ipoib', info_data: { pkey: 65535, mode: 'datagram', umcast: 0 } };
  Object.assign(out, { inet6_addr_gen_mode: 'eui64', num_tx_queues: 64, num_rx_queues: 64, gso_max_size: 65536, gso_max_segs: 65535 });
  if (link.parentDev !== undefined) Object.assign(out, { parentbus: 'pci', parentdev: link.parentDev });
  out['stats64'] = {
    rx: { bytes: 987654321n, packets: 654321n, errors: 0, dropped: 0, over_errors: 0, multicast: 12 },
    tx: { bytes: 123456789n, packets: 123456n, errors: 0, dropped: 0, carrier_errors: 0, collisions: 0 },
  };
  out['vfinfo_list'] = link.vfs.map((vf, n) => vfInfoEntry(link.style, n, vf, seed));
  return out;
}

/** The whole answer: compact JSON as `ip -j` prints it (no -p), counters written exactly. */
export function ipLinkJson(entries: readonly Record<string, unknown>[]): string {
  const raw = (JSON as unknown as { rawJSON: (s: string) => unknown }).rawJSON;
  return JSON.stringify(entries, (_k, v: unknown) => (typeof v === 'bigint' ? raw(v.toString()) : v)) + '\n';
}

/** The loopback link every host lists first (no VF list). */
export const LOOPBACK_ENTRY: Record<string, unknown> = {
  ifindex: 1,
  ifname: 'lo',
  flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
  mtu: 65536,
  qdisc: 'noqueue',
  operstate: 'UNKNOWN',
  linkmode: 'DEFAULT',
  group: 'default',
  txqlen: 1000,
  link_type: 'loopback',
  address: '00:00:00:00:00:00',
  broadcast: '00:00:00:00:00:00',
};
