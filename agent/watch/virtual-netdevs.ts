// Which link and uevent events are about virtual netdevs (veth pairs of pods, bridges, VLANs under
// /devices/virtual/net): they change nothing railwatch judges, so they do not trigger a scan (pod churn would
// otherwise rescan the node for every pod start and stop). The interval scan still lists them.
import type { NodeSnapshot } from '../model.ts';
import type { HostFs } from '../sysfs/host-fs.ts';
import type { LinkEvent } from './netlink.ts';
import type { Uevent } from './uevent.ts';

/** Most names remembered as virtual between two scans (a burst of pod veths); the oldest are forgotten first. */
const MAX_REMEMBERED = 4096;

export interface VirtualNetdevFilter {
  /** true when the event is about a virtual netdev: no scan needed. */
  link(ev: LinkEvent): boolean;
  uevent(ev: Uevent): boolean;
}

/**
 * A netdev is virtual when its class/net link (under the scanned sysfs root) leads to /devices/virtual/, when the
 * latest snapshot lists it as virtual, or, for a netdev already gone (deleted or moved into a pod's namespace),
 * when an earlier event showed it virtual. A netdev known nowhere is not assumed virtual: it triggers a scan.
 */
export function createVirtualNetdevFilter(sys: HostFs, snapshot: () => NodeSnapshot | undefined): VirtualNetdevFilter {
  const seen = new Set<string>();
  function remember(name: string): void {
    seen.delete(name);
    seen.add(name);
    if (seen.size > MAX_REMEMBERED) seen.delete(seen.values().next().value as string);
  }
  return {
    link(ev) {
      const target = sys.readlink(`class/net/${ev.ifname}`);
      if (target.ok) {
        const virtual = target.value.includes('/devices/virtual/');
        if (virtual && ev.kind !== 'del') remember(ev.ifname);
        if (virtual) return true;
        seen.delete(ev.ifname);
        return false;
      }
      if (seen.has(ev.ifname)) {
        if (ev.kind === 'del') seen.delete(ev.ifname);
        return true;
      }
      return snapshot()?.netdevs.some((n) => n.name === ev.ifname && n.virtual) ?? false;
    },
    uevent(ev) {
      return ev.subsystem === 'net' && ev.devpath.startsWith('/devices/virtual/');
    },
  };
}
