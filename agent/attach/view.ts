// The pods that hold VFs (kubelet allocation x snapshot) and the AttachmentView of step 11 built from what the
// fetcher has read.
import type { AllocationView } from '../state.ts';
import type { NodeView } from '../view/derive.ts';
import type { AttachmentFetcher, PodKey } from './fetcher.ts';
import { judgePod, type AttachmentView, type PodVf } from './judge.ts';
import { compareText } from '../parse/values.ts';

export interface PodVfs extends PodKey {
  vfs: PodVf[];
}

/** Pods holding VFs of the node's PFs (NodeView.vfOwners), sorted by namespace and name, their VFs by PCI address. */
export function podsWithVfs(view: Pick<NodeView, 'vfOwners' | 'vfByPci' | 'pfByPci'>): PodVfs[] {
  if (view.vfOwners === undefined) return [];
  const byPod = new Map<string, PodVfs>();
  for (const [pci, o] of view.vfOwners) {
    const key = `${o.namespace}/${o.pod}`;
    let p = byPod.get(key);
    if (p === undefined) {
      p = { namespace: o.namespace, name: o.pod, vfs: [] };
      byPod.set(key, p);
    }
    const pf = view.pfByPci.get(view.vfByPci.get(pci)?.pfPci ?? '');
    const vf: PodVf = { pci, resourceName: o.resourceName, pf: pf?.name ?? '' };
    if (pf?.pf.rail !== undefined) vf.rail = pf.pf.rail;
    p.vfs.push(vf);
  }
  const out = [...byPod.values()].sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
  for (const p of out) p.vfs.sort((a, b) => compareText(a.pci, b.pci));
  return out;
}

/** Why step 11 cannot run on this observation, if it cannot. */
export function attachmentSkip(kubeSkip: string | undefined, allocation: AllocationView): string | undefined {
  if (kubeSkip !== undefined) return kubeSkip;
  if (allocation.allocations === undefined) return `VF allocations unknown (kubelet pod-resources: ${allocation.error ?? 'not asked'})`;
  return undefined;
}

/** Judges every pod holding VFs from the fetcher's reads (call fetcher.sync first). */
export function attachmentView(view: NodeView, fetcher: AttachmentFetcher | undefined, kubeSkip: string | undefined): AttachmentView {
  const skipped = attachmentSkip(fetcher === undefined ? (kubeSkip ?? 'no API access') : kubeSkip, view.allocation);
  if (skipped !== undefined || fetcher === undefined) return { skipped: skipped ?? 'no API access', pods: [] };
  const railOf = (pci: string) => view.pfByPci.get(view.vfByPci.get(pci)?.pfPci ?? '')?.pf.rail;
  return {
    pods: podsWithVfs(view).map((p) =>
      judgePod({
        namespace: p.namespace,
        name: p.name,
        vfs: p.vfs,
        pod: fetcher.pod(p.namespace, p.name),
        nad: (ns, name) => fetcher.nad(ns, name),
        railOf,
      }),
    ),
  };
}
