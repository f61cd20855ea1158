// The node snapshot: one immutable picture of a host's PCI, network, RDMA and GPU state.
// Everything railwatch derives (metrics, labels, checks, the inventory report) is a pure function of
// (NodeSnapshot, Config). Optional fields are `undefined` when the file is absent or unreadable - never a fake 0.

/** A scan problem that was skipped and counted: one attribute, never the whole scan. */
export interface ScanIssue {
  /** Which scanner met it (pci, net, infiniband, gpu, host). */
  scanner: string;
  /** Path relative to the sysfs or procfs root, e.g. `bus/pci/devices/0000:3b:00.0/numa_node`. */
  path: string;
  /**
   * errno code (ENOENT, EACCES, EINVAL, ELOOP, ...), PARSE for a value that did not parse, or UNSUPPORTED for a counter
   * the driver reports as not available (`N/A (no PMA)`, EOPNOTSUPP).
   */
  code: string;
  detail?: string;
}

/** PCIe link of a function: `current_link_speed`, `max_link_speed`, `current_link_width`, `max_link_width`. Whether it
 * runs degraded is judged by derive() (view/derive.ts). */
export interface PcieLink {
  currentSpeedGTs?: number;
  maxSpeedGTs?: number;
  currentWidth?: number;
  maxWidth?: number;
}

/** /sys/bus/pci/devices/<BDF> */
export interface PciFunction {
  /** Domain:bus:device.function, e.g. `0000:3b:00.0`. */
  address: string;
  /** `vendor`, `device`, `class` as `0x...` lower-case strings. */
  vendor?: string;
  device?: string;
  subsystemVendor?: string;
  subsystemDevice?: string;
  class?: string;
  /** Name of the bound driver (`driver` symlink), undefined when unbound. */
  driver?: string;
  /** `numa_node`; undefined when absent or -1. */
  numaNode?: number;
  /** `iommu_group` symlink target's group number; undefined when no IOMMU is active. */
  iommuGroup?: number;
  link: PcieLink;
  /** Host bridge directory under /sys/devices, e.g. `pci0000:3a`. */
  hostBridge?: string;
  /** Bridges above this function, from the root port down to the immediate parent. */
  upstream: string[];
  /** `physfn` target when this function is an SR-IOV VF. */
  physfn?: string;
}

/** An SR-IOV VF of a PF, from the PF's `virtfnN` links. */
export interface Vf {
  /** N of `virtfnN`. */
  index: number;
  pci: string;
  /** Bound driver (`mlx5_core`, `iavf`, `vfio-pci`, ...), undefined when unbound. */
  driver?: string;
  /** Netdev name when it is visible in the host network namespace. */
  netdev?: string;
  /** The VF's own RDMA device, when it has one. */
  rdmaDevice?: string;
}

/** A physical network function: SR-IOV capable (`sriov_totalvfs`) or RDMA-capable, any vendor. */
export interface Pf {
  pci: string;
  /** Primary netdev in the host namespace (uplink, not a representor), undefined when none. */
  netdev?: string;
  /** All netdevs under the function (uplink and switchdev representors). */
  netdevs: string[];
  driver?: string;
  vendor?: string;
  device?: string;
  class?: string;
  numaNode?: number;
  sriovCapable: boolean;
  /** `sriov_totalvfs` (0 when not SR-IOV capable). */
  totalVfs: number;
  /** `sriov_numvfs` (0 when not SR-IOV capable); undefined when it could not be read. */
  numVfs?: number;
  offset?: number;
  stride?: number;
  /** `sriov_vf_device` as `0x....`. */
  vfDevice?: string;
  rdmaDevices: string[];
  /** VF functions found through `virtfnN` links that resolve, sorted by index. */
  vfs: Vf[];
  /** `virtfnN` links that did not resolve (dangling). */
  vfLinksDangling: number;
  /** Link layer of the PF's first RDMA port, when it has one. */
  linkLayer?: string;
  /** Rail number, undefined when this PF is not a rail. */
  rail?: number;
}

/** /sys/class/net/<name> */
export interface Netdev {
  name: string;
  /** PCI function behind `device`, undefined for virtual devices or non-PCI devices. */
  pci?: string;
  virtual: boolean;
  operstate?: string;
  carrier?: boolean;
  /** `speed` in Mb/s; undefined when unreadable (admin-down) or -1 (no link). */
  speedMbps?: number;
  mtu?: number;
  address?: string;
  ifindex?: number;
  physPortName?: string;
  physSwitchId?: string;
  /** A switchdev representor (phys_port_name like pf0vf3, c1pf0vf10, pf0sf88). */
  representor: boolean;
}

/** /sys/class/infiniband/<dev>/ports/<n> */
export interface RdmaPort {
  port: number;
  /** `state` name, e.g. ACTIVE, DOWN. */
  state?: string;
  stateCode?: number;
  /** `phys_state` name, e.g. LinkUp, Disabled. */
  physState?: string;
  physStateCode?: number;
  /** `rate` parsed to bits per second (`400 Gb/sec (4X NDR)` -> 400e9). */
  rateBitsPerSecond?: number;
  rate?: string;
  /** InfiniBand | Ethernet | Unknown */
  linkLayer?: string;
  lid?: number;
  smLid?: number;
  /** Distinct GID types in `gid_attrs/types/*` (e.g. `RoCE v2`). */
  gidTypes: string[];
  /** Netdev of GID 0 (`gid_attrs/ndevs/0`) on RoCE ports. */
  netdev?: string;
  /** Every readable file in `counters/`, by file name, full 64-bit value. */
  counters: Record<string, bigint>;
  /** Every readable file in `hw_counters/` (including `lifespan`), by file name. */
  hwCounters: Record<string, bigint>;
  /**
   * Every readable file in `counters_ext/` (mlx4; kernels before 4.5: the 64-bit `port_xmit_data_64` and
   * `port_rcv_data_64` in 4-octet words, `port_{xmit,rcv}_packets_64`, `port_{unicast,multicast}_{xmit,rcv}_packets`),
   * by file name; absent when the port has no such directory.
   */
  countersExt?: Record<string, bigint>;
}

/** /sys/class/infiniband/<dev> */
export interface RdmaDevice {
  name: string;
  pci?: string;
  nodeGuid?: string;
  sysImageGuid?: string;
  fwVer?: string;
  hcaType?: string;
  boardId?: string;
  hwRev?: string;
  /** `node_type` name, e.g. CA, RNIC. */
  nodeType?: string;
  ports: RdmaPort[];
}

export interface Gpu {
  pci: string;
  vendor?: string;
  /** nvidia | amd | intel | other */
  vendorName: string;
  device?: string;
  class?: string;
  driver?: string;
  numaNode?: number;
  hostBridge?: string;
  upstream: string[];
  link: PcieLink;
  /** `GPU UUID:` of /proc/driver/nvidia/gpus/<pci>/information (`GPU-...`), as the NVIDIA device plugin names the GPU. */
  uuid?: string;
  /** `Model:` of the same file (`NVIDIA H200`), the driver's name for the GPU. */
  model?: string;
}

export interface HugepagePool {
  /** Page size in kB (2048, 1048576). */
  sizeKb: number;
  total?: number;
  free?: number;
  /** Per NUMA node totals, when /sys/devices/system/node is present. */
  perNode: Record<string, number>;
}

export interface ModuleState {
  loaded: boolean;
  /** `initstate` (live, coming, going) */
  initstate?: string;
  version?: string;
}

export interface HostFacts {
  /** /proc/cmdline verbatim. */
  cmdline?: string;
  /** Parsed kernel arguments: key -> value, `true` for bare flags; the last occurrence wins. */
  kernelArgs: Record<string, string | true>;
  /** `vendor_id` from /proc/cpuinfo: GenuineIntel, AuthenticAMD, ... */
  cpuVendor?: string;
  iommu: {
    /** Entries of /sys/class/iommu (dmar0, ivhd0, ...). */
    units: string[];
    /** Number of /sys/kernel/iommu_groups entries. */
    groups: number;
    /** Count of groups per `type` (DMA, DMA-FQ, identity). */
    groupTypes: Record<string, number>;
    /** Set when /sys/class/iommu does not exist (a kernel without IOMMU support, or a tree that left it out). */
    unitsUnlisted?: 'missing';
    /**
     * Set when /sys/kernel/iommu_groups was not listed: `missing` (the kernel has no IOMMU support) or
     * `no-kernel-dir` (the root has no `kernel/` at all, as in a captured tree: the group count is unknown).
     */
    groupsUnlisted?: 'missing' | 'no-kernel-dir';
  };
  hugepages: HugepagePool[];
  /** Selected modules under /sys/module; empty (every module unknown) when the root has no `module/` directory. */
  modules: Record<string, ModuleState>;
  /** /sys/class/infiniband_verbs/abi_version */
  verbsAbiVersion?: number;
  /** uverbsN entries of /sys/class/infiniband_verbs */
  uverbs: string[];
  /** /proc/sys/kernel/osrelease */
  kernelRelease?: string;
}

/** Host identity from systeminformation, gathered once at start-up; only facts true of the host. */
export interface HostIdentity {
  systemVendor?: string;
  systemModel?: string;
  biosVendor?: string;
  biosVersion?: string;
  kernel?: string;
  cpuBrand?: string;
  cpuCores?: number;
}

/** PCIe distance, in the spirit of `nvidia-smi topo -m`. */
export type PcieDistance =
  /** same PCIe switch (at most one bridge on each side) */
  | 'PIX'
  /** across several PCIe bridges, below the same root port */
  | 'PXB'
  /** through the same PCIe host bridge (root complex) */
  | 'PHB'
  /** across host bridges within one NUMA node */
  | 'NODE'
  /** across NUMA nodes (CPU interconnect) */
  | 'SYS';

export type RailSource = 'config' | 'gpu-affinity' | 'pci-order';

export interface Rail {
  rail: number;
  /** PF PCI address */
  pf: string;
  netdev?: string;
  rdma?: string;
  /** The GPU this rail serves (GPU affinity), when known. */
  gpu?: string;
  /** PCIe distance between that GPU and the NIC. */
  distance?: PcieDistance;
  source: RailSource;
}

export interface Topology {
  gpus: string[];
  nics: string[];
  /** distance[g][n] between gpus[g] and nics[n]. */
  distance: PcieDistance[][];
}

export interface NodeSnapshot {
  schemaVersion: 1;
  /** Wall-clock time the scan started, ms since epoch. */
  takenAtMs: number;
  /** Scan duration, ms. */
  durationMs: number;
  sysfsRoot: string;
  procfsRoot: string;
  pci: PciFunction[];
  pfs: Pf[];
  netdevs: Netdev[];
  rdmaDevices: RdmaDevice[];
  /** Compute GPUs (scan/gpu.ts classifyGpu): what rails are counted against. */
  gpus: Gpu[];
  /** Display graphics of the GPU vendors (Intel integrated, AMD Radeon): listed, not counted as GPUs. */
  displayGpus: Gpu[];
  rails: Rail[];
  topology: Topology;
  host: HostFacts;
  identity?: HostIdentity;
  /** Skipped attributes, counted per scanner. */
  issues: ScanIssue[];
  /** Scanners that failed outright (their part of the snapshot is empty). */
  failedScanners: string[];
}
