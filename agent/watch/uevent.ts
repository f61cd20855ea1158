// Kernel uevents as a second rescan trigger: `udevadm monitor --kernel` prints one line per uevent the kernel
// broadcasts (PCI functions appearing when sriov_numvfs changes, driver bind/unbind, net and InfiniBand devices
// added, removed, renamed or moved to another namespace). It needs no running udevd, only the udevadm binary.
// Net device uevents are delivered in the device's own network namespace, so the agent must run with
// hostNetwork to see the host's netdevs; PCI and InfiniBand uevents come from the initial namespace.
import type { Logger } from '../log.ts';
import { superviseLineProcess, type BackoffOptions, type LineProcessState } from './line-process.ts';

export type UeventAction = 'add' | 'remove' | 'change' | 'move' | 'online' | 'offline' | 'bind' | 'unbind';

export interface Uevent {
  action: UeventAction;
  /** Kernel device path under /sys, e.g. `/devices/virtual/net/veth0`. */
  devpath: string;
  subsystem: string;
}

export const UDEVADM_MONITOR_COMMAND: readonly string[] = [
  'udevadm',
  'monitor',
  '--kernel',
  '--subsystem-match=pci',
  '--subsystem-match=net',
  '--subsystem-match=infiniband',
];

const ACTIONS: readonly string[] = ['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind'];

// KERNEL[499.865203] add      /devices/virtual/net/rwtcapb (net)
const LINE_RE = /^KERNEL\[[\d.]+\]\s+(\S+)\s+(\/\S*)\s+\(([^)]*)\)\s*$/;

/** Parses one `udevadm monitor --kernel` line; the banner and blank lines give undefined. */
export function parseUeventLine(line: string): Uevent | undefined {
  const m = LINE_RE.exec(line.trim());
  if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  if (!ACTIONS.includes(m[1])) return undefined;
  return { action: m[1] as UeventAction, devpath: m[2], subsystem: m[3] };
}

/** The last path element of a uevent's devpath: the netdev, PCI address or RDMA device name. */
export function ueventDeviceName(ev: Uevent): string {
  const i = ev.devpath.lastIndexOf('/');
  return i >= 0 ? ev.devpath.slice(i + 1) : ev.devpath;
}

export interface UeventMonitorOptions {
  onEvent: (ev: Uevent) => void;
  onResync?: () => void;
  log: Logger;
  /** argv of the monitor; default `udevadm monitor --kernel --subsystem-match=pci|net|infiniband`. */
  command?: readonly string[];
  backoff?: Partial<BackoffOptions>;
}

export interface UeventMonitor {
  state(): LineProcessState;
  stop(): Promise<void>;
}

export function startUeventMonitor(opts: UeventMonitorOptions): UeventMonitor {
  const proc = superviseLineProcess({
    name: 'uevent',
    // udevadm is often not in a minimal image; rtnetlink and the interval cover its absence
    optional: true,
    command: opts.command ?? UDEVADM_MONITOR_COMMAND,
    log: opts.log,
    ...(opts.backoff !== undefined ? { backoff: opts.backoff } : {}),
    onRestart: () => opts.onResync?.(),
    onLine: (line) => {
      const ev = parseUeventLine(line);
      if (ev !== undefined) opts.onEvent(ev);
    },
  });
  return { state: () => proc.state(), stop: () => proc.stop() };
}
