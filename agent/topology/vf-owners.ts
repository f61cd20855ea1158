// Joins the kubelet's device allocations with the snapshot's VFs: which VF belongs to which pod and resource.
import type { NodeSnapshot, Pf, Vf } from '../model.ts';

/** An allocation of one device id to a pod, as the kubelet PodResources API reports it. */
export interface DeviceOwner {
  resourceName: string;
  deviceId: string;
  pod: string;
  namespace: string;
  container: string;
}

export interface VfOwner {
  pf: Pf;
  vf: Vf;
  resourceName: string;
  pod: string;
  namespace: string;
}

/**
 * Normalises a device id that is a PCI address (`0000:3b:00.2` or `3b:00.2`, as the SR-IOV device plugin reports VFs)
 * to the full lower-case form; any other id (`hca_shared_1`, `mlx5_core.sf.4`, an id with spaces) is undefined.
 */
export function pciFromDeviceId(id: string): string | undefined {
  const t = id.toLowerCase();
  if (/^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/.test(t)) return t;
  if (/^[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/.test(t)) return '0000:' + t;
  return undefined;
}

/** Maps VF PCI address -> owner, for the devices that are VFs of the snapshot's PFs. */
export function vfOwners(snapshot: NodeSnapshot, allocations: readonly DeviceOwner[]): Map<string, VfOwner> {
  const byPci = new Map<string, { pf: Pf; vf: Vf }>();
  for (const pf of snapshot.pfs) for (const vf of pf.vfs) byPci.set(vf.pci, { pf, vf });
  const out = new Map<string, VfOwner>();
  for (const a of allocations) {
    const pci = pciFromDeviceId(a.deviceId);
    if (pci === undefined) continue;
    const hit = byPci.get(pci);
    if (!hit) continue;
    out.set(pci, { pf: hit.pf, vf: hit.vf, resourceName: a.resourceName, pod: a.pod, namespace: a.namespace });
  }
  return out;
}
