// Device ids of the kubelet's allocations; the join with the snapshot's VFs is derive()'s (view/derive.ts).

/** An allocation of one device id to a pod, as the kubelet PodResources API reports it. */
export interface DeviceOwner {
  resourceName: string;
  deviceId: string;
  pod: string;
  namespace: string;
  container: string;
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
