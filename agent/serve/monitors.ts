// The rescan triggers besides the interval: the rtnetlink and uevent monitors (events about virtual netdevs, the
// pods' veths, left out) and the watcher of the kubelet device-plugins and CNI config directories. The monitors
// run with their default argv: serve passes none of its own.
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { NodeSnapshot } from '../model.ts';
import type { HostFs } from '../sysfs/host-fs.ts';
import { watchDirs, type Closable } from '../watch/files.ts';
import { startLinkMonitor, type LinkEvent, type LinkMonitor } from '../watch/netlink.ts';
import { startUeventMonitor, type Uevent, type UeventMonitor } from '../watch/uevent.ts';
import { createVirtualNetdevFilter } from '../watch/virtual-netdevs.ts';

export interface MonitorsOptions {
  /** The scanned sysfs root, where a netdev's class/net link tells whether it is virtual. */
  sys: HostFs;
  /** The latest snapshot, which lists the virtual netdevs it saw. */
  snapshot: () => NodeSnapshot | undefined;
  /** Asks for a rescan (`netlink` or `uevent`). */
  trigger: (reason: string) => void;
  log: Logger;
}

export interface Monitors {
  link: LinkMonitor;
  uevent: UeventMonitor;
}

/** Starts `ip monitor link` and `udevadm monitor`; an event or a resync of either triggers a rescan. */
export function startMonitors(opts: MonitorsOptions): Monitors {
  const { trigger, log } = opts;
  // virtual netdevs (pod veths) come and go with every pod: their events do not trigger scans
  const virtual = createVirtualNetdevFilter(opts.sys, opts.snapshot);
  const onLink = (ev: LinkEvent) => {
    if (!virtual.link(ev)) trigger('netlink');
  };
  const onUevent = (ev: Uevent) => {
    if (!virtual.uevent(ev)) trigger('uevent');
  };
  const link = startLinkMonitor({ onEvent: onLink, onResync: () => trigger('netlink'), log });
  const uevent = startUeventMonitor({ onEvent: onUevent, onResync: () => trigger('uevent'), log });
  return { link, uevent };
}

/** Watches the config's kubelet device-plugins and CNI config directories under `host`; a change triggers `file`. */
export function watchProbeDirs(opts: { host: HostFs; config: Config; trigger: (reason: string) => void; log: Logger }): Closable {
  const { host, config } = opts;
  const dirs = [config.kubelet.devicePluginsDir, config.cni.confDir].map((d) => host.abs(d.replace(/^\/+/, '')));
  return watchDirs({ dirs, onChange: () => opts.trigger('file'), log: opts.log });
}
