// The pods that hold VFs (kubelet allocation x snapshot) and the AttachmentView of step 11 built from what the
// fetcher has read.
import type { NodeSnapshot } from '../model.ts';
import type { AllocationView } from '../state.ts';
import { vfOwners } from '../topology/vf-owners.ts';
import type { AttachmentFetcher, PodKey } from './fetcher.ts';
import { judgePod, type AttachmentView, type PodVf } from './judge.ts';

export interface PodVfs extends PodKey {
  vfs: PodVf[];
}

/** Pods holding VFs of the snapshot's PFs, sorted by namespace and name, their VFs by PCI address. */
export function podsWithVfs(snapshot: NodeSnapshot, allocation: AllocationView): PodVfs[] {
  if (allocation.allocations === undefined) return [];
  const byPod = new Map<string, PodVfs>();
  for (const [pci, o] of vfOwners(snapshot, allocation.allocations)) {
    const key = `${o.namespace}/${o.pod}`;
    let p = byPod.get(key);
    if (p === undefined) {
      p = { namespace: o.namespace, name: o.pod, vfs: [] };
      byPod.set(key, p);
    }
    const vf: PodVf = { pci, resourceName: o.resourceName, pf: o.pf.netdev ?? o.pf.pci };
    if (o.pf.rail !== undefined) vf.rail = o.pf.rail;
    p.vfs.push(vf);
  }
  const out = [...byPod.values()].sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
  for (const p of out) p.vfs.sort((a, b) => (a.pci < b.pci ? -1 : a.pci > b.pci ? 1 : 0));
  return out;
}

/** Why step 11 cannot run on this observation, if it cannot. */
export function attachmentSkip(kubeSkip: string | undefined, allocation: AllocationView): string | undefined {
  if (kubeSkip !== undefined) return kubeSkip;
  if (allocation.allocations === undefined) return `VF allocations unknown (kubelet pod-resources: ${allocation.error ?? 'not asked'})`;
  return undefined;
}

/** Judges every pod holding VFs from the fetcher's reads (call fetcher.sync first). */
export function attachmentView(snapshot: NodeSnapshot, allocation: AllocationView, fetcher: AttachmentFetcher | undefined, kubeSkip: string | undefined): AttachmentView {
  const skipped = attachmentSkip(fetcher === undefined ? (kubeSkip ?? 'no API access') : kubeSkip, allocation);
  if (skipped !== undefined || fetcher === undefined) return { skipped: skipped ?? 'no API access', pods: [] };
  const railByPci = new Map<string, number>();
  for (const pf of snapshot.pfs) if (pf.rail !== undefined) for (const vf of pf.vfs) railByPci.set(vf.pci, pf.rail);
  return {
    pods: podsWithVfs(snapshot, allocation).map((p) =>
      judgePod({
        namespace: p.namespace,
        name: p.name,
        vfs: p.vfs,
        pod: fetcher.pod(p.namespace, p.name),
        nad: (ns, name) => fetcher.nad(ns, name),
        railOf: (pci) => railByPci.get(pci),
      }),
    ),
  };
}
