// Probes: what the checks need beyond the snapshot, read at the edge through HostFs. The kubelet's
// device-plugins directory, the CNI config and bin directories (host paths as configured; the DaemonSet mounts
// them at the same paths) and the ACS capability of the bridges between each GPU and its rail NIC.
import type { Config } from '../config/config.ts';
import type { NodeSnapshot } from '../model.ts';
import { HostFs } from '../sysfs/host-fs.ts';
import { parseAcs, type AcsParse } from './acs.ts';
import { gpuRailPairs } from './pairs.ts';

/** A directory listing; `entries` is undefined when the directory could not be listed (`code` says why). */
export interface DirProbe {
  dir: string;
  entries?: string[];
  code?: string;
}

export interface CniConfProbe extends DirProbe {
  /** Entries that configure Multus: names containing `multus`, or a conf/conflist whose JSON has type "multus". */
  multus: string[];
}

export type AcsRead = AcsParse | { kind: 'unreadable'; code: string };

export interface BridgeAcs {
  bridge: string;
  read: AcsRead;
}

export interface Probes {
  devicePlugins: DirProbe;
  cniConf: CniConfProbe;
  cniBin: DirProbe;
  /** One entry per bridge between a GPU and its closest rail NIC. */
  acs: BridgeAcs[];
}

export interface ProbeOptions {
  snapshot: NodeSnapshot;
  config: Config;
  /** The sysfs root the snapshot was read from. */
  sys: HostFs;
  /** The host filesystem for the configured kubelet and CNI paths (default: `/`). */
  host?: HostFs;
}

/** Probes with nothing found: every directory absent, no bridges. */
export function emptyProbes(config: Config): Probes {
  return {
    devicePlugins: { dir: config.kubelet.devicePluginsDir, code: 'ENOENT' },
    cniConf: { dir: config.cni.confDir, code: 'ENOENT', multus: [] },
    cniBin: { dir: config.cni.binDir, code: 'ENOENT' },
    acs: [],
  };
}

function rel(abs: string): string {
  return abs.replace(/^\/+/, '');
}

function listDir(fs: HostFs, dir: string): DirProbe {
  const r = fs.list(rel(dir));
  return r.ok ? { dir, entries: r.value.sort() } : { dir, code: r.code };
}

/** true when a CNI config document delegates to Multus (type "multus" at the top or in `plugins`). */
export function isMultusConf(text: string): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as { type?: unknown; plugins?: unknown };
  if (d.type === 'multus') return true;
  return Array.isArray(d.plugins) && d.plugins.some((p: unknown) => typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'multus');
}

function probeCniConf(fs: HostFs, dir: string): CniConfProbe {
  const listing = listDir(fs, dir);
  const multus: string[] = [];
  for (const name of listing.entries ?? []) {
    if (/multus/i.test(name)) {
      multus.push(name);
      continue;
    }
    if (!/\.(conf|conflist|json)$/.test(name)) continue;
    const r = fs.read(`${rel(dir)}/${name}`);
    if (r.ok && isMultusConf(r.value)) multus.push(name);
  }
  return { ...listing, multus };
}

export function gatherProbes(opts: ProbeOptions): Probes {
  const host = opts.host ?? new HostFs('/');
  const acs: BridgeAcs[] = [];
  const seen = new Set<string>();
  for (const pair of gpuRailPairs(opts.snapshot)) {
    for (const bridge of pair.bridges) {
      if (seen.has(bridge)) continue;
      seen.add(bridge);
      const r = opts.sys.readBytes(`bus/pci/devices/${bridge}/config`, 4096);
      acs.push({ bridge, read: r.ok ? parseAcs(r.value) : { kind: 'unreadable', code: r.code } });
    }
  }
  return {
    devicePlugins: listDir(host, opts.config.kubelet.devicePluginsDir),
    cniConf: probeCniConf(host, opts.config.cni.confDir),
    cniBin: listDir(host, opts.config.cni.binDir),
    acs,
  };
}
