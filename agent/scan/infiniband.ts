// RDMA scanner: /sys/class/infiniband devices, their ports, and EVERY counter file by name (vendor-neutral).
import type { RdmaDevice, RdmaPort } from '../model.ts';
import { parseCounter, parseGuid, parseHexNumber, parseNumberedName, parseRdmaRate, parseUint } from '../parse/values.ts';
import { Reader, naturalCompare, parseDevicePath, type ScanContext } from './context.ts';
import { collect, type RdmaRecords } from './records.ts';

const IB = 'class/infiniband';
/** GID type entries read per port (populated entries sit at the low indexes). */
const GID_TYPES_READ = 8;
/** An empty GID table entry fails with EINVAL; ndevs fail with EINVAL on InfiniBand ports. */
const GID_QUIET = ['ENOENT', 'EINVAL', 'EAGAIN', 'ENODATA'];

/** Every RDMA device of class/infiniband; a cheap rescan reads them as a full scan does (ports and counters move). */
export function scanInfiniband(ctx: ScanContext): RdmaRecords {
  const steps = scanInfinibandSteps(ctx);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** scanInfiniband in steps: it yields after each device. */
export function* scanInfinibandSteps(ctx: ScanContext): Generator<void, RdmaRecords> {
  const r = new Reader(ctx, 'infiniband');
  const listing = collect(ctx, () => r.list(IB));
  const out: RdmaRecords = { listingIssues: listing.issues, devices: [] };
  for (const name of listing.value ?? []) {
    const got = collect(ctx, () => scanDevice(r, name));
    if (got.value) out.devices.push({ device: got.value, issues: got.issues });
    else out.listingIssues.push(...got.issues);
    yield;
  }
  out.devices.sort((a, b) => naturalCompare(a.device.name, b.device.name));
  return out;
}

function scanDevice(r: Reader, name: string): RdmaDevice | undefined {
  const base = `${IB}/${name}`;
  const target = r.ctx.sys.readlink(base);
  const dev: RdmaDevice = { name, ports: [] };
  if (target.ok) {
    const chain = parseDevicePath(target.value).chain;
    const pci = chain[chain.length - 1];
    if (pci !== undefined) dev.pci = pci;
  } else if (target.code === 'EINVAL') {
    const d = r.ctx.sys.linkName(`${base}/device`);
    if (d.ok) dev.pci = d.value;
  } else {
    r.issue(base, target.code);
    return undefined;
  }
  const nodeGuid = r.attr(`${base}/node_guid`, parseGuid);
  if (nodeGuid !== undefined) dev.nodeGuid = nodeGuid;
  const sysImageGuid = r.attr(`${base}/sys_image_guid`, parseGuid);
  if (sysImageGuid !== undefined) dev.sysImageGuid = sysImageGuid;
  const fw = r.text(`${base}/fw_ver`);
  if (fw !== undefined && fw !== '') dev.fwVer = fw;
  const hca = r.text(`${base}/hca_type`);
  if (hca !== undefined && hca !== '') dev.hcaType = hca;
  const board = r.text(`${base}/board_id`);
  if (board !== undefined && board !== '') dev.boardId = board;
  const hwRev = r.text(`${base}/hw_rev`);
  if (hwRev !== undefined && hwRev !== '') dev.hwRev = hwRev;
  const nodeType = r.attr(`${base}/node_type`, parseNumberedName);
  if (nodeType !== undefined) dev.nodeType = nodeType.name;
  const ports = r.list(`${base}/ports`) ?? [];
  for (const p of ports.sort(naturalCompare)) {
    const num = parseUint(p);
    if (!num.ok) {
      r.issue(`${base}/ports/${p}`, 'PARSE', num.reason);
      continue;
    }
    dev.ports.push(scanPort(r, `${base}/ports/${p}`, num.value));
  }
  return dev;
}

export function scanPort(r: Reader, base: string, port: number): RdmaPort {
  const out: RdmaPort = { port, gidTypes: [], counters: {}, hwCounters: {} };
  const state = r.attr(`${base}/state`, parseNumberedName);
  if (state !== undefined) {
    out.state = state.name;
    out.stateCode = state.code;
  }
  const phys = r.attr(`${base}/phys_state`, parseNumberedName);
  if (phys !== undefined) {
    out.physState = phys.name;
    out.physStateCode = phys.code;
  }
  const rateText = r.text(`${base}/rate`, ['ENOENT', 'EINVAL']);
  if (rateText !== undefined) {
    out.rate = rateText;
    const rate = parseRdmaRate(rateText);
    if (rate.ok) out.rateBitsPerSecond = rate.value;
    else r.issue(`${base}/rate`, 'PARSE', rate.reason);
  }
  const ll = r.text(`${base}/link_layer`);
  if (ll !== undefined) out.linkLayer = ll;
  const lid = r.attr(`${base}/lid`, parseHexNumber);
  if (lid !== undefined) out.lid = lid;
  const smLid = r.attr(`${base}/sm_lid`, parseHexNumber);
  if (smLid !== undefined) out.smLid = smLid;
  const types = new Set<string>();
  for (let i = 0; i < GID_TYPES_READ; i++) {
    const res = r.ctx.sys.read(`${base}/gid_attrs/types/${i}`);
    if (!res.ok) {
      if (res.code === 'ENOENT' && i === 0) break;
      if (!GID_QUIET.includes(res.code)) r.issue(`${base}/gid_attrs/types/${i}`, res.code);
      continue;
    }
    const t = res.value.trim();
    if (t !== '') types.add(t);
  }
  out.gidTypes = [...types].sort();
  if (out.linkLayer === 'Ethernet') {
    const ndev = r.text(`${base}/gid_attrs/ndevs/0`, GID_QUIET);
    if (ndev !== undefined && ndev !== '') out.netdev = ndev;
  }
  out.counters = readCounterDir(r, `${base}/counters`);
  out.hwCounters = readCounterDir(r, `${base}/hw_counters`);
  // mlx4 (and kernels before 4.5) keep the 64-bit PMA counters apart, in counters_ext/
  const ext = readCounterFiles(r, `${base}/counters_ext`);
  if (ext !== undefined) out.countersExt = ext;
  return out;
}

/**
 * The issue code of a counter file the driver reports as not supported (`N/A (no PMA)` text, EOPNOTSUPP on read): a
 * state of the device, listed with the skipped attributes but counted in railwatch_scan_errors_total only when it
 * first appears (again), not on every scan.
 */
export const UNSUPPORTED = 'UNSUPPORTED';

/**
 * Most counter files a port directory may contribute (mlx5 has ~35 hw_counters, bnxt_re ~70, irdma ~50): a broken
 * or hostile tree with thousands of files must not explode the metric cardinality. Files past it are one counted skip.
 */
export const MAX_COUNTERS_PER_DIR = 512;

/** Reads every regular file of a counter directory; unreadable or unparsable ones are counted skips. */
export function readCounterDir(r: Reader, dir: string): Record<string, bigint> {
  return readCounterFiles(r, dir) ?? {};
}

/** readCounterDir, but undefined when the directory does not exist (an optional directory: absent, not empty). */
export function readCounterFiles(r: Reader, dir: string): Record<string, bigint> | undefined {
  const listing = r.ctx.sys.listTyped(dir);
  const out: Record<string, bigint> = {};
  if (!listing.ok) {
    if (listing.code !== 'ENOENT') r.issue(dir, listing.code);
    return listing.code === 'ENOENT' ? undefined : out;
  }
  let names = listing.value.filter((e) => !e.dir).map((e) => e.name).sort(naturalCompare);
  if (names.length > MAX_COUNTERS_PER_DIR) {
    r.issue(dir, 'E2BIG', `${names.length} counter files; only the first ${MAX_COUNTERS_PER_DIR} are read`);
    names = names.slice(0, MAX_COUNTERS_PER_DIR);
  }
  for (const name of names) {
    if (name === '__proto__') {
      r.issue(`${dir}/${name}`, 'PARSE', 'reserved counter name');
      continue;
    }
    const path = `${dir}/${name}`;
    const res = r.ctx.sys.read(path);
    if (res.ok && res.value.trim().startsWith('N/A')) {
      // the driver says the counter does not exist on this device (i40iw: `N/A (no PMA)`): a known state, no value
      r.issue(path, UNSUPPORTED, res.value.trim().slice(0, 40));
      continue;
    }
    if (!res.ok && (res.code === 'EOPNOTSUPP' || res.code === 'ENOTSUP')) {
      r.issue(path, UNSUPPORTED, res.code);
      continue;
    }
    const v = r.fromResult(res, path, parseCounter, []);
    if (v !== undefined) out[name] = v;
  }
  return out;
}
