// Which pod holds which GPUs and VFs, and are they on the same rails. A pure function of the snapshot and the
// kubelet's pod-resources allocations: VFs are named by PCI address, NVIDIA GPUs by UUID (mapped to their PCI address
// through /proc/driver/nvidia/gpus/<pci>/information), other GPUs (AMD) by PCI address.
import type { Gpu, NodeSnapshot, Pf } from '../model.ts';
import { compareText } from '../parse/values.ts';
import { pciFromDeviceId, type DeviceOwner } from '../topology/vf-owners.ts';

export interface PodVf {
  pci: string;
  /** virtfn index on its PF. */
  vf: number;
  /** The PF's metric label: netdev name, else PCI address. */
  pf: string;
  /** undefined when the PF is not a rail. */
  rail?: number;
  resource: string;
  container: string;
}

export interface PodGpu {
  /** The device id as the kubelet gave it (`GPU-...`, `GPU-...::2` for a shared replica, a PCI address). */
  id: string;
  uuid?: string;
  /** undefined when the id maps to no GPU of this host (a MIG device, or an unknown UUID). */
  pci?: string;
  /** The rail whose NIC serves this GPU; undefined when no rail does or the GPU is unknown. */
  rail?: number;
  resource: string;
  container: string;
}

export interface PodRails {
  namespace: string;
  pod: string;
  /** Sorted by PCI address. */
  vfs: PodVf[];
  /** Distinct GPUs, sorted by PCI address (unknown ones last, by id). */
  gpus: PodGpu[];
  /** Distinct rails with one of the pod's VFs, ascending. */
  vfRails: number[];
  /** Distinct rails of the pod's GPUs, ascending. */
  gpuRails: number[];
  /**
   * Judged only where the pod holds both GPUs and VFs: every GPU's rail has one of the pod's VFs and every VF's rail
   * one of its GPUs. A pod with only GPUs or only VFs is aligned. Devices whose rail is unknown are not judged
   * (listed in `unjudged`).
   */
  aligned: boolean;
  /** One line per device off its rails, e.g. `GPU 0000:3b:00.0 is on rail 3; the pod's VFs are on rails 0,1,2,4`. */
  misaligned: string[];
  /** Devices left out of the judgement, with the reason. */
  unjudged: string[];
}

/** Resources whose devices are GPUs even when their ids map to no GPU of the snapshot. */
export const GPU_RESOURCE = /^(nvidia\.com\/(gpu|mig-.+)|amd\.com\/gpu|gpu\.intel\.com\/.+)$/;

/** `GPU-<uuid>` of a device id: `GPU-x` itself, `GPU-x::N` (time-slicing replica), `MIG-GPU-x/gi/ci` (old MIG ids). */
export function gpuUuidOfId(id: string): string | undefined {
  const m = /^(?:MIG-)?(GPU-[0-9a-fA-F-]+)(?:::\d+|\/\d+\/\d+)?$/.exec(id);
  return m?.[1];
}

function railsText(rails: readonly number[]): string {
  return rails.length === 0 ? 'no rail' : `${rails.length === 1 ? 'rail' : 'rails'} ${rails.join(',')}`;
}

function pfLabel(pf: Pf): string {
  return pf.netdev ?? pf.pci;
}

/** One entry per pod that holds VFs of this host's PFs or GPUs, sorted by namespace and name. */
export function podRails(snapshot: NodeSnapshot, allocations: readonly DeviceOwner[]): PodRails[] {
  const vfByPci = new Map<string, { pf: Pf; index: number }>();
  for (const pf of snapshot.pfs) for (const vf of pf.vfs) vfByPci.set(vf.pci, { pf, index: vf.index });
  const gpuByPci = new Map(snapshot.gpus.map((g) => [g.pci, g]));
  const gpuByUuid = new Map<string, Gpu>();
  for (const g of snapshot.gpus) if (g.uuid !== undefined) gpuByUuid.set(g.uuid.toLowerCase(), g);
  const railOfGpu = new Map<string, number>();
  for (const rail of snapshot.rails) if (rail.gpu !== undefined && !railOfGpu.has(rail.gpu)) railOfGpu.set(rail.gpu, rail.rail);

  const pods = new Map<string, { namespace: string; pod: string; vfs: Map<string, PodVf>; gpus: Map<string, PodGpu> }>();
  const podOf = (a: DeviceOwner) => {
    const key = `${a.namespace}\t${a.pod}`;
    let p = pods.get(key);
    if (p === undefined) {
      p = { namespace: a.namespace, pod: a.pod, vfs: new Map(), gpus: new Map() };
      pods.set(key, p);
    }
    return p;
  };

  for (const a of allocations) {
    const pci = pciFromDeviceId(a.deviceId);
    const vf = pci === undefined ? undefined : vfByPci.get(pci);
    if (pci !== undefined && vf !== undefined) {
      const p = podOf(a);
      if (!p.vfs.has(pci)) {
        const entry: PodVf = { pci, vf: vf.index, pf: pfLabel(vf.pf), resource: a.resourceName, container: a.container };
        if (vf.pf.rail !== undefined) entry.rail = vf.pf.rail;
        p.vfs.set(pci, entry);
      }
      continue;
    }
    const uuid = gpuUuidOfId(a.deviceId);
    const gpu = (pci !== undefined ? gpuByPci.get(pci) : undefined) ?? (uuid !== undefined ? gpuByUuid.get(uuid.toLowerCase()) : undefined);
    if (gpu === undefined && !GPU_RESOURCE.test(a.resourceName)) continue;
    const p = podOf(a);
    // one GPU shared by replicas (`::N`) or listed for several containers counts once
    const key = gpu?.pci ?? uuid ?? a.deviceId;
    if (p.gpus.has(key)) continue;
    const entry: PodGpu = { id: a.deviceId, resource: a.resourceName, container: a.container };
    const knownUuid = gpu?.uuid ?? uuid;
    if (knownUuid !== undefined) entry.uuid = knownUuid;
    if (gpu !== undefined) {
      entry.pci = gpu.pci;
      const rail = railOfGpu.get(gpu.pci);
      if (rail !== undefined) entry.rail = rail;
    }
    p.gpus.set(key, entry);
  }

  const out: PodRails[] = [];
  for (const p of pods.values()) {
    const vfs = [...p.vfs.values()].sort((a, b) => compareText(a.pci, b.pci));
    const gpus = [...p.gpus.values()].sort((a, b) =>
      a.pci !== undefined && b.pci !== undefined ? compareText(a.pci, b.pci) : a.pci !== undefined ? -1 : b.pci !== undefined ? 1 : compareText(a.id, b.id),
    );
    const vfRails = [...new Set(vfs.flatMap((v) => (v.rail === undefined ? [] : [v.rail])))].sort((a, b) => a - b);
    const gpuRails = [...new Set(gpus.flatMap((g) => (g.rail === undefined ? [] : [g.rail])))].sort((a, b) => a - b);
    const misaligned: string[] = [];
    const unjudged: string[] = [];
    if (vfs.length > 0 && gpus.length > 0) {
      for (const g of gpus) {
        if (g.rail === undefined) {
          unjudged.push(
            g.pci === undefined
              ? `GPU ${g.id}: not a GPU of this host's PCI bus (UUID not in /proc/driver/nvidia/gpus, or a MIG device)`
              : `GPU ${g.pci}: no rail NIC serves it`,
          );
        } else if (!vfRails.includes(g.rail)) {
          misaligned.push(`GPU ${g.pci} is on rail ${g.rail}; the pod's VFs are on ${railsText(vfRails)}`);
        }
      }
      for (const v of vfs) {
        if (v.rail === undefined) unjudged.push(`VF ${v.pci}: its PF ${v.pf} is not a rail`);
        else if (!gpuRails.includes(v.rail)) misaligned.push(`VF ${v.pci} is on rail ${v.rail}; the pod's GPUs are on ${railsText(gpuRails)}`);
      }
    }
    out.push({ namespace: p.namespace, pod: p.pod, vfs, gpus, vfRails, gpuRails, aligned: misaligned.length === 0, misaligned, unjudged });
  }
  return out.sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.pod, b.pod));
}

/** The readable per-pod lines of doctor: `pod ns/name: net? -> 0000:43:00.5 (rail 3)`, GPUs, verdict. */
export function podRailsText(pods: readonly PodRails[]): string[] {
  const out: string[] = [];
  for (const p of pods) {
    out.push(`pod ${p.namespace}/${p.pod}: ${p.vfs.length} VF(s) on ${railsText(p.vfRails)}, ${p.gpus.length} GPU(s) on ${railsText(p.gpuRails)}`);
    for (const v of p.vfs) out.push(`  net? -> ${v.pci} (${v.rail === undefined ? 'not a rail' : `rail ${v.rail}`}; vf${v.vf} of ${v.pf}, ${v.resource})`);
    for (const g of p.gpus) {
      out.push(`  GPU ${g.pci ?? g.id}${g.uuid !== undefined && g.pci !== undefined ? ` ${g.uuid}` : ''} (${g.rail === undefined ? 'rail unknown' : `rail ${g.rail}`})`);
    }
    if (p.vfs.length === 0 || p.gpus.length === 0) out.push(`  aligned (holds only ${p.vfs.length === 0 ? 'GPUs' : 'VFs'}: nothing to align)`);
    else if (p.aligned) out.push(`  aligned: every GPU's rail has one of its VFs and every VF's rail one of its GPUs`);
    else for (const m of p.misaligned) out.push(`  MISALIGNED: ${m}`);
    for (const u of p.unjudged) out.push(`  not judged: ${u}`);
  }
  return out;
}
