// SR-IOV scanner: physical network functions (SR-IOV capable or RDMA capable, any vendor) and their VFs from
// the PF's `virtfnN` links. A VF's netdev is visible only while it sits in the host network namespace.
import type { Pf, PciFunction, Vf } from '../model.ts';
import { isNetworkClass, parseBareHex, parsePciAddress, parseUint } from '../parse/values.ts';
import { Reader, naturalCompare, type ScanContext } from './context.ts';

const DEVICES = 'bus/pci/devices';

export function scanSriov(ctx: ScanContext, pci: readonly PciFunction[]): Pf[] {
  const r = new Reader(ctx, 'sriov');
  const byAddr = new Map(pci.map((f) => [f.address, f]));
  const pfs: Pf[] = [];
  for (const fn of pci) {
    if (fn.physfn !== undefined || !isNetworkClass(fn.class)) continue;
    const base = `${DEVICES}/${fn.address}`;
    const totalVfs = r.attr(`${base}/sriov_totalvfs`, parseUint);
    const rdmaDevices = r.list(`${base}/infiniband`) ?? [];
    if (totalVfs === undefined && rdmaDevices.length === 0) continue;
    const netdevs = r.list(`${base}/net`) ?? [];
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
      scanVfs(r, pf, base, byAddr);
    } else {
      pf.numVfs = 0;
    }
    pfs.push(pf);
  }
  return pfs;
}

function scanVfs(r: Reader, pf: Pf, base: string, byAddr: Map<string, PciFunction>): void {
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
    const driver = vfFn?.driver ?? r.link(`${DEVICES}/${addr.value}/driver`);
    if (driver !== undefined) vf.driver = driver;
    const net = r.list(`${DEVICES}/${addr.value}/net`);
    if (net !== undefined && net[0] !== undefined) vf.netdev = net[0];
    const ib = r.list(`${DEVICES}/${addr.value}/infiniband`);
    if (ib !== undefined && ib[0] !== undefined) vf.rdmaDevice = ib[0];
    pf.vfs.push(vf);
  }
}
