// Step 5: NIC driver and VFs. Each rail PF bound to its driver, SR-IOV enabled with the desired number of VFs,
// every VF PCI function present and bound, and VF netdevs in the host namespace unless allocated to pods.
import { isUserspaceVfDriver } from '../../topology/vf-drivers.ts';
import type { Pf, Vf } from '../../model.ts';
import type { CheckResult } from '../types.ts';
import { VF_ADMIN_CHECKS, vfAdminResults } from './vf-admin.ts';
import { failedScanner, listText, plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 5, slug: 'nic-vfs' };

export const PF_DRIVER: CheckDefinition = {
  id: 'pf-driver',
  title: 'Rail PF bound to its driver',
  reads: ['/sys/bus/pci/devices/<pf>/driver'],
  why: 'An unbound PF has no netdev, no RDMA device and no sriov_numvfs to write: everything below it in the chain is missing.',
  fix: 'Load the NIC driver (modprobe mlx5_core / bnxt_en / ice) or bind the PF: echo <pci> > /sys/bus/pci/drivers/<driver>/bind; check dmesg for firmware or probe errors.',
};

export const SRIOV_ENABLED: CheckDefinition = {
  id: 'sriov-enabled',
  title: 'SR-IOV enabled on rail PFs',
  reads: ['/sys/bus/pci/devices/<pf>/sriov_totalvfs', '/sys/bus/pci/devices/<pf>/sriov_numvfs', 'config: desiredVfs'],
  why: 'With sriov_numvfs at 0 there are no VFs for the device plugin to advertise, so pods requesting RDMA VFs never schedule.',
  fix:
    'Create VFs: echo N > /sys/class/net/<pf>/device/sriov_numvfs, made persistent by the SR-IOV network operator or a boot-time unit. ' +
    'If sriov_totalvfs is 0 enable SR-IOV in the NIC firmware (mlxconfig -d <pci> set SRIOV_EN=1 NUM_OF_VFS=N) and in the BIOS. ' +
    'Set desiredVfs to 0 for rails used without SR-IOV.',
};

export const VFS_DESIRED: CheckDefinition = {
  id: 'vfs-desired',
  title: 'VF count equals the desired count',
  reads: ['/sys/bus/pci/devices/<pf>/sriov_numvfs', '/sys/bus/pci/devices/<pf>/sriov_totalvfs', 'config: desiredVfs'],
  why: 'A PF with fewer VFs than planned silently shrinks the node\'s allocatable RDMA resources; more than planned usually means a second tool is managing the PF.',
  fix: 'Set the count: echo 0 > sriov_numvfs, then echo N > sriov_numvfs (the kernel refuses to change a non-zero count directly); N must not exceed sriov_totalvfs (raise NUM_OF_VFS in the firmware).',
};

export const VF_FUNCTIONS_PRESENT: CheckDefinition = {
  id: 'vf-functions-present',
  title: 'Every VF PCI function present',
  reads: ['/sys/bus/pci/devices/<pf>/sriov_numvfs', '/sys/bus/pci/devices/<pf>/virtfn*'],
  why: 'sriov_numvfs can report VFs whose PCI functions never appeared (MMIO or bus numbers exhausted) or were removed; the device plugin then advertises fewer devices than expected.',
  fix:
    'Check dmesg for "not enough MMIO resources for SR-IOV" or bus-number errors: enable SR-IOV and above-4G decoding in the BIOS or boot with pci=realloc; ' +
    'then recreate the VFs (echo 0, then echo N > sriov_numvfs).',
};

export const VF_DRIVERS_BOUND: CheckDefinition = {
  id: 'vf-drivers-bound',
  title: 'Every VF bound to a driver',
  reads: ['/sys/bus/pci/devices/<vf>/driver'],
  why: 'An unbound VF has neither a netdev nor a vfio device node, so neither the netdevice nor the vfio flavour of the device plugin can hand it out.',
  fix: 'Bind the VF: echo <vf> > /sys/bus/pci/drivers_probe (or drivers/<driver>/bind for vfio-pci); keep sriov_drivers_autoprobe at 1 or let the SR-IOV operator bind them.',
};

export const VF_NETDEVS_VISIBLE: CheckDefinition = {
  id: 'vf-netdevs-visible',
  title: 'VF netdevs visible unless allocated to pods',
  reads: ['/sys/class/net', '/sys/bus/pci/devices/<vf>/net', 'kubelet PodResources API (allocations)'],
  why:
    'The classic "SR-IOV looks configured but the VFs don\'t appear in /sys/class/net": a VF with a kernel driver but no netdev in the host namespace ' +
    'and no pod owning it is lost to the device plugin (typically a network namespace leaked by a pod that did not tear down).',
  fix:
    'Find where the netdev went: ip netns / lsns -t net and ip -n <ns> link for leaked namespaces of deleted pods; move it back (ip -n <ns> link set <dev> netns 1) ' +
    'or unbind and rebind the VF driver; check dmesg for VF probe errors.',
};

interface Judged {
  pf: Pf;
  name: string;
  desired?: number;
}

/** Rail PFs plus any PF given a desired VF count by the config. */
function judgedPfs(input: CheckInput): Judged[] {
  const out: Judged[] = [];
  for (const view of input.pfs) {
    if (view.rail === undefined && view.desiredVfs === undefined) continue;
    const j: Judged = { pf: view.pf, name: view.name };
    if (view.desiredVfs !== undefined) j.desired = view.desiredVfs;
    out.push(j);
  }
  return out;
}

function pfDriver(pfs: Judged[]): CheckResult {
  const r = resultsFor(STEP);
  const unbound = pfs.filter((j) => j.pf.driver === undefined);
  if (unbound.length > 0) {
    return r.fail(PF_DRIVER, `${unbound.length} of ${plural(pfs.length, 'rail PF')} have no driver bound`, {
      details: unbound.map((j) => `${j.pf.pci} (vendor ${j.pf.vendor ?? '?'} device ${j.pf.device ?? '?'}): no driver`),
    });
  }
  const drivers = [...new Set(pfs.map((j) => j.pf.driver ?? ''))];
  return r.pass(PF_DRIVER, `${plural(pfs.length, 'rail PF')} bound (${drivers.join(', ')})`);
}

function sriovEnabled(pfs: Judged[]): CheckResult {
  const r = resultsFor(STEP);
  const problems: string[] = [];
  const unknown: string[] = [];
  let enabled = 0;
  let optedOut = 0;
  for (const j of pfs) {
    if (j.desired === 0) {
      optedOut++;
      continue;
    }
    if (!j.pf.sriovCapable) problems.push(`${j.name}: not SR-IOV capable (no sriov_totalvfs)`);
    else if (j.pf.totalVfs === 0) problems.push(`${j.name}: sriov_totalvfs is 0 (SR-IOV disabled in the NIC firmware)`);
    else if (j.pf.numVfs === undefined) unknown.push(`${j.name}: sriov_numvfs unreadable`);
    else if (j.pf.numVfs === 0) problems.push(`${j.name}: sriov_numvfs is 0 (of ${j.pf.totalVfs})`);
    else enabled++;
  }
  const considered = pfs.length - optedOut;
  if (considered === 0) return r.pass(SRIOV_ENABLED, `desiredVfs is 0 for all ${plural(pfs.length, 'rail PF')}`);
  if (problems.length > 0) {
    return r.fail(SRIOV_ENABLED, `SR-IOV not enabled on ${problems.length} of ${plural(considered, 'rail PF')}`, { details: [...problems, ...unknown] });
  }
  if (unknown.length > 0) return r.warn(SRIOV_ENABLED, `sriov_numvfs unreadable on ${plural(unknown.length, 'PF')}`, { details: unknown });
  return r.pass(SRIOV_ENABLED, `SR-IOV enabled on ${plural(enabled, 'rail PF')}`);
}

function vfsDesired(pfs: Judged[]): CheckResult {
  const r = resultsFor(STEP);
  const withDesired = pfs.filter((j) => j.desired !== undefined);
  if (withDesired.length === 0) return r.skip(VFS_DESIRED, 'no desired VF count in the config (desiredVfs)');
  const off: string[] = [];
  for (const j of withDesired) {
    const have = j.pf.numVfs;
    if (have === j.desired) continue;
    let line = `${j.name}: sriov_numvfs ${have ?? 'unreadable'}, desired ${j.desired}`;
    if (j.desired !== undefined && j.desired > j.pf.totalVfs) line += ` (exceeds sriov_totalvfs ${j.pf.totalVfs})`;
    off.push(line);
  }
  if (off.length > 0) {
    return r.fail(VFS_DESIRED, `${off.length} of ${plural(withDesired.length, 'PF')} not at the desired VF count`, { details: off });
  }
  const counts = [...new Set(withDesired.map((j) => j.desired))].join('/');
  return r.pass(VFS_DESIRED, `${plural(withDesired.length, 'PF')} at the desired VF count (${counts})`);
}

function vfFunctionsPresent(pfs: Judged[]): CheckResult {
  const r = resultsFor(STEP);
  const withVfs = pfs.filter((j) => (j.pf.numVfs ?? 0) > 0 || j.pf.vfs.length > 0 || j.pf.vfLinksDangling > 0);
  if (withVfs.length === 0) return r.skip(VF_FUNCTIONS_PRESENT, 'no VFs configured on any rail PF');
  const bad: string[] = [];
  let total = 0;
  for (const j of withVfs) {
    total += j.pf.numVfs ?? 0;
    if (j.pf.numVfs !== undefined && j.pf.vfs.length === j.pf.numVfs && j.pf.vfLinksDangling === 0) continue;
    let line = `${j.name}: sriov_numvfs ${j.pf.numVfs ?? 'unreadable'}, ${plural(j.pf.vfs.length, 'VF function')} present`;
    if (j.pf.vfLinksDangling > 0) line += `, ${plural(j.pf.vfLinksDangling, 'dangling virtfn link')}`;
    bad.push(line);
  }
  if (bad.length > 0) return r.fail(VF_FUNCTIONS_PRESENT, `VF PCI functions missing on ${plural(bad.length, 'PF')}`, { details: bad });
  return r.pass(VF_FUNCTIONS_PRESENT, `all ${plural(total, 'VF')} present as PCI functions`);
}

function allVfs(pfs: Judged[]): { j: Judged; vf: Vf }[] {
  return pfs.flatMap((j) => j.pf.vfs.map((vf) => ({ j, vf })));
}

function vfDriversBound(pfs: Judged[]): CheckResult {
  const r = resultsFor(STEP);
  const vfs = allVfs(pfs);
  if (vfs.length === 0) return r.skip(VF_DRIVERS_BOUND, 'no VF functions on any rail PF');
  const unbound = vfs.filter(({ vf }) => vf.driver === undefined);
  if (unbound.length > 0) {
    return r.fail(VF_DRIVERS_BOUND, `${unbound.length} of ${plural(vfs.length, 'VF')} have no driver bound`, {
      details: unbound.map(({ j, vf }) => `${vf.pci} (vf${vf.index} of ${j.name}): no driver`),
    });
  }
  const byDriver = new Map<string, number>();
  for (const { vf } of vfs) byDriver.set(vf.driver ?? '', (byDriver.get(vf.driver ?? '') ?? 0) + 1);
  const text = [...byDriver].map(([d, n]) => `${d} ${n}`).join(', ');
  return r.pass(VF_DRIVERS_BOUND, `all ${plural(vfs.length, 'VF')} bound (${text})`);
}

function vfNetdevsVisible(input: CheckInput, pfs: Judged[]): CheckResult {
  const r = resultsFor(STEP);
  const vfs = allVfs(pfs);
  if (vfs.length === 0) return r.skip(VF_NETDEVS_VISIBLE, 'no VF functions on any rail PF');
  const vfio = vfs.filter(({ vf }) => isUserspaceVfDriver(vf.driver)).length;
  const inHost = vfs.filter(({ vf }) => vf.netdev !== undefined).length;
  // a VF with a kernel network driver should have a netdev; VFs on a user-space driver (vfio-pci, uio) and unbound
  // VFs have none by design, nor do the VFs of a PF that itself has no netdev (an InfiniBand PF without ib_ipoib)
  const missing = vfs.filter(
    ({ j, vf }) => vf.netdev === undefined && vf.driver !== undefined && !isUserspaceVfDriver(vf.driver) && j.pf.netdev !== undefined,
  );
  const allocations = input.allocation.allocations;
  if (allocations === undefined) {
    if (missing.length === 0) {
      return r.pass(VF_NETDEVS_VISIBLE, `${plural(vfs.length, 'VF')}: ${inHost} netdevs in the host namespace, ${vfio} on user-space drivers`);
    }
    const why = input.allocation.error ?? 'kubelet not queried';
    return r.warn(
      VF_NETDEVS_VISIBLE,
      `${missing.length} of ${plural(vfs.length, 'VF')} have no netdev in the host namespace; allocation could not be checked (${why})`,
      {
        remediation:
          'Check which pods use these VFs (railwatch serve asks the kubelet pod-resources API; or kubectl get pods -o wide on this node). ' +
          'For a VF that no pod owns: ' +
          VF_NETDEVS_VISIBLE.fix,
        details: missing.map(({ j, vf }) => `${vf.pci} (vf${vf.index} of ${j.name}, driver ${vf.driver}): no netdev`),
      },
    );
  }
  const owners = input.vfOwners ?? new Map();
  const inPods = missing.filter(({ vf }) => owners.has(vf.pci));
  const lost = missing.filter(({ vf }) => !owners.has(vf.pci));
  const summary = `${plural(vfs.length, 'VF')}: ${inHost} netdevs in the host namespace, ${inPods.length} allocated to pods, ${vfio} on user-space drivers`;
  if (lost.length > 0) {
    return r.fail(VF_NETDEVS_VISIBLE, `${lost.length} VF netdevs missing from /sys/class/net and not allocated to any pod (${summary})`, {
      details: lost.map(({ j, vf }) => `${vf.pci} (vf${vf.index} of ${j.name}, driver ${vf.driver}): no netdev, no owner`),
    });
  }
  const pods = inPods.map(({ vf }) => {
    const o = owners.get(vf.pci);
    return `${vf.pci} -> ${o?.namespace}/${o?.pod}`;
  });
  return r.pass(VF_NETDEVS_VISIBLE, summary, { details: pods.length > 0 ? [`allocated to pods: ${listText(pods)}`] : [] });
}

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const all = [PF_DRIVER, SRIOV_ENABLED, VFS_DESIRED, VF_FUNCTIONS_PRESENT, VF_DRIVERS_BOUND, VF_NETDEVS_VISIBLE, ...VF_ADMIN_CHECKS];
  const failed = failedScanner(input, 'pci', 'sriov', 'net');
  if (failed) return all.map((d) => r.skip(d, `the ${failed} scanner failed: PFs and VFs unknown`));
  const pfs = judgedPfs(input);
  if (pfs.length === 0) return all.map((d) => r.skip(d, 'no rails: no RDMA-capable PF and no PF with a desired VF count'));
  return [
    pfDriver(pfs),
    sriovEnabled(pfs),
    vfsDesired(pfs),
    vfFunctionsPresent(pfs),
    vfDriversBound(pfs),
    vfNetdevsVisible(input, pfs),
    ...vfAdminResults(input, pfs.map((j) => j.pf)),
  ];
}

export const nicVfsStep: Step = {
  ...STEP,
  title: 'NIC driver and VFs',
  checks: [PF_DRIVER, SRIOV_ENABLED, VFS_DESIRED, VF_FUNCTIONS_PRESENT, VF_DRIVERS_BOUND, VF_NETDEVS_VISIBLE, ...VF_ADMIN_CHECKS],
  run,
};
