// SR-IOV scanner: physical network functions (SR-IOV capable or RDMA capable, any vendor) and their VFs from
// the PF's `virtfnN` links. A VF's netdev is visible only while it sits in the host network namespace.
import type { Netdev, Pf, PciFunction, RdmaDevice, Vf } from '../model.ts';
import { isNetworkClass, parseBareHex, parsePciAddress, parseUint } from '../parse/values.ts';
import { Reader, naturalCompare, type ScanContext } from './context.ts';

const DEVICES = 'bus/pci/devices';

function groupByPci<T extends { pci?: string; name: string }>(items: readonly T[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const it of items) {
    if (it.pci === undefined) continue;
    const list = out.get(it.pci);
    if (list) list.push(it.name);
    else out.set(it.pci, [it.name]);
  }
  return out;
}

/**
 * Builds PFs and VFs. Netdevs and RDMA devices are matched to functions through the net and infiniband scans
 * (their `device` paths), so a VF's netdev counts as present exactly when it is in this network namespace.
 * VF PciFunctions get their PF's identity and NUMA node (VFs share them; the PCI scan does not read them).
 */
export function scanSriov(ctx: ScanContext, pci: PciFunction[], netdevs: readonly Netdev[], rdma: readonly RdmaDevice[]): Pf[] {
  const r = new Reader(ctx, 'sriov');
  const byAddr = new Map(pci.map((f) => [f.address, f]));
  const netByPci = groupByPci(netdevs);
  const rdmaByPci = groupByPci(rdma);
  const pfs: Pf[] = [];
  for (const fn of pci) {
    if (fn.physfn !== undefined || !isNetworkClass(fn.class)) continue;
    const base = `${DEVICES}/${fn.address}`;
    const totalVfs = r.attr(`${base}/sriov_totalvfs`, parseUint);
    const rdmaDevices = rdmaByPci.get(fn.address) ?? [];
    if (totalVfs === undefined && rdmaDevices.length === 0) continue;
    const netdevs = netByPci.get(fn.address) ?? [];
    const pf: Pf = {
      pci: fn.address,
      netdevs,
      sriovCapable: totalVfs !== undefined,
      totalVfs: totalVfs ?? 0,
      rdmaDevices,
      vfs: [],
      vfLinksDangling: 0,
    };
    if (fn.driver !== undefined) pf.driver = fn.driver;
    if (fn.vendor !== undefined) pf.vendor = fn.vendor;
    if (fn.device !== undefined) pf.device = fn.device;
    if (fn.class !== undefined) pf.class = fn.class;
    if (fn.numaNode !== undefined) pf.numaNode = fn.numaNode;
    if (totalVfs !== undefined) {
      const numVfs = r.attr(`${base}/sriov_numvfs`, parseUint);
      if (numVfs !== undefined) pf.numVfs = numVfs;
      const offset = r.attr(`${base}/sriov_offset`, parseUint);
      if (offset !== undefined) pf.offset = offset;
      const stride = r.attr(`${base}/sriov_stride`, parseUint);
      if (stride !== undefined) pf.stride = stride;
      const vfDevice = r.attr(`${base}/sriov_vf_device`, parseBareHex);
      if (vfDevice !== undefined) pf.vfDevice = vfDevice;
      scanVfs(r, pf, fn, base, byAddr, netByPci, rdmaByPci);
    } else {
      pf.numVfs = 0;
    }
    pfs.push(pf);
  }
  return pfs;
}

function scanVfs(
  r: Reader,
  pf: Pf,
  pfFn: PciFunction,
  base: string,
  byAddr: Map<string, PciFunction>,
  netByPci: Map<string, string[]>,
  rdmaByPci: Map<string, string[]>,
): void {
  const entries = r.list(base, []) ?? [];
  const links = entries.filter((e) => /^virtfn\d+$/.test(e)).sort(naturalCompare);
  for (const link of links) {
    const index = Number(link.slice('virtfn'.length));
    const target = r.ctx.sys.linkName(`${base}/${link}`);
    if (!target.ok) {
      r.issue(`${base}/${link}`, target.code);
      pf.vfLinksDangling++;
      continue;
    }
    const addr = parsePciAddress(target.value);
    if (!addr.ok) {
      r.issue(`${base}/${link}`, 'PARSE', addr.reason);
      pf.vfLinksDangling++;
      continue;
    }
    const vfFn = byAddr.get(addr.value);
    if (vfFn === undefined) {
      // the link exists but its target function is gone (dangling), or appeared after the PCI listing
      const still = r.ctx.sys.list(`${DEVICES}/${addr.value}`);
      if (!still.ok) {
        pf.vfLinksDangling++;
        continue;
      }
    }
    const vf: Vf = { index, pci: addr.value };
    const driver = vfFn !== undefined ? vfFn.driver : r.link(`${DEVICES}/${addr.value}/driver`);
    if (driver !== undefined) vf.driver = driver;
    const net = netByPci.get(addr.value);
    if (net?.[0] !== undefined) vf.netdev = net[0];
    const ib = rdmaByPci.get(addr.value);
    if (ib?.[0] !== undefined) vf.rdmaDevice = ib[0];
    if (vfFn !== undefined) {
      if (pfFn.vendor !== undefined) vfFn.vendor = pfFn.vendor;
      if (pf.vfDevice !== undefined) vfFn.device = pf.vfDevice;
      if (pfFn.class !== undefined) vfFn.class = pfFn.class;
      if (pfFn.numaNode !== undefined) vfFn.numaNode = pfFn.numaNode;
      if (pfFn.hostBridge !== undefined) vfFn.hostBridge = pfFn.hostBridge;
      vfFn.upstream = pfFn.upstream;
    }
    pf.vfs.push(vf);
  }
}
