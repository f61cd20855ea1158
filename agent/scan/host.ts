// Host scanner: kernel command line, CPU vendor, IOMMU state, hugepages, relevant modules, verbs ABI.
import type { HostFacts, HugepagePool, ModuleState } from '../model.ts';
import {
  parseCpuVendor,
  parseHugepageDirName,
  parseKernelCmdline,
  parseMeminfoHugepages,
  parseUint,
} from '../parse/values.ts';
import { Reader, naturalCompare, type ScanContext } from './context.ts';
import { collect, type HostRecords } from './records.ts';

/** Modules that matter along the setup chain. */
export const WATCHED_MODULES = [
  'nvidia',
  'nvidia_peermem',
  'nv_peer_mem',
  'ib_core',
  'ib_uverbs',
  'rdma_ucm',
  'mlx5_core',
  'mlx5_ib',
  'mlx4_core',
  'bnxt_en',
  'bnxt_re',
  'ice',
  'irdma',
  'i40e',
  'vfio_pci',
  'vfio_iommu_type1',
  'amdgpu',
] as const;

/**
 * Host facts. The kernel command line, CPU vendor, kernel release and IOMMU state are fixed until reboot (IOMMU
 * groups come and go with PCI functions, which makes a full scan anyway): a cheap rescan (`prev`) keeps them and
 * re-reads hugepages, modules and the verbs ABI.
 */
export function scanHost(ctx: ScanContext, prev?: HostRecords): HostRecords {
  const r = new Reader(ctx, 'host');
  const fixed = prev !== undefined ? { value: prev.facts, issues: prev.fixedIssues } : collect(ctx, () => readFixedHost(r));
  const state = collect(ctx, () => {
    const { verbsAbiVersion: _previousAbi, ...fixedFacts } = fixed.value;
    const host: HostFacts = {
      ...fixedFacts,
      hugepages: scanHugepages(r),
      modules: scanModules(r),
      uverbs: [],
    };
    const abi = r.attr('class/infiniband_verbs/abi_version', parseUint);
    if (abi !== undefined) host.verbsAbiVersion = abi;
    host.uverbs = (r.list('class/infiniband_verbs') ?? []).filter((n) => n.startsWith('uverbs')).sort(naturalCompare);
    return host;
  });
  return { facts: state.value, fixedIssues: fixed.issues, stateIssues: state.issues };
}

function readFixedHost(r: Reader): HostFacts {
  const host: HostFacts = {
    kernelArgs: {},
    iommu: { units: [], groups: 0, groupTypes: {} },
    hugepages: [],
    modules: {},
    uverbs: [],
  };
  const cmdline = r.procText('cmdline');
  if (cmdline !== undefined) {
    host.cmdline = cmdline.trim();
    host.kernelArgs = parseKernelCmdline(host.cmdline);
  }
  const cpuinfo = r.procText('cpuinfo');
  if (cpuinfo !== undefined) {
    const v = parseCpuVendor(cpuinfo);
    if (v !== undefined) host.cpuVendor = v;
  }
  const release = r.procText('sys/kernel/osrelease');
  if (release !== undefined) host.kernelRelease = release.trim();

  const units = listDir(r, 'class/iommu');
  host.iommu.units = units.names;
  if (units.missing) host.iommu.unitsUnlisted = 'missing';
  const groupList = listDir(r, 'kernel/iommu_groups');
  const groups = groupList.names;
  if (groupList.missing) host.iommu.groupsUnlisted = r.ctx.sys.list('kernel').ok ? 'missing' : 'no-kernel-dir';
  host.iommu.groups = groups.length;
  for (const g of groups) {
    const t = r.text(`kernel/iommu_groups/${g}/type`);
    if (t !== undefined && t !== '') host.iommu.groupTypes[t] = (host.iommu.groupTypes[t] ?? 0) + 1;
  }
  return host;
}

/** A directory listing, sorted; `missing` when the directory does not exist (other errors are counted skips). */
function listDir(r: Reader, path: string): { names: string[]; missing: boolean } {
  const res = r.ctx.sys.list(path);
  if (res.ok) return { names: res.value.sort(), missing: false };
  if (res.code !== 'ENOENT') r.issue(path, res.code);
  return { names: [], missing: res.code === 'ENOENT' };
}

export function scanHugepages(r: Reader): HugepagePool[] {
  const pools = new Map<number, HugepagePool>();
  for (const dir of r.list('kernel/mm/hugepages') ?? []) {
    const sizeKb = parseHugepageDirName(dir);
    if (sizeKb === undefined) continue;
    const pool: HugepagePool = { sizeKb, perNode: {} };
    const total = r.attr(`kernel/mm/hugepages/${dir}/nr_hugepages`, parseUint);
    if (total !== undefined) pool.total = total;
    const free = r.attr(`kernel/mm/hugepages/${dir}/free_hugepages`, parseUint);
    if (free !== undefined) pool.free = free;
    pools.set(sizeKb, pool);
  }
  const nodes = (r.list('devices/system/node') ?? []).filter((n) => /^node\d+$/.test(n)).sort(naturalCompare);
  for (const node of nodes) {
    for (const dir of r.list(`devices/system/node/${node}/hugepages`) ?? []) {
      const sizeKb = parseHugepageDirName(dir);
      if (sizeKb === undefined) continue;
      const n = r.attr(`devices/system/node/${node}/hugepages/${dir}/nr_hugepages`, parseUint);
      if (n === undefined) continue;
      let pool = pools.get(sizeKb);
      if (!pool) {
        pool = { sizeKb, perNode: {} };
        pools.set(sizeKb, pool);
      }
      pool.perNode[node.slice(4)] = n;
    }
  }
  if (pools.size === 0) {
    // no sysfs hugepage directories: fall back to /proc/meminfo for the default size
    const meminfo = r.procText('meminfo');
    if (meminfo !== undefined) {
      const m = parseMeminfoHugepages(meminfo);
      if (m.sizeKb !== undefined) {
        const pool: HugepagePool = { sizeKb: m.sizeKb, perNode: {} };
        if (m.total !== undefined) pool.total = m.total;
        if (m.free !== undefined) pool.free = m.free;
        pools.set(m.sizeKb, pool);
      }
    }
  }
  return [...pools.values()].sort((a, b) => a.sizeKb - b.sizeKb);
}

export function scanModules(r: Reader): Record<string, ModuleState> {
  const out: Record<string, ModuleState> = {};
  // no /sys/module at all (a captured tree): every module state is unknown, not "not loaded"
  const root = r.ctx.sys.list('module');
  if (!root.ok && root.code === 'ENOENT') return out;
  for (const name of WATCHED_MODULES) {
    const dir = r.ctx.sys.list(`module/${name}`);
    if (!dir.ok) {
      out[name] = { loaded: false };
      continue;
    }
    // A built-in module has a /sys/module dir without initstate; a loadable one reads `live` once loaded.
    const state: ModuleState = { loaded: true };
    const init = r.text(`module/${name}/initstate`);
    if (init !== undefined) {
      state.initstate = init;
      state.loaded = init === 'live';
    }
    const version = r.text(`module/${name}/version`);
    if (version !== undefined) state.version = version;
    out[name] = state;
  }
  return out;
}
