// Step 9: CNI. Multus configured in the CNI config directory, the sriov CNI binary in the CNI bin directory.
import type { CheckResult } from '../types.ts';
import type { DirProbe } from '../probe.ts';
import { listText, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 9, slug: 'cni' };

export const CNI_MULTUS: CheckDefinition = {
  id: 'cni-multus',
  title: 'Multus configured',
  reads: ['<cni.confDir> (default /etc/cni/net.d): file names and conf/conflist JSON', 'config: cni.confDir'],
  why: 'VFs are attached to pods as secondary networks through Multus; without it the NetworkAttachmentDefinition annotations are ignored and pods get only the primary network.',
  fix: 'Install Multus (the thick-plugin DaemonSet of k8snetworkplumbingwg/multus-cni, or through the network operator) so it writes its config (00-multus.conf) into the CNI config directory.',
};

export const CNI_SRIOV: CheckDefinition = {
  id: 'cni-sriov',
  title: 'sriov CNI binary present',
  reads: ['<cni.binDir>/sriov, <cni.binDir>/ib-sriov (default /opt/cni/bin)', 'config: cni.binDir'],
  why: 'Multus calls the sriov (or ib-sriov for InfiniBand) CNI plugin to move a VF into the pod and configure it; a missing binary fails every pod sandbox that asks for a VF.',
  fix: 'Deploy the sriov-cni DaemonSet (or ib-sriov-cni for InfiniBand) so it copies its binary into the CNI bin directory, or fix cni.binDir in the config.',
};

function absentReason(probe: DirProbe, what: string): string {
  const why = probe.code === 'ENOENT' || probe.code === 'ENOTDIR' ? 'not found' : `not readable (${probe.code ?? 'unknown'})`;
  return `CNI ${what} directory ${probe.dir} ${why}: not on a kubelet node or not mounted`;
}

function multus(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const probe = input.probes.cniConf;
  if (probe.entries === undefined) return r.skip(CNI_MULTUS, absentReason(probe, 'config'));
  if (input.snapshot.rails.length === 0) return r.skip(CNI_MULTUS, 'no rails: no VF to attach');
  if (probe.multus.length > 0) return r.pass(CNI_MULTUS, `Multus configured in ${probe.dir}: ${listText(probe.multus)}`);
  return r.fail(CNI_MULTUS, `no Multus configuration in ${probe.dir}`, {
    details: [probe.entries.length > 0 ? `entries: ${listText(probe.entries)}` : 'the directory is empty'],
  });
}

function sriov(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const probe = input.probes.cniBin;
  if (probe.entries === undefined) return r.skip(CNI_SRIOV, absentReason(probe, 'bin'));
  if (input.snapshot.rails.length === 0) return r.skip(CNI_SRIOV, 'no rails: no VF to attach');
  const found = probe.entries.filter((e) => e === 'sriov' || e === 'ib-sriov');
  if (found.length > 0) return r.pass(CNI_SRIOV, `${found.join(' and ')} CNI in ${probe.dir}`);
  return r.fail(CNI_SRIOV, `no sriov CNI binary in ${probe.dir}`, {
    details: [probe.entries.length > 0 ? `binaries: ${listText(probe.entries, 12)}` : 'the directory is empty'],
  });
}

function run(input: CheckInput): CheckResult[] {
  return [multus(input), sriov(input)];
}

export const cniStep: Step = { ...STEP, title: 'CNI', checks: [CNI_MULTUS, CNI_SRIOV], run };
