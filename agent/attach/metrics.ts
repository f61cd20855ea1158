// Metrics of step 11, per pod holding VFs (bounded by them): which interface of the pod is which VF on which rail,
// and how many of its VFs are allocated but not attached. Series only for pods railwatch could judge (read from the
// API server, network-status written or the re-reads spent): absent, never 0, where unknown.
import { writeExactFamilies, type ExactFamily, type ExactSample } from '../metrics/exposition.ts';
import type { AttachmentView } from './judge.ts';

export const POD_ATTACHMENT_INFO = 'railwatch_pod_attachment_info';
export const POD_VFS_NOT_ATTACHED = 'railwatch_pod_vfs_not_attached';

export function attachmentFamilies(view: AttachmentView | undefined): ExactFamily[] {
  const info: ExactSample[] = [];
  const notAttached: ExactSample[] = [];
  for (const p of view?.pods ?? []) {
    if (p.state !== 'judged') continue;
    for (const i of p.interfaces) {
      if (i.pci === undefined) continue;
      info.push({
        labels: { namespace: p.namespace, pod: p.pod, interface: i.interface ?? '', network: i.network, pci: i.pci, rail: i.rail === undefined ? '' : String(i.rail) },
        value: 1n,
      });
    }
    const missing = p.problems.filter((x) => x.check === 'pod-vfs-attached').length;
    notAttached.push({ labels: { namespace: p.namespace, pod: p.pod }, value: BigInt(missing) });
  }
  return [
    {
      name: POD_ATTACHMENT_INFO,
      type: 'gauge',
      help: 'An interface of a pod that is a VF, valued 1: interface (net1...), network (the NAD, namespace/name), pci (the VF PCI address, as in railwatch_vf_info), rail. From the pod\'s network-status.',
      samples: info,
    },
    {
      name: POD_VFS_NOT_ATTACHED,
      type: 'gauge',
      help: 'VFs the kubelet allocated to the pod that are not in its network-status (allocated, not attached).',
      samples: notAttached,
    },
  ];
}

const cache = new WeakMap<AttachmentView, string>();

/** The exposition text of the families, once per view. */
export function attachmentMetricsText(view: AttachmentView | undefined): string {
  if (view === undefined) return '';
  let text = cache.get(view);
  if (text === undefined) {
    text = writeExactFamilies(attachmentFamilies(view));
    cache.set(view, text);
  }
  return text;
}
