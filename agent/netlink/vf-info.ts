// The VF as the kernel sees it: each PF's netlink VF list (IFLA_VFINFO_LIST), read with iproute2's JSON printer
// (`ip -j -s -d link show`, one bounded child process per read, never one per VF), parsed by a pure function of its
// output. A recorded answer (the same JSON in a file) stands in for the child on fixture hosts.
//
// Key names follow print_vfinfo()/print_vf_stats64() in iproute2's ip/ipaddress.c: `vf`, `link_type`, `address`
// (`mac` before iproute2 5.x), `vlan_list` [{vlan, qos, protocol}] (or flat `vlan`/`qos`), `tx_rate`,
// `rate` {max_tx, min_tx}, `spoofchk`, `node guid`, `port guid`, `link_state`, `trust`, `query_rss_en`,
// `stats` {rx: {bytes, packets, multicast, broadcast, dropped}, tx: {tx_bytes, tx_packets, dropped}}. Values that
// are absent stay undefined, never 0; counters are parsed from their source text as bigint (exact past 2^53).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import type { Pf } from '../model.ts';
import { compareText } from '../parse/values.ts';

export type VfLinkState = 'auto' | 'enable' | 'disable';

/** IFLA_VF_STATS; rxDropped/txDropped exist from Linux 5.9 (iproute2 prints them when the kernel sends them). */
export interface VfStats {
  rxBytes: bigint;
  rxPackets: bigint;
  txBytes: bigint;
  txPackets: bigint;
  multicast: bigint;
  broadcast: bigint;
  rxDropped?: bigint;
  txDropped?: bigint;
}

/** One entry of a PF's `vfinfo_list`. */
export interface VfLink {
  /** VF number (the N of the PF's virtfnN). */
  vf: number;
  /** `ether` or `infiniband` (iproute2 5.x+). */
  linkType?: string;
  /** The VF's MAC (lower case); for an InfiniBand VF the 20-byte hardware address. */
  mac?: string;
  /** Port VLAN; undefined when the kernel reported none (VLAN 0 is not printed by iproute2). */
  vlan?: number;
  qos?: number;
  vlanProtocol?: string;
  txRateMbps?: number;
  maxTxRateMbps?: number;
  minTxRateMbps?: number;
  spoofchk?: boolean;
  trust?: boolean;
  queryRssEn?: boolean;
  linkState?: VfLinkState;
  /** InfiniBand node and port GUIDs as iproute2 prints them (`xx:xx:xx:xx:xx:xx:xx:xx`). */
  nodeGuid?: string;
  portGuid?: string;
  stats?: VfStats;
}

/** The VF list of one link (a PF's netdev, or an IPoIB netdev of an InfiniBand PF). */
export interface PfVfLinks {
  ifname: string;
  ifindex?: number;
  /** `parentdev` (iproute2 5.15+ with -d): the PCI address of the function behind the link. */
  parentDev?: string;
  vfs: VfLink[];
  /** iproute2 said `Truncated VF list` (the netlink message did not hold every VF): VFs past the cut are unknown. */
  truncated: boolean;
}

export interface VfInfoIssue {
  /** `ip` or the link name. */
  path: string;
  /** TIMEOUT, TOO_LARGE, EXIT, ENOENT, PARSE, TRUNCATED, ... */
  code: string;
  detail?: string;
}

/** One read of every link's VF list. `error` set means the read failed as a whole: nothing is known. */
export interface VfInfoReading {
  links: PfVfLinks[];
  takenAtMs: number;
  durationMs: number;
  issues: VfInfoIssue[];
  error?: string;
  /** Not read on purpose, and why (a tree that is not this host); no links, no error. */
  notRead?: string;
}

export interface VfInfoSource {
  /** One read; never rejects (a failure is a reading with `error`). */
  read(): Promise<VfInfoReading>;
}

/** iproute2's JSON, with statistics (-s, for IFLA_VF_STATS) and details (-d). Fixed argv, no shell. */
export const IP_VF_INFO_COMMAND: readonly string[] = ['ip', '-j', '-s', '-d', 'link', 'show'];
export const DEFAULT_VF_INFO_TIMEOUT_MS = 2000;
/** 8 PFs x 128 VFs print about 700 KiB; a host with thousands of links stays well below this cap. */
export const DEFAULT_VF_INFO_MAX_BYTES = 16 * 1024 * 1024;

type Json = null | boolean | bigint | number | string | Json[] | { [key: string]: Json };

/**
 * The JSON text of an integer that may be past 2^53 (16 digits or more) where a value starts (after `:`, `,` or
 * `[`), quoted as a marked string (LONG_INTEGER + digits) so plain JSON.parse keeps its digits. A match inside a
 * string value would insert a quote there, which always leaves invalid JSON: parseExact then falls back to the
 * reviver (below), so the result is exact either way.
 */
const LONG_INTEGER_VALUE = /([:,[]\s*)(-?\d{16,})(?=\s*[,}\]])/g;
/** Marks a long integer's digits in a parsed document (no string iproute2 prints holds a NUL: it escapes them). */
const LONG_INTEGER = '\u0000';
/** The source text of a JSON integer. */
const INTEGER_TEXT = /^-?\d+$/;

/**
 * JSON.parse keeping every integer exact: integers of 15 digits or fewer are exact as numbers, longer ones arrive as
 * LONG_INTEGER-marked digit strings. The reviver with each value's source text (Node 21+) does the same for any
 * text, but calls back for every value: on 8 PFs x 128 VFs it allocates 5.4 MiB per read, against 0.6 MiB here.
 */
function parseExact(text: string): Json {
  const marked = text.replace(LONG_INTEGER_VALUE, '$1"\\u0000$2"');
  try {
    return JSON.parse(marked) as Json;
  } catch (err) {
    if (marked === text) throw err;
    const reviver = (_key: string, value: unknown, context?: { source?: string }): unknown =>
      typeof value === 'number' && context?.source !== undefined && INTEGER_TEXT.test(context.source) ? BigInt(context.source) : value;
    return JSON.parse(text, reviver) as Json;
  }
}

/** A long integer (marked string or reviver bigint) as a bigint; undefined for anything else. */
function longInteger(v: Json | undefined): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'string' || !v.startsWith(LONG_INTEGER)) return undefined;
  const digits = v.slice(LONG_INTEGER.length);
  return INTEGER_TEXT.test(digits) ? BigInt(digits) : undefined;
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function small(v: Json | undefined): number | undefined {
  const long = longInteger(v);
  if (long !== undefined) return long >= BigInt(Number.MIN_SAFE_INTEGER) && long <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(long) : undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  return undefined;
}

function counter(v: Json | undefined): bigint | undefined {
  const long = longInteger(v);
  if (long !== undefined) return long >= 0n ? long : undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return undefined;
}

function text(v: Json | undefined): string | undefined {
  return typeof v === 'string' && !v.startsWith(LONG_INTEGER) ? v : undefined;
}

function bool(v: Json | undefined): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

function parseStats(v: Json | undefined): VfStats | undefined {
  if (!isObject(v)) return undefined;
  const rx = isObject(v['rx']) ? v['rx'] : {};
  const tx = isObject(v['tx']) ? v['tx'] : {};
  const rxBytes = counter(rx['bytes']);
  const rxPackets = counter(rx['packets']);
  // iproute2 names the tx counters tx_bytes/tx_packets; accept bytes/packets as a later printer may
  const txBytes = counter(tx['tx_bytes'] ?? tx['bytes']);
  const txPackets = counter(tx['tx_packets'] ?? tx['packets']);
  const multicast = counter(rx['multicast']);
  const broadcast = counter(rx['broadcast']);
  if (rxBytes === undefined || rxPackets === undefined || txBytes === undefined || txPackets === undefined || multicast === undefined || broadcast === undefined) {
    return undefined;
  }
  const out: VfStats = { rxBytes, rxPackets, txBytes, txPackets, multicast, broadcast };
  const rxDropped = counter(rx['dropped']);
  const txDropped = counter(tx['dropped']);
  if (rxDropped !== undefined) out.rxDropped = rxDropped;
  if (txDropped !== undefined) out.txDropped = txDropped;
  return out;
}

/** One `vfinfo_list` entry; undefined when it has no usable `vf` number. */
export function parseVfEntry(v: Json): VfLink | undefined {
  if (!isObject(v)) return undefined;
  const vf = small(v['vf']);
  if (vf === undefined || vf < 0) return undefined;
  const out: VfLink = { vf };
  const linkType = text(v['link_type']);
  if (linkType !== undefined) out.linkType = linkType;
  const mac = text(v['address']) ?? text(v['mac']);
  if (mac !== undefined) out.mac = mac.toLowerCase();
  const vlans = Array.isArray(v['vlan_list']) ? v['vlan_list'] : [v];
  const first = vlans.find((x) => isObject(x) && small(x['vlan']) !== undefined) ?? vlans[0];
  if (isObject(first)) {
    const vlan = small(first['vlan']);
    const qos = small(first['qos']);
    const protocol = text(first['protocol']);
    if (vlan !== undefined) out.vlan = vlan;
    if (qos !== undefined) out.qos = qos;
    if (protocol !== undefined) out.vlanProtocol = protocol;
  }
  const txRate = small(v['tx_rate']);
  if (txRate !== undefined) out.txRateMbps = txRate;
  if (isObject(v['rate'])) {
    const max = small(v['rate']['max_tx']);
    const min = small(v['rate']['min_tx']);
    if (max !== undefined) out.maxTxRateMbps = max;
    if (min !== undefined) out.minTxRateMbps = min;
  }
  const spoofchk = bool(v['spoofchk']);
  if (spoofchk !== undefined) out.spoofchk = spoofchk;
  const trust = bool(v['trust']);
  if (trust !== undefined) out.trust = trust;
  const rss = bool(v['query_rss_en']);
  if (rss !== undefined) out.queryRssEn = rss;
  const ls = text(v['link_state']);
  if (ls === 'auto' || ls === 'enable' || ls === 'disable') out.linkState = ls;
  const nodeGuid = text(v['node guid']);
  if (nodeGuid !== undefined) out.nodeGuid = nodeGuid.toLowerCase();
  const portGuid = text(v['port guid']);
  if (portGuid !== undefined) out.portGuid = portGuid.toLowerCase();
  const stats = parseStats(v['stats']);
  if (stats !== undefined) out.stats = stats;
  return out;
}

/** Names of links iproute2 reported as truncated on stderr (`Truncated VF list: NAME`). */
export function truncatedLinks(stderr: string): Set<string> {
  const out = new Set<string>();
  for (const m of stderr.matchAll(/^Truncated VF list: (\S+)\s*$/gm)) out.add(m[1]!);
  return out;
}

/**
 * Parses `ip -j -s -d link show` output into the links that carry a VF list. Entries that do not parse are
 * skipped and counted as issues, never the whole answer; output that is not a JSON array throws.
 */
export function parseIpLinkJson(stdout: string, stderr = ''): { links: PfVfLinks[]; issues: VfInfoIssue[] } {
  let doc: Json;
  try {
    doc = parseExact(stdout);
  } catch (err) {
    throw new Error(`ip -j link show printed no valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new Error('ip -j link show printed JSON that is not a list of links');
  const truncated = truncatedLinks(stderr);
  const links: PfVfLinks[] = [];
  const issues: VfInfoIssue[] = [];
  for (const link of doc) {
    if (!isObject(link) || !Array.isArray(link['vfinfo_list'])) continue;
    const ifname = text(link['ifname']);
    if (ifname === undefined) {
      issues.push({ path: 'ip', code: 'PARSE', detail: 'a link with a VF list has no ifname' });
      continue;
    }
    const vfs: VfLink[] = [];
    const seen = new Set<number>();
    for (const entry of link['vfinfo_list']) {
      const vf = parseVfEntry(entry);
      if (vf === undefined || seen.has(vf.vf)) {
        issues.push({ path: ifname, code: 'PARSE', detail: vf === undefined ? 'VF entry without a vf number' : `VF ${vf.vf} listed twice` });
        continue;
      }
      seen.add(vf.vf);
      vfs.push(vf);
    }
    vfs.sort((a, b) => a.vf - b.vf);
    const out: PfVfLinks = { ifname, vfs, truncated: truncated.has(ifname) };
    const ifindex = small(link['ifindex']);
    if (ifindex !== undefined) out.ifindex = ifindex;
    const parentDev = text(link['parentdev']);
    if (parentDev !== undefined && text(link['parentbus']) !== 'virtual') out.parentDev = parentDev.toLowerCase();
    if (out.truncated) issues.push({ path: ifname, code: 'TRUNCATED', detail: `the kernel's VF list was cut after ${vfs.length} VFs` });
    links.push(out);
  }
  links.sort((a, b) => compareText(a.ifname, b.ifname));
  return { links, issues };
}

function readingOf(stdout: string, stderr: string, started: number, takenAtMs: number): VfInfoReading {
  try {
    const { links, issues } = parseIpLinkJson(stdout, stderr);
    return { links, issues, takenAtMs, durationMs: performance.now() - started };
  } catch (err) {
    const error = (err as Error).message;
    return { links: [], issues: [{ path: 'ip', code: 'PARSE', detail: error }], takenAtMs, durationMs: performance.now() - started, error };
  }
}

export interface IpVfInfoOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** argv; tests only (serve and doctor use IP_VF_INFO_COMMAND). */
  command?: readonly string[];
  log?: Logger;
  now?: () => number;
}

/** Runs `ip -j -s -d link show` once per read: killed past the timeout or past the output cap. */
export function createIpVfInfoSource(opts: IpVfInfoOptions = {}): VfInfoSource {
  const command = opts.command ?? IP_VF_INFO_COMMAND;
  const timeout = opts.timeoutMs ?? DEFAULT_VF_INFO_TIMEOUT_MS;
  const maxBuffer = opts.maxBytes ?? DEFAULT_VF_INFO_MAX_BYTES;
  const log = opts.log ?? silentLogger;
  const now = opts.now ?? Date.now;
  let absentLogged = false;
  return {
    read() {
      const started = performance.now();
      const takenAtMs = now();
      return new Promise<VfInfoReading>((resolve) => {
        const [file, ...args] = command;
        execFile(file ?? 'ip', args, { shell: false, timeout, maxBuffer, killSignal: 'SIGKILL', encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } }, (err, stdout, stderr) => {
          if (err === null) {
            resolve(readingOf(stdout, stderr, started, takenAtMs));
            return;
          }
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
          let code = 'EXIT';
          if (e.code === 'ENOENT') code = 'ENOENT';
          else if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') code = 'TOO_LARGE';
          else if (e.killed === true) code = 'TIMEOUT';
          const detail =
            code === 'ENOENT'
              ? `${file} not found`
              : code === 'TOO_LARGE'
                ? `output exceeded ${maxBuffer} bytes`
                : code === 'TIMEOUT'
                  ? `no answer within ${timeout} ms`
                  : `${e.message.split('\n')[0] ?? ''} ${String(stderr).trim().slice(0, 200)}`.trim();
          if (code !== 'ENOENT' || !absentLogged) {
            if (code === 'ENOENT') absentLogged = true;
            log.debug('VF netlink read failed', { command: command.join(' '), code, detail });
          }
          resolve({ links: [], issues: [{ path: 'ip', code, detail }], takenAtMs, durationMs: performance.now() - started, error: `${code}: ${detail}` });
        });
      });
    },
  };
}

/**
 * For a tree that is not this host (`--sysfs` names a capture or a fixture, `--root` is not `/`): this machine's
 * netlink has nothing to say about it, so nothing is read; every reading says `why` (notRead).
 */
export function createNotThisHostVfInfoSource(why: string): VfInfoSource {
  return {
    async read() {
      return { links: [], issues: [], takenAtMs: Date.now(), durationMs: 0, notRead: why };
    },
  };
}

/** Reads a recorded `ip -j -s -d link show` answer (a fixture host's, or a capture) on every read. */
export function createFileVfInfoSource(file: string, opts: { now?: () => number } = {}): VfInfoSource {
  const now = opts.now ?? Date.now;
  return {
    async read() {
      const started = performance.now();
      const takenAtMs = now();
      let stdout: string;
      try {
        stdout = await readFile(file, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        return { links: [], issues: [{ path: file, code }], takenAtMs, durationMs: performance.now() - started, error: `${code}: cannot read ${file}` };
      }
      let stderr = '';
      try {
        stderr = await readFile(`${file}.stderr`, 'utf8');
      } catch {
        // no recorded stderr
      }
      return readingOf(stdout, stderr, started, takenAtMs);
    },
  };
}

/**
 * One read of `source` for a host whose PFs are `pfs`, or none: with no PF that has VFs (in the PCI tree or in
 * `sriov_numvfs`) there is nothing to list, so serve's scans and doctor spawn no `ip` on a GPU host without SR-IOV
 * (where `ip` may not even be installed, and its absence is no scan error); the reading says why (notRead).
 */
export function readVfListsFor(source: VfInfoSource, pfs: readonly Pick<Pf, 'vfs' | 'numVfs'>[]): Promise<VfInfoReading> {
  if (pfs.some((pf) => pf.vfs.length > 0 || (pf.numVfs ?? 0) > 0)) return source.read();
  return Promise.resolve({ links: [], issues: [], takenAtMs: Date.now(), durationMs: 0, notRead: 'no PF has VFs' });
}

/**
 * Coalesces reads: callers while a read is in flight share it, and a reading younger than `maxAgeMs` is reused,
 * so a burst of scrapes (several Prometheus replicas) costs one child process.
 */
export function coalesce(source: VfInfoSource, maxAgeMs: number, clock: () => number = () => performance.now()): VfInfoSource & { last(): VfInfoReading | undefined } {
  let inflight: Promise<VfInfoReading> | undefined;
  let last: { reading: VfInfoReading; at: number } | undefined;
  return {
    read() {
      if (last !== undefined && clock() - last.at < maxAgeMs) return Promise.resolve(last.reading);
      if (inflight !== undefined) return inflight;
      const p = source.read().then((reading) => {
        const kept = { reading, at: clock() };
        last = kept;
        inflight = undefined;
        // a reading too old to reuse is not kept: 1024 VFs' lists are ~0.5 MiB of objects, and the scan keeps its
        // own reading in the state
        setTimeout(() => {
          if (last === kept) last = undefined;
        }, maxAgeMs).unref();
        return reading;
      });
      inflight = p;
      return p;
    },
    last: () => last?.reading,
  };
}
