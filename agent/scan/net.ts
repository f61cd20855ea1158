// Netdev scanner: /sys/class/net. Virtual devices have no `device` link and live under devices/virtual.
import type { Netdev } from '../model.ts';
import { isRepresentorPortName, parseBool01, parseNetSpeed, parseUint } from '../parse/values.ts';
import { Reader, parseDevicePath, type ScanContext } from './context.ts';

const NET = 'class/net';
/** carrier/speed/duplex fail with EINVAL while the interface is admin-down. */
const DOWN_QUIET = ['ENOENT', 'EINVAL'];
/** phys_port_name/phys_switch_id fail with EOPNOTSUPP where the driver lacks them. */
const OPTIONAL_QUIET = ['ENOENT', 'EOPNOTSUPP', 'ENOTSUP', 'EINVAL', 'ENODEV'];

/** `vfs`: PCI addresses of VFs; their netdevs get the short attribute set (no speed/carrier/phys_*). */
export function scanNet(ctx: ScanContext, vfs: ReadonlySet<string> = new Set()): Netdev[] {
  const r = new Reader(ctx, 'net');
  const listing = ctx.sys.listTyped(NET);
  if (!listing.ok) {
    r.issue(NET, listing.code);
    return [];
  }
  const out: Netdev[] = [];
  for (const entry of listing.value) {
    // bonding_masters is a plain file, not a device
    if (entry.file) continue;
    const nd = scanNetdev(r, entry.name, vfs);
    if (nd) out.push(nd);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function scanNetdev(r: Reader, name: string, vfs: ReadonlySet<string>): Netdev | undefined {
  const base = `${NET}/${name}`;
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
    virtual = !dev.ok;
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
