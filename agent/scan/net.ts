// Netdev scanner: /sys/class/net, and the PF netdevs that show only in their PCI function's `net/` directory
// (some trees and kernels list a PF's netdev there but not in class/net). Virtual devices have no `device` link and
// live under devices/virtual. A cheap rescan reads netdevs exactly as a full scan does: there is nothing to reuse
// that is worth the risk, and netdevs coming and going (pod veths) are not structural.
import type { Netdev } from '../model.ts';
import { compareText, isRepresentorPortName, parseBool01, parseNetSpeed, parseUint } from '../parse/values.ts';
import { Reader, parseDevicePath, type ScanContext } from './context.ts';
import { collect, type NetRecord, type NetRecords, type PciRecords } from './records.ts';

const NET = 'class/net';
/** carrier/speed/duplex fail with EINVAL while the interface is admin-down. */
const DOWN_QUIET = ['ENOENT', 'EINVAL'];
/** phys_port_name/phys_switch_id fail with EOPNOTSUPP where the driver lacks them. */
const OPTIONAL_QUIET = ['ENOENT', 'EOPNOTSUPP', 'ENOTSUP', 'EINVAL', 'ENODEV'];

/**
 * Reads every netdev of class/net, then the netdevs the PCI records list in a PF's `net/` directory that class/net
 * lacks. VFs (from the PCI records) get the short attribute set (no speed/carrier/phys_*).
 */
export function scanNet(ctx: ScanContext, pci?: PciRecords): NetRecords {
  const r = new Reader(ctx, 'net');
  const vfs = new Set<string>();
  for (const rec of pci?.functions ?? []) if (rec.pf !== undefined) vfs.add(rec.fn.address);
  const listing = ctx.sys.listTyped(NET);
  const out: NetRecords = { listingIssues: [], netdevs: [] };
  const seen = new Set<string>();
  if (!listing.ok) out.listingIssues.push({ scanner: 'net', path: NET, code: listing.code });
  for (const entry of listing.ok ? listing.value : []) {
    // bonding_masters is a plain file, not a device
    if (entry.file) continue;
    seen.add(entry.name);
    const got = collect(ctx, () => scanNetdev(r, entry.name, vfs));
    if (got.value) out.netdevs.push({ netdev: got.value, issues: got.issues });
    else if (got.issues.length > 0) out.listingIssues.push(...got.issues);
  }
  for (const rec of pci?.functions ?? []) {
    for (const name of rec.netNames ?? []) {
      if (seen.has(name)) continue;
      seen.add(name);
      const got = collect(ctx, () => scanNetdev(r, name, vfs, `bus/pci/devices/${rec.fn.address}/net/${name}`, rec.fn.address));
      if (got.value) out.netdevs.push({ netdev: got.value, issues: got.issues });
      else if (got.issues.length > 0) out.listingIssues.push(...got.issues);
    }
  }
  out.netdevs.sort((a: NetRecord, b: NetRecord) => compareText(a.netdev.name, b.netdev.name));
  return out;
}

/** Reads one netdev at `base` (default class/net/<name>); `pci` names the function when the path is its `net/` entry. */
export function scanNetdev(r: Reader, name: string, vfs: ReadonlySet<string>, base = `${NET}/${name}`, pciOfDir?: string): Netdev | undefined {
  const target = r.ctx.sys.readlink(base);
  let virtual = false;
  let pci: string | undefined;
  if (target.ok) {
    virtual = target.value.includes('/virtual/');
    const chain = parseDevicePath(target.value).chain;
    pci = chain[chain.length - 1];
  } else if (target.code === 'EINVAL') {
    // a real directory rather than a link: look for the device link instead
    const dev = r.ctx.sys.readlink(`${base}/device`);
    if (dev.ok) pci = parseDevicePath('devices/x/' + dev.value.replace(/^(\.\.\/)+/, '')).chain.pop();
    pci ??= pciOfDir;
    virtual = !dev.ok && pciOfDir === undefined;
  } else {
    r.issue(base, target.code);
    return undefined;
  }
  const nd: Netdev = { name, virtual, representor: false };
  if (pci !== undefined) nd.pci = pci;
  // VF netdevs: hundreds per host; their presence in this namespace is what matters (metrics and checks use
  // nothing else), so only the name and PCI function are recorded.
  if (pci !== undefined && vfs.has(pci)) return nd;
  const operstate = r.text(`${base}/operstate`);
  if (operstate !== undefined) nd.operstate = operstate;
  const carrier = r.attr(`${base}/carrier`, parseBool01, DOWN_QUIET);
  if (carrier !== undefined) nd.carrier = carrier;
  if (!virtual) {
    const speed = r.attr(`${base}/speed`, parseNetSpeed, DOWN_QUIET);
    if (speed !== undefined) nd.speedMbps = speed;
  }
  const mtu = r.attr(`${base}/mtu`, parseUint);
  if (mtu !== undefined) nd.mtu = mtu;
  const address = r.text(`${base}/address`);
  if (address !== undefined) nd.address = address;
  const ifindex = r.attr(`${base}/ifindex`, parseUint);
  if (ifindex !== undefined) nd.ifindex = ifindex;
  if (!virtual) {
    const ppn = r.text(`${base}/phys_port_name`, OPTIONAL_QUIET);
    if (ppn !== undefined && ppn !== '') {
      nd.physPortName = ppn;
      nd.representor = isRepresentorPortName(ppn);
    }
    const psid = r.text(`${base}/phys_switch_id`, OPTIONAL_QUIET);
    if (psid !== undefined && psid !== '') nd.physSwitchId = psid;
  }
  return nd;
}
