// GPU classes from the PCI functions (assemble() calls these): display, 3D-controller and accelerator functions of the GPU
// vendors, with their PCIe position, split into compute GPUs (what rails are counted against) and display graphics
// (listed, never counted).
import type { Gpu, PciFunction } from '../model.ts';
import { comparePciAddress, gpuVendorName, isGpuClass } from '../parse/values.ts';

/** How a PCI function counts: a compute GPU, display graphics (with the reason), or no GPU at all. */
export type GpuClassification = { kind: 'compute'; why: string } | { kind: 'display'; why: string } | { kind: 'none' };

/**
 * Compute GPUs, as an operator of a GPU node counts them:
 *  - class 0x0302 (3D controller) of NVIDIA, AMD or Intel: data-centre GPUs (A100, H100, L4, T4, P100, ...);
 *  - class 0x0380 (display controller, other) of AMD (Instinct MI50 to MI250), Intel (Data Center GPU Flex/Max) or NVIDIA;
 *    Intel's integrated graphics, always device 2 of bus 0 (0000:00:02.x), is display graphics whatever its class;
 *  - class 0x1200 (processing accelerator) of AMD (Instinct MI300);
 *  - class 0x0300 (VGA) of NVIDIA: data-centre cards with a display mode (L40, A40) and workstation cards report VGA,
 *    and every one of them runs CUDA.
 * Display graphics, listed but not counted: VGA controllers of Intel (Arc graphics) and AMD (Radeon
 * cards and APU graphics; AMD's compute parts never report VGA). A VGA controller of another vendor (BMC graphics:
 * ASPEED 0x1a03, Matrox 0x102b) is no GPU at all.
 */
export function classifyGpu(fn: Pick<PciFunction, 'address' | 'class' | 'vendor' | 'physfn'>): GpuClassification {
  if (fn.physfn !== undefined || fn.class === undefined || !isGpuClass(fn.class, fn.vendor)) return { kind: 'none' };
  const vendor = gpuVendorName(fn.vendor);
  if (vendor === 'other') return { kind: 'none' };
  const cls = fn.class;
  // Intel integrated graphics sits at device 2 of bus 0, whatever class it reports (0x0380 when not the primary VGA)
  if (vendor === 'intel' && /^0000:00:02\.\d$/.test(fn.address)) return { kind: 'display', why: 'Intel integrated graphics (00:02.x)' };
  if (cls.startsWith('0x0302')) return { kind: 'compute', why: '3D controller' };
  if (cls.startsWith('0x0380')) return { kind: 'compute', why: 'display controller (accelerator)' };
  if (cls.startsWith('0x1200')) return { kind: 'compute', why: 'processing accelerator' };
  if (cls.startsWith('0x0300')) {
    if (vendor === 'nvidia') return { kind: 'compute', why: 'NVIDIA VGA controller' };
    return { kind: 'display', why: vendor === 'intel' ? 'Intel VGA controller (Arc graphics)' : 'AMD VGA controller (Radeon graphics)' };
  }
  return { kind: 'none' };
}

function toGpu(fn: PciFunction): Gpu {
  const gpu: Gpu = { pci: fn.address, vendorName: gpuVendorName(fn.vendor), upstream: [...fn.upstream], link: { ...fn.link } };
  if (fn.vendor !== undefined) gpu.vendor = fn.vendor;
  if (fn.device !== undefined) gpu.device = fn.device;
  if (fn.class !== undefined) gpu.class = fn.class;
  if (fn.driver !== undefined) gpu.driver = fn.driver;
  if (fn.numaNode !== undefined) gpu.numaNode = fn.numaNode;
  if (fn.hostBridge !== undefined) gpu.hostBridge = fn.hostBridge;
  return gpu;
}

/** Compute GPUs (see classifyGpu), sorted by PCI address, with their UUIDs (by PCI address) when the driver gave them. */
export function scanGpus(pci: readonly PciFunction[], uuids: Readonly<Record<string, string>> = {}, models: Readonly<Record<string, string>> = {}): Gpu[] {
  return pci
    .filter((fn) => classifyGpu(fn).kind === 'compute')
    .map((fn) => {
      const gpu = toGpu(fn);
      const uuid = uuids[fn.address];
      if (uuid !== undefined) gpu.uuid = uuid;
      const model = models[fn.address];
      if (model !== undefined) gpu.model = model;
      return gpu;
    })
    .sort((a, b) => comparePciAddress(a.pci, b.pci));
}

/** Display graphics of the GPU vendors (integrated graphics, desktop cards): listed, never counted as GPUs. */
export function scanDisplayGpus(pci: readonly PciFunction[]): Gpu[] {
  return pci
    .filter((fn) => classifyGpu(fn).kind === 'display')
    .map(toGpu)
    .sort((a, b) => comparePciAddress(a.pci, b.pci));
}
