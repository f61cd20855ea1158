// The NVIDIA GPU scanner (procfs): /proc/driver/nvidia/gpus/<pci>/information, for each GPU's UUID (`GPU UUID:`),
// the name the NVIDIA device plugin gives the GPU in the kubelet's pod-resources API, and its model (`Model:`, e.g.
// `NVIDIA H200`: the PCI device id alone, 0x2335, tells an operator little). The GPUs themselves come from
// the PCI records (assemble.ts); this adds what only the driver knows. Absent without the NVIDIA driver: no issue.
import { parsePciAddress } from '../parse/values.ts';
import { Reader, type ScanContext } from './context.ts';
import { collect, type GpuRecords } from './records.ts';

const DIR = 'driver/nvidia/gpus';

/** The `GPU UUID:` line of an `information` file; undefined when absent or not a UUID (`??` while the GPU is lost). */
export function parseNvidiaGpuUuid(text: string): string | undefined {
  const m = /^GPU UUID:\s*(\S+)\s*$/m.exec(text);
  const v = m?.[1];
  return v !== undefined && /^GPU-[0-9a-fA-F-]{8,}$/.test(v) ? v : undefined;
}

/** The `Model:` line of an `information` file, e.g. `NVIDIA H100 80GB HBM3`; undefined when absent or empty. */
export function parseNvidiaGpuModel(text: string): string | undefined {
  const m = /^Model:[ \t]*(\S[^\n]*?)[ \t]*$/m.exec(text);
  return m?.[1];
}

/** With `prev` (a cheap rescan) the UUIDs are reused: a GPU's UUID is fixed for its lifetime. */
export function scanNvidiaGpus(ctx: ScanContext, prev?: GpuRecords): GpuRecords {
  if (prev !== undefined) return prev;
  const { value, issues } = collect(ctx, () => {
    const r = new Reader(ctx, 'gpu');
    const uuids: Record<string, string> = {};
    const models: Record<string, string> = {};
    const listing = ctx.proc.list(DIR);
    if (!listing.ok) {
      if (listing.code !== 'ENOENT' && listing.code !== 'ENOTDIR') r.issue(`proc:${DIR}`, listing.code);
      return { uuids, models };
    }
    for (const entry of listing.value.sort()) {
      const pci = parsePciAddress(entry);
      if (!pci.ok) {
        r.issue(`proc:${DIR}/${entry}`, 'PARSE', pci.reason);
        continue;
      }
      const text = r.procText(`${DIR}/${entry}/information`);
      if (text === undefined) continue;
      const uuid = parseNvidiaGpuUuid(text);
      if (uuid === undefined) r.issue(`proc:${DIR}/${entry}/information`, 'PARSE', 'no GPU UUID line');
      else uuids[pci.value] = uuid;
      const model = parseNvidiaGpuModel(text);
      if (model !== undefined) models[pci.value] = model;
    }
    return { uuids, models };
  });
  return { ...value, issues };
}
