// rtnetlink link events as a rescan trigger. sysfs sends no inotify events (see docs/change-detection.md), but
// the kernel multicasts RTM_NEWLINK/RTM_DELLINK on rtnetlink; `ip -o monitor link` prints one line per message.
// A VF netdev moved into a pod's network namespace appears as `Deleted <ifindex>: <name>: ... new-netns ...`.
import { execFile } from 'node:child_process';
import type { Logger } from '../log.ts';
import { superviseLineProcess, type BackoffOptions, type LineProcessState } from './line-process.ts';

export type LinkEventKind = 'add' | 'del' | 'change';

export interface LinkEvent {
  kind: LinkEventKind;
  ifname: string;
  ifindex: number;
  /** For a `del` caused by a move to another namespace: the target namespace's name, or its nsid when ip could not name it. */
  newNetns?: string;
}

/** One parsed `ip -o monitor link` line, before the add/change decision (rtnetlink uses RTM_NEWLINK for both). */
export interface LinkLine {
  deleted: boolean;
  ifindex: number;
  ifname: string;
  newNetns?: string;
}

export const IP_MONITOR_COMMAND: readonly string[] = ['ip', '-o', 'monitor', 'link'];
export const IP_LINK_SHOW_COMMAND: readonly string[] = ['ip', '-o', 'link', 'show'];

// [LINK] prefix: printed by some iproute2 versions when several object types are monitored.
// Timestamps (`-t`/`-ts`) are not requested and not parsed.
const LINE_RE = /^(?:\[LINK\]\s*)?(Deleted\s+)?(\d+):\s+([^\s:]+):\s/;

/**
 * Parses one line of `ip -o monitor link` (or `ip -o link show`). Returns undefined for lines that are not link
 * messages. The name is printed as `name@peer` for links with a parent or peer (veth, VLAN, macvlan); the part
 * before the first `@` is the interface name (an interface whose own name contains `@` is reported cut short).
 */
export function parseLinkLine(line: string): LinkLine | undefined {
  const m = LINE_RE.exec(line.trimStart());
  if (!m || m[2] === undefined || m[3] === undefined) return undefined;
  const at = m[3].indexOf('@');
  const ifname = at > 0 ? m[3].slice(0, at) : m[3];
  const out: LinkLine = { deleted: m[1] !== undefined, ifindex: Number(m[2]), ifname };
  // `new-netns <name>` when ip knows the namespace's name, else `new-netnsid <id>` (`new-nsid` in older versions)
  const ns = /\snew-(?:netns|netnsid|nsid)\s+(\S+)/.exec(line);
  if (ns?.[1] !== undefined) out.newNetns = ns[1];
  return out;
}

/**
 * Turns parsed lines into events. `known` holds the ifindexes present in this namespace (seeded from
 * `ip -o link show` when available): a new-link message for an unknown ifindex is an `add`, otherwise a `change`.
 */
export function classifyLinkLine(parsed: LinkLine, known: Set<number>): LinkEvent {
  let kind: LinkEventKind;
  if (parsed.deleted) {
    known.delete(parsed.ifindex);
    kind = 'del';
  } else if (known.has(parsed.ifindex)) {
    kind = 'change';
  } else {
    known.add(parsed.ifindex);
    kind = 'add';
  }
  const ev: LinkEvent = { kind, ifname: parsed.ifname, ifindex: parsed.ifindex };
  if (parsed.newNetns !== undefined) ev.newNetns = parsed.newNetns;
  return ev;
}

export interface LinkMonitorOptions {
  onEvent: (ev: LinkEvent) => void;
  /** Called when the monitor process was restarted: events may have been missed, rescan. */
  onResync?: () => void;
  log: Logger;
  /** argv of the monitor; default `ip -o monitor link`. */
  command?: readonly string[];
  /** argv listing current links to tell `add` from `change`; default `ip -o link show`; null to skip. */
  seedCommand?: readonly string[] | null;
  backoff?: Partial<BackoffOptions>;
}

export interface LinkMonitor {
  state(): LineProcessState;
  /** Resolves once the seed listing finished (or failed); events before that are still delivered. */
  seeded: Promise<void>;
  stop(): Promise<void>;
}

export function startLinkMonitor(opts: LinkMonitorOptions): LinkMonitor {
  const known = new Set<number>();
  const proc = superviseLineProcess({
    name: 'netlink',
    command: opts.command ?? IP_MONITOR_COMMAND,
    log: opts.log,
    ...(opts.backoff !== undefined ? { backoff: opts.backoff } : {}),
    onRestart: () => opts.onResync?.(),
    onLine: (line) => {
      const parsed = parseLinkLine(line);
      if (parsed === undefined) return;
      opts.onEvent(classifyLinkLine(parsed, known));
    },
  });
  const seedCommand = opts.seedCommand === undefined ? IP_LINK_SHOW_COMMAND : opts.seedCommand;
  const seeded = seedCommand === null ? Promise.resolve() : seedKnown(seedCommand, known, opts.log);
  return { state: () => proc.state(), seeded, stop: () => proc.stop() };
}

async function seedKnown(command: readonly string[], known: Set<number>, log: Logger): Promise<void> {
  const [file, ...args] = command;
  if (file === undefined) return;
  await new Promise<void>((resolve) => {
    execFile(file, args, { timeout: 5000, maxBuffer: 8 * 1024 * 1024, shell: false }, (err, stdout) => {
      if (err) {
        log.debug('link listing failed; new links are reported as changes', { err });
      } else {
        for (const line of stdout.split('\n')) {
          const p = parseLinkLine(line);
          if (p !== undefined && !p.deleted) known.add(p.ifindex);
        }
      }
      resolve();
    });
  });
}
