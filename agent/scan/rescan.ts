// The cheap rescan: the scanners re-read only what changes at runtime (drivers, PCIe link training, sriov_numvfs,
// netdevs, RDMA ports and counters, hugepages, modules) over the previous scan's records, and reuse what is fixed
// for an object's lifetime (PCI identity, position, NUMA node, IOMMU group, SR-IOV layout, kernel command line),
// together with the scan issues met reading it. assemble() then runs on the records exactly as after a full scan,
// so a cheap rescan of a host equals a full scan of it, issues included. A structural change (a PCI function
// listed or gone, a different sriov_numvfs, a PF netdev appearing in its `net/` directory) runs a full scan. The
// PCI listing is compared raw, skipped entries included, so an entry the full scan skips does not force a full
// scan every time.
import { runScan, runScanYielding, type Scan, type ScanOptions } from './registry.ts';
import { StructureChanged } from './records.ts';

export interface RescanResult extends Scan {
  /** `cheap` when the previous records were reused; otherwise why a full scan ran. */
  mode: 'cheap' | 'full';
  reason?: string;
}

export function fullScan(opts: ScanOptions, reason: string): RescanResult {
  return { ...runScan(opts), mode: 'full', reason };
}

export function rescanNode(prev: Scan | undefined, opts: ScanOptions): RescanResult {
  if (prev === undefined) return fullScan(opts, 'first scan');
  if (prev.records.failed.length > 0) return fullScan(opts, 'previous scan incomplete');
  try {
    return { ...runScan(opts, prev.records), mode: 'cheap' };
  } catch (err) {
    if (err instanceof StructureChanged) return fullScan(opts, err.message);
    throw err;
  }
}

/** rescanNode with the scan in slices that give the event loop turns (runScanYielding); `full` forces a full scan. */
export async function rescanNodeYielding(prev: Scan | undefined, opts: ScanOptions, full?: string): Promise<RescanResult> {
  const fullOf = async (reason: string): Promise<RescanResult> => ({ ...(await runScanYielding(opts)), mode: 'full', reason });
  if (full !== undefined) return fullOf(full);
  if (prev === undefined) return fullOf('first scan');
  if (prev.records.failed.length > 0) return fullOf('previous scan incomplete');
  try {
    return { ...(await runScanYielding(opts, prev.records)), mode: 'cheap' };
  } catch (err) {
    if (err instanceof StructureChanged) return fullOf(err.message);
    throw err;
  }
}
