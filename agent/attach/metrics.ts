// Metrics of step 11, per pod holding VFs (bounded by them): which interface of the pod is which VF on which rail,
// and how many of its VFs are allocated but not attached. Series only for pods railwatch could judge (read from the
// API server, network-status written or the re-reads spent): absent, never 0, where unknown.
import { writeFamilies, type MetricFamily } from '../metrics/exposition.ts';
import type { AttachmentView, PodAttachmentReport } from './judge.ts';

export const POD_ATTACHMENT_INFO = 'railwatch_pod_attachment_info';
export const POD_VFS_NOT_ATTACHED = 'railwatch_pod_vfs_not_attached';

function judged(view: AttachmentView | undefined): PodAttachmentReport[] {
  return (view?.pods ?? []).filter((p) => p.state === 'judged');
}

export const ATTACHMENT_FAMILIES: readonly MetricFamily<AttachmentView | undefined>[] = [
  {
    name: POD_ATTACHMENT_INFO,
    type: 'gauge',
    help: "An interface of a pod that is a VF, valued 1: interface (net1...), network (the NAD, namespace/name), pci (the VF PCI address, as in railwatch_vf_info), rail. From the pod's network-status.",
    labels: ['namespace', 'pod', 'interface', 'network', 'pci', 'rail'],
    *collect(view) {
      for (const p of judged(view)) {
        for (const i of p.interfaces) {
          if (i.pci === undefined) continue;
          yield { labels: [p.namespace, p.pod, i.interface ?? '', i.network, i.pci, i.rail === undefined ? '' : String(i.rail)], value: 1 };
        }
      }
    },
  },
  {
    name: POD_VFS_NOT_ATTACHED,
    type: 'gauge',
    help: 'VFs the kubelet allocated to the pod that are not in its network-status (allocated, not attached).',
    labels: ['namespace', 'pod'],
    *collect(view) {
      for (const p of judged(view)) yield { labels: [p.namespace, p.pod], value: p.problems.filter((x) => x.check === 'pod-vfs-attached').length };
    },
  },
];

const cache = new WeakMap<AttachmentView, string>();

/** The exposition text of the families, once per view. */
export function attachmentMetricsText(view: AttachmentView | undefined): string {
  if (view === undefined) return '';
  let text = cache.get(view);
  if (text === undefined) {
    text = writeFamilies(ATTACHMENT_FAMILIES, view);
    cache.set(view, text);
  }
  return text;
}
