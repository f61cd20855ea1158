// Raw scan records: what each scanner read from its sysfs or procfs area, before anything is joined. Scanners
// return these and never write into another scanner's records; assemble() (assemble.ts) joins them into the
// NodeSnapshot. Each record keeps the scan issues met while reading it, split into the part read once per
// lifetime of the object (`fixedIssues`) and the part a cheap rescan re-reads (`stateIssues`), so a cheap rescan
// that reuses a record reports exactly the issues a full scan would.
import type { HostFacts, Netdev, PciFunction, RdmaDevice, ScanIssue } from '../model.ts';
import type { ScanContext } from './context.ts';

/** A `virtfnN` link of a PF. */
export interface VfLink {
  /** N of `virtfnN`. */
  index: number;
  /** The VF's PCI address; undefined when the link is dangling or its target did not parse (counted). */
  address?: string;
}

/** /sys/bus/pci/devices/<pf>/sriov_* and virtfnN. */
export interface SriovRecord {
  /** `sriov_totalvfs` */
  totalVfs: number;
  /** `sriov_numvfs`; re-read by cheap rescans (a change is structural). */
  numVfs?: number;
  offset?: number;
  stride?: number;
  /** `sriov_vf_device` as `0x....`. */
  vfDevice?: string;
  links: VfLink[];
}

export interface PciRecord {
  /**
   * The function as read. A VF (a function some PF's `virtfnN` points at) carries only its address and driver:
   * its identity, NUMA node and position are its PF's, filled in by assemble(). `driver` and `link` are state.
   */
  fn: PciFunction;
  /** Set on network-class functions that have `sriov_totalvfs`. */
  sriov?: SriovRecord;
  /** PF of a VF, from the PF's `virtfnN` link or, for a VF no PF listed, its `physfn` link. */
  pf?: string;
  /** Netdev names in the function's own `net/` directory (network-class functions that are not VFs). */
  netNames?: string[];
  fixedIssues: ScanIssue[];
  stateIssues: ScanIssue[];
}

export interface PciRecords {
  /** Raw `bus/pci/devices` entries, sorted, including the ones skipped (a cheap rescan compares against this). */
  listed: string[];
  /** Issues of the listing itself (unparsable entries). */
  listingIssues: ScanIssue[];
  functions: PciRecord[];
}

export interface NetRecord {
  netdev: Netdev;
  issues: ScanIssue[];
}

export interface NetRecords {
  listingIssues: ScanIssue[];
  netdevs: NetRecord[];
}

export interface RdmaRecord {
  device: RdmaDevice;
  issues: ScanIssue[];
}

export interface RdmaRecords {
  listingIssues: ScanIssue[];
  devices: RdmaRecord[];
}

export interface HostRecords {
  facts: HostFacts;
  /** Issues of the facts fixed until reboot (kernel command line, CPU vendor, kernel release, IOMMU units). */
  fixedIssues: ScanIssue[];
  /** Issues of the facts a cheap rescan re-reads (hugepages, modules, verbs ABI). */
  stateIssues: ScanIssue[];
}

/** /proc/driver/nvidia/gpus/<pci>/information: the UUID of each NVIDIA GPU the driver knows. */
export interface GpuRecords {
  /** GPU UUID (`GPU-...`) by PCI address. */
  uuids: Readonly<Record<string, string>>;
  /** The driver's model name (`Model:`, e.g. `NVIDIA H200`) by PCI address. */
  models: Readonly<Record<string, string>>;
  issues: ScanIssue[];
}

/** Everything one scan read. An area is undefined when its scanner threw (see `failed`). */
export interface ScanRecords {
  pci?: PciRecords;
  net?: NetRecords;
  infiniband?: RdmaRecords;
  host?: HostRecords;
  gpu?: GpuRecords;
  /** Scanners that threw, with the error. */
  failed: { scanner: string; message: string }[];
}

/** Runs `f` with the context's issues captured into a list of their own. */
export function collect<T>(ctx: ScanContext, f: () => T): { value: T; issues: ScanIssue[] } {
  const saved = ctx.issues;
  const issues: ScanIssue[] = [];
  ctx.issues = issues;
  try {
    return { value: f(), issues };
  } finally {
    ctx.issues = saved;
  }
}

/** A cheap rescan found the structure changed: the caller runs a full scan instead. */
export class StructureChanged extends Error {
  override readonly name = 'StructureChanged';
}
