// Fixture hosts: complete fake sysfs/procfs trees with relative symlinks exactly as the kernel makes them.
// Devices live under sys/devices/pci<dom>:<bus>/<root port>/.../<BDF>; bus/pci/devices, class/net and
// class/infiniband are relative links into that tree, so the path IS the PCIe topology.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import type { TestContext } from 'node:test';
import { ipLinkEntry, ipLinkJson, LOOPBACK_ENTRY, type LinkRecord, type VfDriverStyle, type VfRecord } from './ip-link.ts';
import { useShared } from './shared.ts';

export interface PciSpec {
  address: string;
  /** Host bridge, e.g. pci0000:3a (defaults from the first bridge or the address). */
  hostBridge?: string;
  /** Bridges above the function, root port first. They are created as bridge functions when missing. */
  upstream?: string[];
  vendor?: string;
  device?: string;
  class?: string;
  driver?: string;
  numaNode?: number;
  iommuGroup?: number;
  link?: { speed: string; width: number; maxSpeed?: string; maxWidth?: number };
  extra?: Record<string, string>;
}

export interface NetdevSpec {
  name: string;
  operstate?: string;
  carrier?: string | null;
  speed?: string | null;
  mtu?: number;
  address?: string;
  ifindex?: number;
  physPortName?: string;
  physSwitchId?: string;
}

export interface PortSpec {
  port?: number;
  state?: string;
  physState?: string;
  rate?: string;
  linkLayer?: 'Ethernet' | 'InfiniBand';
  lid?: string;
  gidTypes?: string[];
  ndev?: string;
  counters?: Record<string, string>;
  hwCounters?: Record<string, string>;
}

export interface RdmaSpec {
  name: string;
  nodeGuid?: string;
  fwVer?: string;
  hcaType?: string;
  boardId?: string;
  nodeType?: string;
  ports?: PortSpec[];
}

export interface VfSpec {
  driver?: string | null;
  netdev?: string | null;
  rdma?: string;
  /** The VF's entry in the PF's netlink VF list (MAC, VLAN, link state, GUIDs, stats); defaults by driver. */
  link?: VfRecord;
}

export interface PfSpec extends PciSpec {
  totalVfs?: number;
  offset?: number;
  stride?: number;
  vfDevice?: string;
  netdev?: NetdevSpec;
  rdma?: RdmaSpec;
  vfs?: VfSpec[];
  /** How the PF's netlink VF list is recorded (ip-link.json); default from the driver and link layer, none without a netdev. */
  vfStyle?: VfDriverStyle | null;
}

export const MLX5_COUNTERS: Record<string, string> = {
  excessive_buffer_overrun_errors: '0',
  link_downed: '0',
  link_error_recovery: '0',
  local_link_integrity_errors: '0',
  multicast_rcv_packets: '0',
  multicast_xmit_packets: '0',
  port_rcv_constraint_errors: '0',
  port_rcv_data: '123456789012',
  port_rcv_errors: '0',
  port_rcv_packets: '987654321',
  port_rcv_remote_physical_errors: '0',
  port_rcv_switch_relay_errors: '0',
  port_xmit_constraint_errors: '0',
  port_xmit_data: '223456789012',
  port_xmit_discards: '0',
  port_xmit_packets: '887654321',
  port_xmit_wait: '0',
  symbol_error: '0',
  unicast_rcv_packets: '987654321',
  unicast_xmit_packets: '887654321',
  VL15_dropped: '0',
};

export const MLX5_HW_COUNTERS: Record<string, string> = {
  duplicate_request: '0',
  implied_nak_seq_err: '0',
  lifespan: '12',
  local_ack_timeout_err: '0',
  np_cnp_sent: '1520',
  np_ecn_marked_roce_packets: '1533',
  out_of_buffer: '0',
  out_of_sequence: '0',
  packet_seq_err: '0',
  req_cqe_error: '0',
  req_remote_access_errors: '0',
  req_remote_invalid_request: '0',
  req_transport_retries_exceeded: '0',
  resp_cqe_error: '0',
  rnr_nak_retry_err: '0',
  roce_adp_retrans: '0',
  rp_cnp_handled: '4711',
  rp_cnp_ignored: '0',
  rx_atomic_requests: '0',
  rx_read_requests: '100',
  rx_write_requests: '2000',
};

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Adds `n` to the device.function part of a BDF (devfn arithmetic as pci_iov_virtfn_devfn does). */
export function bdfAdd(address: string, n: number): string {
  const m = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/.exec(address);
  if (!m) throw new Error(`bad BDF ${address}`);
  const bus = Number.parseInt(m[2] ?? '0', 16);
  const devfn = Number.parseInt(m[3] ?? '0', 16) * 8 + Number(m[4]) + n;
  const b = bus + Math.floor(devfn / 256);
  const df = devfn % 256;
  return `${m[1]}:${hex2(b)}:${hex2(Math.floor(df / 8))}.${df % 8}`;
}

export class FixtureHost {
  readonly root: string;
  readonly sys: string;
  readonly proc: string;
  readonly #devPaths = new Map<string, string>();
  #ifindex = 10;
  readonly #ipLinks: LinkRecord[] = [];
  /** The recorded `ip -j -s -d link show` answer of this host (what createFileVfInfoSource reads). */
  readonly ipLinkFile: string;

  constructor(root?: string) {
    this.root = root ?? mkdtempSync(join(tmpdir(), 'railwatch-host-'));
    this.sys = join(this.root, 'sys');
    this.proc = join(this.root, 'proc');
    this.ipLinkFile = join(this.root, 'ip-link.json');
    for (const d of ['bus/pci/devices', 'bus/pci/drivers', 'class/net', 'class/infiniband', 'class/iommu', 'kernel/iommu_groups', 'module', 'devices/virtual/net']) {
      mkdirSync(join(this.sys, d), { recursive: true });
    }
    mkdirSync(join(this.proc, 'sys/kernel'), { recursive: true });
    this.writeProc('cmdline', 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet');
    this.writeProc('cpuinfo', 'processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n');
    this.writeProc('meminfo', 'MemTotal:       1000000 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n');
    this.writeProc('sys/kernel/osrelease', '6.8.0-test');
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Writes a file under sys/ (creating parents), value with a trailing newline like the kernel. */
  write(rel: string, value: string): void {
    const p = join(this.sys, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, value.endsWith('\n') || value === '' ? value : value + '\n');
  }

  writeProc(rel: string, value: string): void {
    const p = join(this.proc, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, value.endsWith('\n') ? value : value + '\n');
  }

  /** Creates a relative symlink at `rel` (under sys/) pointing at `targetRel` (under sys/). */
  link(rel: string, targetRel: string): void {
    const p = join(this.sys, rel);
    mkdirSync(dirname(p), { recursive: true });
    const target = posix.relative(posix.dirname(rel), targetRel);
    rmSync(p, { force: true, recursive: true });
    symlinkSync(target, p);
  }

  remove(rel: string): void {
    rmSync(join(this.sys, rel), { recursive: true, force: true });
  }

  /** sysfs path (relative to sys/) of a device directory. */
  devPath(address: string): string {
    const p = this.#devPaths.get(address);
    if (!p) throw new Error(`unknown PCI function ${address}`);
    return p;
  }

  hasPci(address: string): boolean {
    return this.#devPaths.has(address);
  }

  addPci(spec: PciSpec): string {
    const upstream = spec.upstream ?? [];
    const hb = spec.hostBridge ?? `pci${(upstream[0] ?? spec.address).slice(0, 7)}`;
    let parent = `devices/${hb}`;
    for (const br of upstream) {
      if (!this.#devPaths.has(br)) {
        const bp = `${parent}/${br}`;
        this.#devPaths.set(br, bp);
        this.#writePciAttrs(bp, { address: br, class: '0x060400', vendor: '0x8086', device: '0x347a', driver: 'pcieport', numaNode: spec.numaNode ?? 0 });
        this.link(`bus/pci/devices/${br}`, bp);
      }
      parent = this.#devPaths.get(br) ?? parent;
    }
    const path = `${parent}/${spec.address}`;
    this.#devPaths.set(spec.address, path);
    this.#writePciAttrs(path, spec);
    this.link(`bus/pci/devices/${spec.address}`, path);
    return path;
  }

  #writePciAttrs(path: string, spec: PciSpec): void {
    mkdirSync(join(this.sys, path), { recursive: true });
    this.write(`${path}/vendor`, spec.vendor ?? '0x15b3');
    this.write(`${path}/device`, spec.device ?? '0x1021');
    this.write(`${path}/subsystem_vendor`, spec.vendor ?? '0x15b3');
    this.write(`${path}/subsystem_device`, '0x0040');
    this.write(`${path}/class`, spec.class ?? '0x020000');
    this.write(`${path}/numa_node`, String(spec.numaNode ?? -1));
    if (spec.link) {
      this.write(`${path}/current_link_speed`, spec.link.speed);
      this.write(`${path}/max_link_speed`, spec.link.maxSpeed ?? spec.link.speed);
      this.write(`${path}/current_link_width`, String(spec.link.width));
      this.write(`${path}/max_link_width`, String(spec.link.maxWidth ?? spec.link.width));
    }
    if (spec.driver) this.bindDriver(spec.address, spec.driver, path);
    if (spec.iommuGroup !== undefined) {
      mkdirSync(join(this.sys, `kernel/iommu_groups/${spec.iommuGroup}/devices`), { recursive: true });
      this.write(`kernel/iommu_groups/${spec.iommuGroup}/type`, 'DMA-FQ');
      this.link(`${path}/iommu_group`, `kernel/iommu_groups/${spec.iommuGroup}`);
    }
    for (const [k, v] of Object.entries(spec.extra ?? {})) this.write(`${path}/${k}`, v);
  }

  bindDriver(address: string, driver: string | null, path = this.devPath(address)): void {
    if (driver === null) {
      rmSync(join(this.sys, path, 'driver'), { force: true });
      return;
    }
    mkdirSync(join(this.sys, `bus/pci/drivers/${driver}`), { recursive: true });
    this.link(`${path}/driver`, `bus/pci/drivers/${driver}`);
  }

  /** Rewrites ip-link.json from the recorded links (lo first, then by ifindex, as the kernel dumps them). */
  writeIpLink(): void {
    const links = [...this.#ipLinks].sort((a, b) => a.ifindex - b.ifindex);
    // atomically, as a reader may be reading it
    writeFileSync(`${this.ipLinkFile}.tmp`, ipLinkJson([LOOPBACK_ENTRY, ...links.map((l) => ipLinkEntry(l))]));
    renameSync(`${this.ipLinkFile}.tmp`, this.ipLinkFile);
  }

  /** The recorded VF list of the PF netdev `ifname` (edit it, then writeIpLink()). */
  ipLink(ifname: string): LinkRecord {
    const link = this.#ipLinks.find((l) => l.ifname === ifname);
    if (link === undefined) throw new Error(`no recorded VF list for ${ifname}`);
    return link;
  }

  /** /proc/driver/nvidia/gpus/<pci>/information as the NVIDIA driver writes it. */
  setNvidiaGpuInformation(pci: string, uuid: string, minor: number, model = 'NVIDIA H100 80GB HBM3'): void {
    this.writeProc(
      `driver/nvidia/gpus/${pci}/information`,
      `Model: \t\t ${model}\nIRQ:   \t\t ${200 + minor}\nGPU UUID: \t ${uuid}\nVideo BIOS: \t 96.00.74.00.0d\nBus Type: \t PCIe\n` +
        `DMA Size: \t 52 bits\nDMA Mask: \t 0xfffffffffffff\nBus Location: \t ${pci}\nDevice Minor: \t ${minor}\nGPU Excluded:\t No\n`,
    );
  }

  addNetdev(address: string | null, nd: NetdevSpec): void {
    const dir = address === null ? `devices/virtual/net/${nd.name}` : `${this.devPath(address)}/net/${nd.name}`;
    mkdirSync(join(this.sys, dir), { recursive: true });
    this.write(`${dir}/operstate`, nd.operstate ?? 'up');
    if (nd.carrier !== null) this.write(`${dir}/carrier`, nd.carrier ?? '1');
    if (nd.speed !== null && address !== null) this.write(`${dir}/speed`, nd.speed ?? '400000');
    this.write(`${dir}/mtu`, String(nd.mtu ?? 9000));
    this.write(`${dir}/address`, nd.address ?? '0c:42:a1:00:00:' + hex2(this.#ifindex % 256));
    this.write(`${dir}/ifindex`, String(nd.ifindex ?? this.#ifindex++));
    if (nd.physPortName !== undefined) this.write(`${dir}/phys_port_name`, nd.physPortName);
    if (nd.physSwitchId !== undefined) this.write(`${dir}/phys_switch_id`, nd.physSwitchId);
    if (address !== null) this.link(`${dir}/device`, this.devPath(address));
    this.link(`class/net/${nd.name}`, dir);
  }

  removeNetdev(address: string | null, name: string): void {
    const dir = address === null ? `devices/virtual/net/${name}` : `${this.devPath(address)}/net/${name}`;
    this.remove(dir);
    this.remove(`class/net/${name}`);
  }

  addRdma(address: string, spec: RdmaSpec): void {
    const dir = `${this.devPath(address)}/infiniband/${spec.name}`;
    mkdirSync(join(this.sys, dir), { recursive: true });
    this.write(`${dir}/node_type`, spec.nodeType ?? '1: CA');
    this.write(`${dir}/node_guid`, spec.nodeGuid ?? 'b8ce:f603:00a1:b2c4');
    this.write(`${dir}/sys_image_guid`, spec.nodeGuid ?? 'b8ce:f603:00a1:b2c4');
    this.write(`${dir}/fw_ver`, spec.fwVer ?? '28.39.1002');
    if (spec.hcaType !== '') this.write(`${dir}/hca_type`, spec.hcaType ?? 'MT4129');
    if (spec.boardId !== '') this.write(`${dir}/board_id`, spec.boardId ?? 'MT_0000000838');
    this.link(`${dir}/device`, this.devPath(address));
    for (const [i, p] of (spec.ports ?? [{}]).entries()) {
      const port = p.port ?? i + 1;
      const pd = `${dir}/ports/${port}`;
      const ll = p.linkLayer ?? 'Ethernet';
      this.write(`${pd}/state`, p.state ?? '4: ACTIVE');
      this.write(`${pd}/phys_state`, p.physState ?? '5: LinkUp');
      this.write(`${pd}/rate`, p.rate ?? '400 Gb/sec (4X NDR)');
      this.write(`${pd}/link_layer`, ll);
      this.write(`${pd}/lid`, p.lid ?? (ll === 'InfiniBand' ? '0x12' : '0x0'));
      this.write(`${pd}/sm_lid`, ll === 'InfiniBand' ? '0x1' : '0x0');
      const types = p.gidTypes ?? (ll === 'Ethernet' ? ['IB/RoCE v1', 'RoCE v2'] : ['IB/RoCE v1']);
      types.forEach((t, k) => this.write(`${pd}/gid_attrs/types/${k}`, t));
      if (ll === 'Ethernet' && p.ndev !== undefined) this.write(`${pd}/gid_attrs/ndevs/0`, p.ndev);
      for (const [k, v] of Object.entries(p.counters ?? MLX5_COUNTERS)) this.write(`${pd}/counters/${k}`, v);
      for (const [k, v] of Object.entries(p.hwCounters ?? MLX5_HW_COUNTERS)) this.write(`${pd}/hw_counters/${k}`, v);
    }
    this.link(`class/infiniband/${spec.name}`, dir);
  }

  /** Adds a PF with SR-IOV attributes, its netdev, its RDMA device and its VFs as the kernel lays them out. */
  addPf(spec: PfSpec): void {
    const extra: Record<string, string> = { ...(spec.extra ?? {}) };
    const vfs = spec.vfs ?? [];
    const offset = spec.offset ?? 2;
    const stride = spec.stride ?? 1;
    if (spec.totalVfs !== undefined) {
      extra['sriov_totalvfs'] = String(spec.totalVfs);
      extra['sriov_numvfs'] = String(vfs.length);
      extra['sriov_offset'] = String(offset);
      extra['sriov_stride'] = String(stride);
      extra['sriov_vf_device'] = spec.vfDevice ?? '101e';
      extra['sriov_drivers_autoprobe'] = '1';
    }
    const path = this.addPci({ ...spec, extra });
    if (spec.netdev) this.addNetdev(spec.address, spec.netdev);
    const ib = spec.rdma?.ports?.[0]?.linkLayer === 'InfiniBand';
    const style =
      spec.vfStyle !== undefined
        ? spec.vfStyle
        : spec.driver === 'mlx5_core'
          ? ib
            ? 'mlx5-ib'
            : 'mlx5-roce'
          : spec.driver === 'ice'
            ? 'ice'
            : spec.driver === 'bnxt_en'
              ? 'bnxt'
              : null;
    if (spec.netdev && style !== null && spec.totalVfs !== undefined) {
      const nd = join(this.sys, path, 'net', spec.netdev.name);
      this.#ipLinks.push({
        ifindex: Number(readFileSync(join(nd, 'ifindex'), 'utf8')),
        ifname: spec.netdev.name,
        parentDev: spec.address,
        style,
        address: readFileSync(join(nd, 'address'), 'utf8').trim(),
        mtu: spec.netdev.mtu ?? 9000,
        vfs: vfs.map((v) => ({ ...v.link })),
      });
      this.writeIpLink();
    }
    if (spec.rdma) this.addRdma(spec.address, spec.rdma);
    const parent = posix.dirname(path);
    vfs.forEach((vf, n) => {
      const addr = bdfAdd(spec.address, offset + stride * n);
      const vp = `${parent}/${addr}`;
      this.#devPaths.set(addr, vp);
      const vfSpec: PciSpec = { address: addr, vendor: spec.vendor ?? '0x15b3', device: '0x' + (spec.vfDevice ?? '101e'), class: spec.class ?? '0x020000' };
      this.#writePciAttrs(vp, vfSpec);
      this.link(`bus/pci/devices/${addr}`, vp);
      this.link(`${vp}/physfn`, path);
      this.link(`${path}/virtfn${n}`, vp);
      if (vf.driver !== null) this.bindDriver(addr, vf.driver ?? 'mlx5_core', vp);
      if (vf.netdev !== null && vf.netdev !== undefined) {
        this.addNetdev(addr, { name: vf.netdev, speed: '400000', mtu: 1500 });
      }
      if (vf.rdma !== undefined) this.addRdma(addr, { name: vf.rdma, ports: [{ ndev: vf.netdev ?? undefined }] });
    });
  }

  /** Adds VF number n of a PF made by addPf (identity from the PF's files), as the kernel lays it out. */
  addVf(pfAddress: string, n: number, vf: VfSpec = {}): string {
    const path = this.devPath(pfAddress);
    const attr = (name: string) => readFileSync(join(this.sys, path, name), 'utf8').trim();
    const addr = this.vfAddress(pfAddress, n);
    const vp = `${posix.dirname(path)}/${addr}`;
    this.#devPaths.set(addr, vp);
    this.#writePciAttrs(vp, { address: addr, vendor: attr('vendor'), device: '0x' + attr('sriov_vf_device'), class: attr('class') });
    this.link(`bus/pci/devices/${addr}`, vp);
    this.link(`${vp}/physfn`, path);
    this.link(`${path}/virtfn${n}`, vp);
    if (vf.driver !== null) this.bindDriver(addr, vf.driver ?? 'mlx5_core', vp);
    if (vf.netdev !== null && vf.netdev !== undefined) this.addNetdev(addr, { name: vf.netdev, speed: '400000', mtu: 1500 });
    return addr;
  }

  /** Removes VF number n as `echo 0 > sriov_numvfs` would, for one VF (links and device dir). */
  removeVf(pfAddress: string, n: number): void {
    const pfPath = this.devPath(pfAddress);
    const target = this.vfAddress(pfAddress, n);
    const vp = this.devPath(target);
    this.remove(`${pfPath}/virtfn${n}`);
    this.remove(`bus/pci/devices/${target}`);
    for (const name of this.#netdevsUnder(vp)) this.remove(`class/net/${name}`);
    this.remove(vp);
    this.#devPaths.delete(target);
  }

  vfAddress(pfAddress: string, n: number): string {
    const offset = Number(readFileSync(join(this.sys, this.devPath(pfAddress), 'sriov_offset'), 'utf8'));
    const stride = Number(readFileSync(join(this.sys, this.devPath(pfAddress), 'sriov_stride'), 'utf8'));
    return bdfAdd(pfAddress, offset + stride * n);
  }

  /** A VF netdev moved into a pod's network namespace: gone from class/net and from the VF's net/. */
  moveVfNetdevToPod(vfAddress: string): string | undefined {
    const vp = this.devPath(vfAddress);
    const names = this.#netdevsUnder(vp);
    for (const name of names) {
      this.remove(`class/net/${name}`);
      this.remove(`${vp}/net/${name}`);
    }
    return names[0];
  }

  #netdevsUnder(devPath: string): string[] {
    const p = join(this.sys, devPath, 'net');
    if (!existsSync(p)) return [];
    return readdirNames(p);
  }

  setIommu(units: string[], groups: number): void {
    for (const u of units) mkdirSync(join(this.sys, `class/iommu/${u}`), { recursive: true });
    for (let g = 0; g < groups; g++) this.write(`kernel/iommu_groups/${g}/type`, 'DMA-FQ');
  }

  setModule(name: string, state: 'live' | 'builtin' | 'absent'): void {
    this.remove(`module/${name}`);
    if (state === 'absent') return;
    mkdirSync(join(this.sys, `module/${name}`), { recursive: true });
    if (state === 'live') this.write(`module/${name}/initstate`, 'live');
  }

  setHugepages(sizeKb: number, total: number, perNode?: number[]): void {
    this.write(`kernel/mm/hugepages/hugepages-${sizeKb}kB/nr_hugepages`, String(total));
    this.write(`kernel/mm/hugepages/hugepages-${sizeKb}kB/free_hugepages`, String(total));
    perNode?.forEach((n, i) => this.write(`devices/system/node/node${i}/hugepages/hugepages-${sizeKb}kB/nr_hugepages`, String(n)));
  }

  /** Atomically replaces a file's content (rename over it), as a changing attribute would appear. */
  replace(rel: string, value: string): void {
    const p = join(this.sys, rel);
    writeFileSync(p + '.tmp', value + '\n');
    renameSync(p + '.tmp', p);
  }
}

function readdirNames(p: string): string[] {
  return readdirSync(p).sort();
}

// ---------------------------------------------------------------------------------------------------------
// Ready-made hosts

export interface DgxOptions {
  rails?: number;
  vfsPerPf?: number;
  totalVfs?: number;
  /** How many VFs per PF have their netdev in the host namespace (the rest moved into pods). */
  vfNetdevsInHost?: number;
  linkLayer?: 'Ethernet' | 'InfiniBand';
  gpus?: boolean;
  /** Add a management NIC (no RDMA) and two storage NICs (RDMA, not near a GPU). */
  extras?: boolean;
  root?: string;
}

/** The UUID of the k-th GPU of buildDgxHost. */
export function dgxGpuUuid(k: number): string {
  return `GPU-${(0x5a1e0000 + k).toString(16)}-1b2c-3d4e-5f60-${(0x718293a4b5c0 + k).toString(16)}`;
}

/**
 * A DGX-like node: `rails` ConnectX-7 PFs and `rails` H100 GPUs, one GPU and one NIC under each PCIe switch,
 * two switches per host bridge, NUMA 0 for the first half, NUMA 1 for the second.
 */
export function buildDgxHost(opts: DgxOptions = {}): FixtureHost {
  const host = new FixtureHost(opts.root);
  const rails = opts.rails ?? 8;
  const vfs = opts.vfsPerPf ?? 4;
  const ll = opts.linkLayer ?? 'Ethernet';
  const inHost = opts.vfNetdevsInHost ?? vfs;
  host.setIommu(['dmar0', 'dmar1'], 4);
  host.writeProc('cmdline', 'BOOT_IMAGE=/vmlinuz-6.8.0 root=/dev/nvme0n1p2 ro intel_iommu=on iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=16');
  for (const m of ['nvidia', 'nvidia_peermem', 'mlx5_core', 'mlx5_ib', 'ib_core', 'ib_uverbs']) host.setModule(m, 'live');
  host.write('class/infiniband_verbs/abi_version', '6');
  host.setHugepages(1048576, 16, [8, 8]);
  for (let k = 0; k < rails; k++) {
    const numa = k < rails / 2 ? 0 : 1;
    const rootBus = 0x10 + 0x20 * Math.floor(k / 2);
    const rb = hex2(rootBus);
    const rootPort = `0000:${rb}:01.0`;
    const usp = `0000:${hex2(rootBus + 1)}:00.0`;
    // first-level switch: one downstream port per rail, each leading to a second-level switch shared by
    // one GPU and one NIC (PIX between them, PXB to the neighbour rail under the same root port)
    const dspK = `0000:${hex2(rootBus + 2)}:${hex2((k % 2) * 8)}.0`;
    const usp2Bus = rootBus + 3 + (k % 2) * 8;
    const usp2 = `0000:${hex2(usp2Bus)}:00.0`;
    const dspGpu = `0000:${hex2(usp2Bus + 1)}:00.0`;
    const dspNic = `0000:${hex2(usp2Bus + 1)}:01.0`;
    const gpuBus = hex2(usp2Bus + 2);
    const nicBus = hex2(usp2Bus + 3);
    const hb = `pci0000:${rb}`;
    const pcieLink = { speed: '32.0 GT/s PCIe', width: 16 };
    if (opts.gpus ?? true) {
      host.addPci({
        address: `0000:${gpuBus}:00.0`,
        hostBridge: hb,
        upstream: [rootPort, usp, dspK, usp2, dspGpu],
        vendor: '0x10de',
        device: '0x2330',
        class: '0x030200',
        driver: 'nvidia',
        numaNode: numa,
        iommuGroup: 100 + k,
        link: { speed: '32.0 GT/s PCIe', width: 16 },
      });
      host.setNvidiaGpuInformation(`0000:${gpuBus}:00.0`, dgxGpuUuid(k), k);
    }
    const pf = `0000:${nicBus}:00.0`;
    const netdev = ll === 'Ethernet' ? `ens${k + 1}f0np0` : `ibp${nicBus}s0`;
    const rdma = `mlx5_${k}`;
    host.addPf({
      address: pf,
      hostBridge: hb,
      upstream: [rootPort, usp, dspK, usp2, dspNic],
      vendor: '0x15b3',
      device: '0x1021',
      class: ll === 'Ethernet' ? '0x020000' : '0x020700',
      driver: 'mlx5_core',
      numaNode: numa,
      iommuGroup: 200 + k,
      link: pcieLink,
      totalVfs: opts.totalVfs ?? Math.max(16, vfs),
      vfDevice: '101e',
      netdev: { name: netdev, physPortName: ll === 'Ethernet' ? 'p0' : undefined, mtu: ll === 'Ethernet' ? 9000 : 4092, speed: '400000' },
      rdma: {
        name: rdma,
        nodeGuid: `b8ce:f603:00a1:${hex2(k)}c4`,
        ports: [{ linkLayer: ll, ndev: ll === 'Ethernet' ? netdev : undefined, rate: '400 Gb/sec (4X NDR)' }],
      },
      vfs: Array.from({ length: vfs }, (_, n) => ({ netdev: n < inHost ? `${netdev}v${n}` : null })),
    });
  }
  if (opts.extras) {
    host.addPci({ address: '0000:c0:00.0', hostBridge: 'pci0000:c0', upstream: ['0000:c0:01.0'], vendor: '0x8086', device: '0x1563', class: '0x020000', driver: 'ixgbe', numaNode: 1 });
    host.addNetdev('0000:c0:00.0', { name: 'eno1', speed: '10000', mtu: 1500 });
  }
  host.addNetdev(null, { name: 'lo', operstate: 'unknown', mtu: 65536, address: '00:00:00:00:00:00', ifindex: 1 });
  return host;
}

/** A Broadcom Thor (bnxt_en + bnxt_re) RoCE node: one PF with 64 possible VFs, bnxt_re hw_counters by name. */
export function buildBroadcomHost(root?: string): FixtureHost {
  const host = new FixtureHost(root);
  for (const m of ['bnxt_en', 'bnxt_re', 'ib_core', 'ib_uverbs']) host.setModule(m, 'live');
  host.addPf({
    address: '0000:41:00.0', hostBridge: 'pci0000:40', upstream: ['0000:40:01.1'], vendor: '0x14e4', device: '0x1750', driver: 'bnxt_en', numaNode: 0,
    totalVfs: 64, vfDevice: '1806', netdev: { name: 'ens3f0np0', physPortName: 'p0' },
    rdma: { name: 'bnxt_re0', hcaType: '', ports: [{ counters: {}, hwCounters: { active_qps: '3', to_retransmits: '17', oos_drop_count: '0', tx_cnp_pkts: '5', lifespan: '10' } }] },
    vfs: [{ driver: 'bnxt_en', netdev: 'ens3f0np0v0' }],
  });
  return host;
}

/**
 * An Intel E810 (ice + irdma) iWARP/RoCE node: VFs on iavf, vfio-pci and none; irdma hw_counters in mixed case,
 * one with spaces (the newer kernel naming).
 */
export function buildE810Host(root?: string): FixtureHost {
  const host = new FixtureHost(root);
  for (const m of ['ice', 'irdma', 'ib_core', 'vfio_pci']) host.setModule(m, 'live');
  host.addPf({
    address: '0000:51:00.0', hostBridge: 'pci0000:50', upstream: ['0000:50:01.1'], vendor: '0x8086', device: '0x159b', driver: 'ice', numaNode: 1,
    totalVfs: 128, offset: 8, vfDevice: '1889', netdev: { name: 'ens5f0' },
    rdma: { name: 'irdma0', nodeType: '4: RNIC', ports: [{ counters: {}, hwCounters: { ip4InOctets: '100', tcpRetransSegs: '2', cnpHandled: '9', RxECNMrkd: '1', 'rx ecn marked': '4' } }] },
    vfs: [{ driver: 'iavf', netdev: null }, { driver: 'vfio-pci', netdev: null }, { driver: null, netdev: null }],
  });
  return host;
}

// ---------------------------------------------------------------------------------------------------------
// Real captures: `path = value`, `path -> target`, `path/ (dir)`, multi-line `<<N lines>>` followed by `    | `.

export interface CaptureLoadResult {
  host: FixtureHost;
  files: number;
  links: number;
  skipped: string[];
}

/** `pathsUnder`: 'root' when capture paths start with /sys or /proc; 'sys' when they are relative to /sys. */
export function loadCapture(text: string, root?: string, pathsUnder: 'root' | 'sys' = 'root'): CaptureLoadResult {
  const host = new FixtureHost(root);
  // start from an empty tree: the capture defines everything
  rmSync(host.sys, { recursive: true, force: true });
  rmSync(host.proc, { recursive: true, force: true });
  mkdirSync(host.sys, { recursive: true });
  mkdirSync(host.proc, { recursive: true });
  const lines = text.split('\n');
  const out: CaptureLoadResult = { host, files: 0, links: 0, skipped: [] };
  const links: [string, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (pathsUnder === 'root' ? !line.startsWith('/sys/') && !line.startsWith('/proc/') : !line.startsWith('/')) continue;
    const mapPath = (p: string) => join(pathsUnder === 'root' ? host.root : host.sys, p.replace(/^\//, ''));
    const arrow = / -> /.exec(line);
    const eqIdx = line.indexOf(' = ');
    if (arrow && (eqIdx < 0 || arrow.index < eqIdx)) {
      const p = line.slice(0, arrow.index).trim();
      const target = line.slice(arrow.index + 4).replace(/\s{2,}#.*$/, '').trim();
      links.push([mapPath(p), target]);
      continue;
    }
    if (eqIdx < 0) {
      const m = /^(\S+)\/ \(dir\)/.exec(line);
      if (m?.[1]) mkdirSync(mapPath(m[1]), { recursive: true });
      continue;
    }
    const p = line.slice(0, eqIdx).trim();
    let value = line.slice(eqIdx + 3);
    const multi = /^<<(\d+) lines>>/.exec(value);
    if (multi) {
      const n = Number(multi[1]);
      const body: string[] = [];
      for (let k = 0; k < n && i + 1 < lines.length && (lines[i + 1] ?? '').startsWith('    |'); k++) {
        i++;
        body.push((lines[i] ?? '').replace(/^ {4}\| ?/, ''));
      }
      value = body.join('\n');
    } else {
      value = value.replace(/\s{2,}#.*$/, '');
      if (/^<[A-Z]+>/.test(value.trim()) || /^<(binary|write-only)/.test(value.trim())) {
        out.skipped.push(p);
        continue;
      }
    }
    const abs = mapPath(p);
    try {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, value + '\n');
      out.files++;
    } catch {
      out.skipped.push(p);
    }
  }
  for (const [abs, target] of links) {
    try {
      mkdirSync(dirname(abs), { recursive: true });
      rmSync(abs, { force: true });
      symlinkSync(target, abs);
      out.links++;
    } catch {
      out.skipped.push(abs);
    }
  }
  return out;
}

/**
 * Loads a capture from ../shared/reference/real-sysfs/<name>. When ../shared is absent the test is skipped with the
 * reason and undefined is returned (required, a failure, when CI=true; see ./shared.ts).
 */
export function loadCaptureFile(t: TestContext, name: string, pathsUnder: 'root' | 'sys' = 'root', root?: string): CaptureLoadResult | undefined {
  const file = useShared(t, `reference/real-sysfs/${name}`);
  if (file === undefined) return undefined;
  return loadCapture(readFileSync(file, 'utf8'), root, pathsUnder);
}
