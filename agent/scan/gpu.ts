// GPU scanner: display/3D-controller PCI functions of any vendor, with their PCIe position.
import type { Gpu, PciFunction } from '../model.ts';
import { comparePciAddress, gpuVendorName, isGpuClass } from '../parse/values.ts';
import { Reader, type ScanContext } from './context.ts';
import { isDegraded } from './pci.ts';

/** The `GPU UUID:` line of /proc/driver/nvidia/gpus/<pci>/information; undefined when absent or not a UUID (`??`). */
export function parseNvidiaGpuUuid(text: string): string | undefined {
  const m = /^GPU UUID:\s*(\S+)\s*$/m.exec(text);
  const v = m?.[1];
  return v !== undefined && /^GPU-[0-9a-fA-F-]{8,}$/.test(v) ? v : undefined;
}

export function scanGpus(pci: readonly PciFunction[], ctx?: ScanContext): Gpu[] {
  const r = ctx === undefined ? undefined : new Reader(ctx, 'gpu');
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
    if (r !== undefined && vendorName === 'nvidia') {
      // absent without the NVIDIA driver (or without /proc mounted): not an issue
      const info = r.procText(`driver/nvidia/gpus/${fn.address}/information`, ['ENOENT', 'ENOTDIR']);
      const uuid = info === undefined ? undefined : parseNvidiaGpuUuid(info);
      if (uuid !== undefined) gpu.uuid = uuid;
    }
    out.push(gpu);
  }
  return out.sort((a, b) => comparePciAddress(a.pci, b.pci));
}
