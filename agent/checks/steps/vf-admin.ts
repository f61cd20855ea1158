// Step 5 (NIC driver and VFs), the VF as the kernel sees it: admin link state and InfiniBand GUIDs of the VFs pods
// hold, and MAC addresses unique per PF, from the PFs' netlink VF lists. They sit in step 5 because they are VF
// configuration on the PF (set with `ip link set <pf> vf N ...` or by the SR-IOV operator), judged with the VFs.
import { isZeroAddress, type VfAdmin } from '../../netlink/vf-view.ts';
import type { Pf } from '../../model.ts';
import type { CheckResult } from '../types.ts';
import { listText, plural, resultsFor, type CheckDefinition, type CheckInput } from '../step.ts';

const STEP = { step: 5, slug: 'nic-vfs' };

const READS = ['PF netlink VF list (IFLA_VFINFO_LIST: ip -j -s -d link show)', 'kubelet PodResources API (allocations)'];

export const VF_LINK_STATE: CheckDefinition = {
  id: 'vf-link-state',
  title: 'No VF held by a pod is administratively disabled',
  reads: READS,
  why:
    'A VF whose link-state is `disable` never gets carrier: the pod sees its interface DOWN (RDMA port DOWN) however healthy the PF and the fabric are. ' +
    'It is typically left from a test or set by a CNI config with link_state disable.',
  fix: 'ip link set <pf> vf <N> state auto (or enable); check the sriov CNI config (link_state) and the SR-IOV operator policy that set it.',
};

export const VF_IB_GUID: CheckDefinition = {
  id: 'vf-ib-guid',
  title: 'InfiniBand VFs held by pods have node and port GUIDs',
  reads: READS,
  why:
    'An InfiniBand VF with a zero node or port GUID is not addressable on the fabric: the subnet manager gives it no usable port and RDMA over it fails. ' +
    'The GUIDs are set per VF by the ib-sriov CNI (from the NAD or the pod annotation) or by the SR-IOV operator.',
  fix: 'Set them: ip link set <pf> vf <N> node_guid <guid> port_guid <guid> (unique per VF), or give the ib-sriov CNI a guid; then re-bind the VF driver so the port re-registers with the subnet manager.',
};

export const VF_MAC_UNIQUE: CheckDefinition = {
  id: 'vf-mac-unique',
  title: 'VF MAC addresses unique on each PF',
  reads: ['PF netlink VF list (IFLA_VFINFO_LIST: ip -j -s -d link show)'],
  why: 'Two VFs of one PF with the same MAC confuse the NIC\'s embedded switch: traffic for one pod reaches the other, or neither, and RoCE GIDs collide.',
  fix: 'Give each VF its own MAC (ip link set <pf> vf <N> mac <mac>, or let the sriov CNI assign one); find who set the duplicate (a static MAC in a NAD used by two pods).',
};

export const VF_ADMIN_CHECKS: readonly CheckDefinition[] = [VF_LINK_STATE, VF_IB_GUID, VF_MAC_UNIQUE];

function pfName(pf: Pf): string {
  return pf.netdev ?? pf.pci;
}

function who(a: VfAdmin): string {
  return `${a.vf.pci} (vf${a.vf.index} of ${pfName(a.pf)})`;
}

function isIb(a: VfAdmin): boolean {
  return a.link.linkType === 'infiniband' || (a.link.linkType === undefined && a.pf.linkLayer === 'InfiniBand');
}

/** The three checks; `judged` are the PFs step 5 judges (rail PFs and PFs with a desired VF count). */
export function vfAdminResults(input: CheckInput, judged: readonly Pf[]): CheckResult[] {
  const r = resultsFor(STEP);
  const reading = input.vfInfo;
  if (reading === undefined) return VF_ADMIN_CHECKS.map((d) => r.skip(d, 'the PFs\' netlink VF lists were not read'));
  if (reading.notRead !== undefined) return VF_ADMIN_CHECKS.map((d) => r.skip(d, `the PFs' netlink VF lists were not read: ${reading.notRead}`));
  if (reading.error !== undefined) return VF_ADMIN_CHECKS.map((d) => r.skip(d, `the PFs' netlink VF lists could not be read (${reading.error})`));
  const pfs = new Set(judged);
  const admins = [...input.vfAdmin.byPci.values()].filter((a) => pfs.has(a.pf));
  if (admins.length === 0) {
    const why = judged.some((pf) => pf.vfs.length > 0) ? 'no rail PF netdev lists its VFs (no netdev in this namespace, or the driver lists none)' : 'no VFs on any rail PF';
    return VF_ADMIN_CHECKS.map((d) => r.skip(d, why));
  }
  const owners = input.vfOwners;
  const heldBy = (a: VfAdmin) => {
    const o = owners?.get(a.vf.pci);
    return o === undefined ? undefined : `${o.namespace}/${o.pod}`;
  };
  return [linkState(admins, owners !== undefined, heldBy, input.allocation.error), ibGuids(admins, owners !== undefined, heldBy, input.allocation.error), macUnique(admins)];
}

type HeldBy = (a: VfAdmin) => string | undefined;

function linkState(admins: VfAdmin[], known: boolean, heldBy: HeldBy, why: string | undefined): CheckResult {
  const r = resultsFor(STEP);
  const disabled = admins.filter((a) => a.link.linkState === 'disable');
  if (!known) {
    if (disabled.length === 0) return r.pass(VF_LINK_STATE, `no VF is link-state disable (${plural(admins.length, 'VF')} listed)`);
    return r.warn(VF_LINK_STATE, `${plural(disabled.length, 'VF')} link-state disable; whether pods hold them is unknown (${why ?? 'kubelet not queried'})`, {
      details: disabled.map((a) => `${who(a)}: link-state disable`),
    });
  }
  const held = disabled.filter((a) => heldBy(a) !== undefined);
  if (held.length > 0) {
    return r.fail(VF_LINK_STATE, `${plural(held.length, 'VF')} held by pods ${held.length === 1 ? 'is' : 'are'} link-state disable`, {
      details: held.map((a) => `${who(a)}: link-state disable, held by ${heldBy(a)}`),
    });
  }
  const idle = disabled.length > 0 ? `; ${disabled.length} idle VF(s) disabled: ${listText(disabled.map(who), 4)}` : '';
  return r.pass(VF_LINK_STATE, `no VF held by a pod is link-state disable${idle}`);
}

function ibGuids(admins: VfAdmin[], known: boolean, heldBy: HeldBy, why: string | undefined): CheckResult {
  const r = resultsFor(STEP);
  const ib = admins.filter(isIb);
  if (ib.length === 0) return r.skip(VF_IB_GUID, 'no InfiniBand VFs');
  const bad = (a: VfAdmin) => {
    const zero = [isZeroAddress(a.link.nodeGuid) ? 'node GUID' : undefined, isZeroAddress(a.link.portGuid) ? 'port GUID' : undefined].filter((x) => x !== undefined);
    return zero.length === 0 ? undefined : `${zero.join(' and ')} zero`;
  };
  const noGuid = ib.filter((a) => a.link.nodeGuid === undefined && a.link.portGuid === undefined).length;
  if (noGuid === ib.length) return r.skip(VF_IB_GUID, `the kernel or iproute2 reports no VF GUIDs (Linux 5.6+ and iproute2 5.5+ do) for ${plural(ib.length, 'InfiniBand VF')}`);
  const zero = ib.filter((a) => bad(a) !== undefined);
  if (!known) {
    if (zero.length === 0) return r.pass(VF_IB_GUID, `${plural(ib.length, 'InfiniBand VF')}, all with node and port GUIDs`);
    return r.warn(VF_IB_GUID, `${plural(zero.length, 'InfiniBand VF')} with a zero GUID; whether pods hold them is unknown (${why ?? 'kubelet not queried'})`, {
      details: zero.map((a) => `${who(a)}: ${bad(a)}`),
    });
  }
  const held = zero.filter((a) => heldBy(a) !== undefined);
  if (held.length > 0) {
    return r.fail(VF_IB_GUID, `${plural(held.length, 'InfiniBand VF')} held by pods with a zero GUID`, {
      details: held.map((a) => `${who(a)}: ${bad(a)}, held by ${heldBy(a)}`),
    });
  }
  const heldCount = ib.filter((a) => heldBy(a) !== undefined).length;
  return r.pass(VF_IB_GUID, `${plural(heldCount, 'InfiniBand VF')} held by pods, all with node and port GUIDs (${zero.length} idle VF(s) without)`);
}

function macUnique(admins: VfAdmin[]): CheckResult {
  const r = resultsFor(STEP);
  const eth = admins.filter((a) => !isIb(a) && a.link.mac !== undefined && !isZeroAddress(a.link.mac));
  if (eth.length === 0) return r.skip(VF_MAC_UNIQUE, 'no Ethernet VF with a MAC set');
  const groups = new Map<string, VfAdmin[]>();
  for (const a of eth) {
    const key = `${a.pf.pci}\t${a.link.mac}`;
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  const dups = [...groups.values()].filter((g) => g.length > 1);
  if (dups.length > 0) {
    return r.fail(VF_MAC_UNIQUE, `${plural(dups.length, 'MAC')} shared by several VFs of one PF`, {
      details: dups.map((g) => `${pfName(g[0]!.pf)}: ${g[0]!.link.mac} on ${g.map((a) => `vf${a.vf.index}`).join(', ')}`),
    });
  }
  return r.pass(VF_MAC_UNIQUE, `${plural(eth.length, 'VF MAC')} set, unique on each PF`);
}
