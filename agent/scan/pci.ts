// PCI scanner: every function under /sys/bus/pci/devices with identity, driver, NUMA, IOMMU group, PCIe link
// and its position in the PCIe tree (the symlink target's path is the topology).
import type { PciFunction, PcieLink } from '../model.ts';
import {
  comparePciAddress,
  parseHexId,
  parseLinkSpeed,
  parseNumaNode,
  parsePciAddress,
  parsePciModalias,
  parseUint,
  type PciModalias,
} from '../parse/values.ts';
import { Reader, parseDevicePath, type ScanContext } from './context.ts';

const DEVICES = 'bus/pci/devices';

/** Reads one PCI function; undefined when it vanished or its link is broken (counted). */
export function scanPciFunction(r: Reader, address: string): PciFunction | undefined {
  const base = `${DEVICES}/${address}`;
  const physfn = r.ctx.sys.linkName(`${base}/physfn`);
  if (physfn.ok) {
    // A VF: its identity, NUMA node, PCIe link and position are its PF's (filled in by the SR-IOV scanner,
    // VFs are the PF's siblings); on a host with a thousand VFs, not reading them per VF keeps the scan cheap.
    const fn: PciFunction = { address, link: { degraded: false }, upstream: [] };
    const p = parsePciAddress(physfn.value);
    if (p.ok) fn.physfn = p.value;
    else r.issue(`${base}/physfn`, 'PARSE', p.reason);
    const driver = r.link(`${base}/driver`);
    if (driver !== undefined) fn.driver = driver;
    return fn;
  }
  const target = r.ctx.sys.readlink(base);
  if (!target.ok) {
    // A plain directory (some test trees, or sysfs mounted oddly) is accepted; anything else is a skip.
    if (target.code !== 'EINVAL') {
      r.issue(base, target.code);
      return undefined;
    }
  }
  const pos = target.ok ? parseDevicePath(target.value) : { chain: [address] };
  const fn: PciFunction = {
    address,
    link: { degraded: false },
    upstream: pos.chain.filter((a) => a !== address),
  };
  if (pos.hostBridge !== undefined) fn.hostBridge = pos.hostBridge;
  const driver = r.link(`${base}/driver`);
  if (driver !== undefined) fn.driver = driver;
  if (physfn.code !== 'ENOENT') r.issue(`${base}/physfn`, physfn.code);
  const clsRes = r.ctx.sys.read(`${base}/class`);
  if (!clsRes.ok && clsRes.code === 'ENOENT' && !r.ctx.sys.list(base).ok) {
    // removed between readdir and read (or a dangling link): one counted skip for the whole function
    r.issue(base, 'ENOENT', 'device vanished during the scan');
    return undefined;
  }
  const vendorRes = r.ctx.sys.read(`${base}/vendor`);
  const deviceRes = r.ctx.sys.read(`${base}/device`);
  // without the identity files (some captured trees) the `modalias` carries the same ids and class
  const absent = (res: typeof clsRes) => !res.ok && res.code === 'ENOENT';
  const alias = absent(clsRes) || absent(vendorRes) || absent(deviceRes) ? modaliasIds(r, base) : undefined;
  const cls = alias !== undefined && absent(clsRes) ? alias.class : r.fromResult(clsRes, `${base}/class`, parseHexId, []);
  if (cls !== undefined) fn.class = cls;
  const vendor = alias !== undefined && absent(vendorRes) ? alias.vendor : r.fromResult(vendorRes, `${base}/vendor`, parseHexId, []);
  if (vendor !== undefined) fn.vendor = vendor;
  const device = alias !== undefined && absent(deviceRes) ? alias.device : r.fromResult(deviceRes, `${base}/device`, parseHexId, []);
  if (device !== undefined) fn.device = device;
  const sv = r.attr(`${base}/subsystem_vendor`, parseHexId) ?? alias?.subsystemVendor;
  if (sv !== undefined) fn.subsystemVendor = sv;
  const sd = r.attr(`${base}/subsystem_device`, parseHexId) ?? alias?.subsystemDevice;
  if (sd !== undefined) fn.subsystemDevice = sd;
  const numa = r.attr(`${base}/numa_node`, parseNumaNode);
  if (numa !== undefined) fn.numaNode = numa;
  const group = r.link(`${base}/iommu_group`);
  if (group !== undefined) {
    const g = parseUint(group);
    if (g.ok) fn.iommuGroup = g.value;
    else r.issue(`${base}/iommu_group`, 'PARSE', g.reason);
  }
  fn.link = readPcieLink(r, base);
  return fn;
}

/** The ids and class of a function's `modalias`; undefined (and a counted skip when unparsable) without one. */
function modaliasIds(r: Reader, base: string): PciModalias | undefined {
  return r.attr(`${base}/modalias`, parsePciModalias);
}

export function readPcieLink(r: Reader, base: string): PcieLink {
  const link: PcieLink = { degraded: false };
  // link attributes exist only on PCIe functions; EINVAL/ENODEV occur on some root-complex integrated endpoints
  const quiet = ['ENOENT', 'EINVAL', 'ENODEV'];
  const cs = r.attr(`${base}/current_link_speed`, parseLinkSpeed, quiet);
  const ms = r.attr(`${base}/max_link_speed`, parseLinkSpeed, quiet);
  const cw = r.attr(`${base}/current_link_width`, parseUint, quiet);
  const mw = r.attr(`${base}/max_link_width`, parseUint, quiet);
  if (cs !== undefined) link.currentSpeedGTs = cs;
  if (ms !== undefined) link.maxSpeedGTs = ms;
  if (cw !== undefined) link.currentWidth = cw;
  if (mw !== undefined) link.maxWidth = mw;
  link.degraded = isDegraded(link);
  return link;
}

/**
 * Degraded: a known, non-zero current width below its known maximum, or (not for GPUs) a known current speed below
 * its maximum. GPUs lower their link speed when idle (power management), so only their width counts; a width of 0
 * is a link that is down or unreadable, not judged here.
 */
export function isDegraded(link: PcieLink, role: 'pf' | 'gpu' = 'pf'): boolean {
  const below = (cur: number | undefined, max: number | undefined) => cur !== undefined && max !== undefined && cur > 0 && cur < max;
  if (below(link.currentWidth, link.maxWidth)) return true;
  return role !== 'gpu' && below(link.currentSpeedGTs, link.maxSpeedGTs);
}

export function scanPci(ctx: ScanContext): PciFunction[] {
  const r = new Reader(ctx, 'pci');
  const names = r.list(DEVICES, []);
  if (names === undefined) return [];
  const out: PciFunction[] = [];
  for (const name of names) {
    const addr = parsePciAddress(name);
    if (!addr.ok) {
      r.issue(`${DEVICES}/${name}`, 'PARSE', addr.reason);
      continue;
    }
    const fn = scanPciFunction(r, addr.value);
    if (fn) out.push(fn);
  }
  return out.sort((a, b) => comparePciAddress(a.address, b.address));
}
