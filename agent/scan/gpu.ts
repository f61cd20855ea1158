// GPU scanner: display/3D-controller PCI functions of any vendor, with their PCIe position.
import type { Gpu, PciFunction } from '../model.ts';
import { comparePciAddress, gpuVendorName, isGpuClass } from '../parse/values.ts';
import { isDegraded } from './pci.ts';

export function scanGpus(pci: readonly PciFunction[]): Gpu[] {
  const out: Gpu[] = [];
  for (const fn of pci) {
    if (fn.physfn !== undefined || !isGpuClass(fn.class, fn.vendor)) continue;
    const vendorName = gpuVendorName(fn.vendor);
    // A VGA controller of a non-GPU vendor (BMC graphics such as ASPEED 0x1a03, Matrox 0x102b) is not a GPU.
    if (vendorName === 'other') continue;
    const gpu: Gpu = { pci: fn.address, vendorName, upstream: fn.upstream, link: { ...fn.link, degraded: isDegraded(fn.link, 'gpu') } };
    if (fn.vendor !== undefined) gpu.vendor = fn.vendor;
    if (fn.device !== undefined) gpu.device = fn.device;
    if (fn.class !== undefined) gpu.class = fn.class;
    if (fn.driver !== undefined) gpu.driver = fn.driver;
    if (fn.numaNode !== undefined) gpu.numaNode = fn.numaNode;
    if (fn.hostBridge !== undefined) gpu.hostBridge = fn.hostBridge;
    out.push(gpu);
  }
  return out.sort((a, b) => comparePciAddress(a.pci, b.pci));
}
