// Step 11: network attachments. For each pod holding VFs: its networks annotation names NADs that exist, each
// NAD names the resource the pod's VFs came from and holds a VF-carrying CNI plugin, and Multus's network-status
// lists every VF and every network. Needs the API server (agent/attach/fetcher.ts); standalone it skips.
// A problem here is a pod's, not the node's: results are warnings (the node stays ready for other pods) and each
// problem is also a Warning Event on the Pod (agent/attach/pod-events.ts).
import type { AttachmentCheckId, AttachmentView, PodAttachmentReport } from '../../attach/judge.ts';
import { VF_CNI_TYPES } from '../../attach/annotations.ts';
import type { CheckResult } from '../types.ts';
import { plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 11, slug: 'network-attachments' };

const READS = ['API: GET pods (annotations k8s.v1.cni.cncf.io/networks, network-status)', 'API: GET network-attachment-definitions', 'kubelet pod-resources: VFs per pod'];

export const POD_NETWORKS_DEFINED: CheckDefinition = {
  id: 'pod-networks-defined',
  title: 'Every network a pod asks for has a NetworkAttachmentDefinition',
  reads: READS,
  why: 'Multus fails the pod sandbox when a network in the k8s.v1.cni.cncf.io/networks annotation names no NetworkAttachmentDefinition, or when the annotation does not parse; the pod stays in ContainerCreating holding its VFs.',
  fix: 'Create the NetworkAttachmentDefinition in the namespace the annotation names (the pod\'s own when none is given), or fix the annotation: `ns/name@ifname` items separated by commas, or a JSON list of {"name", "namespace", "interface"}.',
};

export const NAD_RESOURCE_NAME: CheckDefinition = {
  id: 'nad-resource-name',
  title: 'Each NAD names the resource the pod\'s VFs came from',
  reads: READS,
  why: 'Multus gives the CNI plugin the VF of the resource in the NAD\'s k8s.v1.cni.cncf.io/resourceName annotation; without it, or with another rail\'s resource, the plugin gets no VF or one the pod was not allocated.',
  fix: 'Set k8s.v1.cni.cncf.io/resourceName on the NAD to the device-plugin resource of its rail (the one the pod requests, e.g. nvidia.com/rail3).',
};

export const NAD_VF_CNI: CheckDefinition = {
  id: 'nad-vf-cni',
  title: 'Each VF network\'s CNI config attaches a VF',
  reads: READS,
  why: `A NAD that names a VF resource needs a plugin that moves the VF into the pod (${VF_CNI_TYPES.join(', ')}), alone or first in a plugins list with rdma, tuning or IPAM; macvlan or ipvlan attach no VF and leave it idle.`,
  fix: 'Make spec.config a valid CNI config whose type (or a plugins[].type) is sriov (Ethernet/RoCE) or ib-sriov (InfiniBand).',
};

export const POD_VFS_ATTACHED: CheckDefinition = {
  id: 'pod-vfs-attached',
  title: 'Every VF allocated to a pod is attached',
  reads: READS,
  why: 'A VF the kubelet handed to a pod but that is not in its network-status ("the pod got the resource but net1 is missing") is lost to the pod and to every other pod until the pod ends.',
  fix: 'Ask for one network per VF resource the pod requests (networks annotation), each through a NAD naming that resource; check the Multus and sriov-cni logs on the node for the sandbox.',
};

export const POD_NETWORKS_ATTACHED: CheckDefinition = {
  id: 'pod-networks-attached',
  title: 'Every network a pod asks for is attached',
  reads: READS,
  why: 'A network asked for but missing from network-status means Multus did not attach it; the workload runs without that rail.',
  fix: 'Check the NAD and the Multus logs on the node; delete the pod once the cause is fixed so its sandbox is created again.',
};

const CHECKS: readonly CheckDefinition[] = [POD_NETWORKS_DEFINED, NAD_RESOURCE_NAME, NAD_VF_CNI, POD_VFS_ATTACHED, POD_NETWORKS_ATTACHED];

function podName(p: PodAttachmentReport): string {
  return `${p.namespace}/${p.pod}`;
}

function judgeCheck(def: CheckDefinition, view: AttachmentView): CheckResult {
  const r = resultsFor(STEP);
  const judged = view.pods.filter((p) => p.state === 'judged');
  const waiting = view.pods.filter((p) => p.state !== 'judged').map((p) => `${podName(p)}: ${p.why ?? p.state}`);
  if (judged.length === 0) {
    if (view.pods.length === 0) return r.skip(def, 'no pod holds a VF');
    return r.skip(def, `no pod could be judged yet (${plural(view.pods.length, 'pod')} holding VFs)`, { details: waiting });
  }
  const problems = judged.flatMap((p) => p.problems.filter((x) => x.check === (def.id as AttachmentCheckId)).map((x) => `${podName(p)}: ${x.message}`));
  const tail = waiting.length > 0 ? `; ${plural(waiting.length, 'pod')} not judged yet` : '';
  if (problems.length > 0) {
    const pods = new Set(judged.filter((p) => p.problems.some((x) => x.check === def.id)).map(podName));
    return r.warn(def, `${plural(pods.size, 'pod')} of ${judged.length}: ${problems[0]!.replace(/^[^:]+: /, '')}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}${tail}`, {
      details: [...problems, ...waiting],
    });
  }
  const what: Record<string, string> = {
    'pod-networks-defined': 'every requested network has a NAD',
    'nad-resource-name': 'every VF network names the pod\'s resource',
    'nad-vf-cni': 'every VF network holds a VF plugin',
    'pod-vfs-attached': 'every allocated VF is attached',
    'pod-networks-attached': 'every requested network is attached',
  };
  const details =
    def.id === 'pod-vfs-attached'
      ? judged.flatMap((p) => p.interfaces.filter((i) => i.pci !== undefined).map((i) => `${podName(p)}: ${i.interface ?? '?'} -> ${i.pci} (${i.rail === undefined ? 'no rail' : `rail ${i.rail}`})`))
      : [];
  return r.pass(def, `${plural(judged.length, 'pod')}: ${what[def.id]}${tail}`, { details: [...details, ...waiting] });
}

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const view = input.attachments;
  if (view === undefined || view.skipped !== undefined) {
    const why = view?.skipped ?? 'pod attachments not gathered';
    return CHECKS.map((c) => r.skip(c, why));
  }
  return CHECKS.map((c) => judgeCheck(c, view));
}

export const networkAttachmentsStep: Step = { ...STEP, title: 'Network attachments', checks: CHECKS, run };
