// PCI scanner: every function under /sys/bus/pci/devices with identity, driver, NUMA, IOMMU group, PCIe link and
// its position in the PCIe tree (the symlink target's path is the topology), and the SR-IOV attributes and
// `virtfnN` links of network functions (they are attributes of the same directory).
//
// Each PF<->VF link is read once, from the PF's side: functions are read in address order, a VF always comes after
// its PF (its routing ID is the PF's plus sriov_offset), and a function a PF's `virtfnN` points at is a VF, of which
// only the driver is read (its identity, NUMA node and position are its PF's). `physfn` is read only for network
// functions no PF claimed, so a VF whose PF did not list it is still known as a VF.
//
// A cheap rescan (`prev` given) re-reads only the state (drivers, PCIe link training, sriov_numvfs, the PF `net/`
// listings) over the previous records; a different `bus/pci/devices` listing, sriov_numvfs or PF `net/` listing is
// a structural change (StructureChanged) and the caller runs a full scan.
import type { PciFunction, PcieLink } from '../model.ts';
import {
  comparePciAddress,
  isNetworkClass,
  parseBareHex,
  parseHexId,
  parseLinkSpeed,
  parseNumaNode,
  parsePciAddress,
  parsePciModalias,
  parseUint,
  type PciModalias,
} from '../parse/values.ts';
import { Reader, naturalCompare, parseDevicePath, type ScanContext } from './context.ts';
import { collect, StructureChanged, type PciRecord, type PciRecords, type SriovRecord, type VfLink } from './records.ts';

const DEVICES = 'bus/pci/devices';

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The fixed facts of a function that is not a known VF; undefined when it vanished or its link is broken (counted). */
function readFixed(r: Reader, address: string): PciFunction | undefined {
  const base = `${DEVICES}/${address}`;
  const target = r.ctx.sys.readlink(base);
  if (!target.ok) {
    // A plain directory (some test trees, or sysfs mounted oddly) is accepted; anything else is a skip.
    if (target.code !== 'EINVAL') {
      r.issue(base, target.code);
      return undefined;
    }
  }
  const pos = target.ok ? parseDevicePath(target.value) : { chain: [address] };
  const fn: PciFunction = { address, link: {}, upstream: pos.chain.filter((a) => a !== address) };
  if (pos.hostBridge !== undefined) fn.hostBridge = pos.hostBridge;
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
  return fn;
}

/** The ids and class of a function's `modalias`; undefined (and a counted skip when unparsable) without one. */
function modaliasIds(r: Reader, base: string): PciModalias | undefined {
  return r.attr(`${base}/modalias`, parsePciModalias);
}

export function readPcieLink(r: Reader, base: string): PcieLink {
  const link: PcieLink = {};
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
  return link;
}

/** The fixed SR-IOV attributes and `virtfnN` links of a PF; undefined when it has no `sriov_totalvfs`. */
function readSriovFixed(sr: Reader, base: string): SriovRecord | undefined {
  const totalVfs = sr.attr(`${base}/sriov_totalvfs`, parseUint);
  if (totalVfs === undefined) return undefined;
  const rec: SriovRecord = { totalVfs, links: [] };
  const offset = sr.attr(`${base}/sriov_offset`, parseUint);
  if (offset !== undefined) rec.offset = offset;
  const stride = sr.attr(`${base}/sriov_stride`, parseUint);
  if (stride !== undefined) rec.stride = stride;
  const vfDevice = sr.attr(`${base}/sriov_vf_device`, parseBareHex);
  if (vfDevice !== undefined) rec.vfDevice = vfDevice;
  const entries = sr.list(base, []) ?? [];
  for (const name of entries.filter((e) => /^virtfn\d+$/.test(e)).sort(naturalCompare)) {
    const link: VfLink = { index: Number(name.slice('virtfn'.length)) };
    const target = sr.ctx.sys.linkName(`${base}/${name}`);
    if (!target.ok) sr.issue(`${base}/${name}`, target.code);
    else {
      const addr = parsePciAddress(target.value);
      if (addr.ok) link.address = addr.value;
      else sr.issue(`${base}/${name}`, 'PARSE', addr.reason);
    }
    rec.links.push(link);
  }
  return rec;
}

/**
 * The state of a function: driver, PCIe link (not for VFs), sriov_numvfs and the `net/` listing of a PF. Undefined
 * (counted) for a VF that vanished: its driver link is the one read a VF gets, so only a driverless VF is checked.
 */
function readState(r: Reader, sr: Reader, rec: PciRecord): PciRecord | undefined {
  const base = `${DEVICES}/${rec.fn.address}`;
  // built without the old driver rather than with `delete`, which turns an object into a slow dictionary (~450 bytes
  // more for each of 1024 VFs)
  const { driver: _previousDriver, ...fixed } = rec.fn;
  const fn: PciFunction = { ...fixed, link: rec.pf === undefined ? readPcieLink(r, base) : {} };
  const driver = r.link(`${base}/driver`);
  if (driver !== undefined) fn.driver = driver;
  else if (rec.pf !== undefined && !r.ctx.sys.list(base).ok) {
    r.issue(base, 'ENOENT', 'device vanished during the scan');
    return undefined;
  }
  const out: PciRecord = { ...rec, fn };
  if (rec.sriov !== undefined) {
    const { numVfs: _previousNumVfs, ...sriovFixed } = rec.sriov;
    const sriov: SriovRecord = sriovFixed;
    const numVfs = sr.attr(`${base}/sriov_numvfs`, parseUint);
    if (numVfs !== undefined) sriov.numVfs = numVfs;
    out.sriov = sriov;
  }
  if (rec.netNames !== undefined) out.netNames = r.list(`${base}/net`) ?? [];
  return out;
}

export function scanPci(ctx: ScanContext, prev?: PciRecords): PciRecords {
  const steps = scanPciSteps(ctx, prev);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** scanPci in steps: it yields after each function, so a caller can give the event loop a turn (registry.ts). */
export function* scanPciSteps(ctx: ScanContext, prev?: PciRecords): Generator<void, PciRecords> {
  const r = new Reader(ctx, 'pci');
  const sr = new Reader(ctx, 'sriov');
  const listing = collect(ctx, () => r.list(DEVICES, []));
  const listed = listing.value ?? [];
  if (prev !== undefined) return yield* rescanPci(r, sr, prev, listed);
  const listingIssues = listing.issues;
  const addresses: string[] = [];
  for (const name of listed) {
    const addr = parsePciAddress(name);
    if (addr.ok) addresses.push(addr.value);
    else listingIssues.push({ scanner: 'pci', path: `${DEVICES}/${name}`, code: 'PARSE', detail: addr.reason });
  }
  addresses.sort(comparePciAddress);
  /** VF address -> PF address, from the `virtfnN` links of the PFs read so far. */
  const vfOf = new Map<string, string>();
  const functions: PciRecord[] = [];
  for (const address of addresses) {
    const pf = vfOf.get(address);
    let rec: PciRecord;
    if (pf !== undefined) {
      rec = { fn: { address, link: {}, upstream: [] }, pf, fixedIssues: [], stateIssues: [] };
    } else {
      const fixed = collect(ctx, () => {
        const fn = readFixed(r, address);
        if (fn === undefined) return undefined;
        const out: PciRecord = { fn, fixedIssues: [], stateIssues: [] };
        if (!isNetworkClass(fn.class)) return out;
        const base = `${DEVICES}/${address}`;
        const physfn = r.ctx.sys.linkName(`${base}/physfn`);
        if (physfn.ok) {
          // a VF that no PF listed before it (its PF's virtfn link is missing): still a VF
          const p = parsePciAddress(physfn.value);
          if (p.ok) out.pf = p.value;
          else r.issue(`${base}/physfn`, 'PARSE', p.reason);
          return out;
        }
        if (physfn.code !== 'ENOENT') r.issue(`${base}/physfn`, physfn.code);
        const sriov = readSriovFixed(sr, base);
        if (sriov !== undefined) out.sriov = sriov;
        out.netNames = [];
        return out;
      });
      if (fixed.value === undefined) {
        // vanished: the listing names it, so its skip belongs to the listing
        listingIssues.push(...fixed.issues);
        continue;
      }
      rec = { ...fixed.value, fixedIssues: fixed.issues };
      for (const link of rec.sriov?.links ?? []) if (link.address !== undefined) vfOf.set(link.address, address);
    }
    const state = collect(ctx, () => readState(r, sr, rec));
    if (state.value === undefined) listingIssues.push(...state.issues);
    else functions.push({ ...state.value, stateIssues: state.issues });
    yield;
  }
  return { listed, listingIssues, functions };
}

function* rescanPci(r: Reader, sr: Reader, prev: PciRecords, listed: string[]): Generator<void, PciRecords> {
  if (!sameList(listed, prev.listed)) throw new StructureChanged('PCI functions changed');
  const functions: PciRecord[] = [];
  for (const rec of prev.functions) {
    const state = collect(r.ctx, () => readState(r, sr, rec));
    const next = state.value;
    if (next === undefined) throw new StructureChanged(`${rec.fn.address} vanished`);
    if (next.sriov?.numVfs !== rec.sriov?.numVfs) throw new StructureChanged(`sriov_numvfs of ${rec.fn.address} changed`);
    if (!sameList(next.netNames, rec.netNames)) throw new StructureChanged(`netdevs of ${rec.fn.address} changed`);
    functions.push({ ...next, stateIssues: state.issues });
    yield;
  }
  return { listed, listingIssues: prev.listingIssues, functions };
}
