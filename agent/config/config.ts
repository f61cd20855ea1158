// railwatch configuration: one YAML file (a ConfigMap in the cluster), validated at the edge with defaults.
// A bad config gives a ConfigError naming the field; the caller keeps the old config on reload.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export interface HugepagesWant {
  /** Page size in kB (2048 or 1048576); written as 2Mi/1Gi/2048kB in the file. */
  sizeKb: number;
  /** Pages wanted (system-wide, or on each NUMA node when perNuma is true). */
  count: number;
  perNuma: boolean;
}

export interface Config {
  /** Node label prefix, ending in `/`. */
  labelPrefix: string;
  scanIntervalSeconds: number;
  /** The RdmaNetworkReady condition's lastHeartbeatTime is refreshed this often even when nothing changed. */
  conditionHeartbeatSeconds: number;
  /** Explicit rail map: PF netdev name or PCI address -> rail number. */
  rails: Record<string, number>;
  expectedRails?: number;
  /** Desired sriov_numvfs: for every rail PF (`all`), per PF name/PCI address, per rail number. */
  desiredVfs: { all?: number; pfs: Record<string, number>; rails: Record<string, number> };
  expectedRateGbps?: number;
  expectedMtu?: number;
  hugepages?: HugepagesWant;
  kubelet: { podResourcesSocket: string; devicePluginsDir: string };
  cni: { confDir: string; binDir: string };
}

export class ConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`config: ${field}: ${message}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}

export function defaultConfig(): Config {
  return {
    labelPrefix: 'railwatch.io/',
    scanIntervalSeconds: 10,
    conditionHeartbeatSeconds: 600,
    rails: {},
    desiredVfs: { pfs: {}, rails: {} },
    kubelet: {
      podResourcesSocket: '/var/lib/kubelet/pod-resources/kubelet.sock',
      devicePluginsDir: '/var/lib/kubelet/device-plugins',
    },
    cni: { confDir: '/etc/cni/net.d', binDir: '/opt/cni/bin' },
  };
}

const TOP_KEYS = [
  'labelPrefix',
  'scanIntervalSeconds',
  'conditionHeartbeatSeconds',
  'rails',
  'expectedRails',
  'desiredVfs',
  'expectedRateGbps',
  'expectedMtu',
  'hugepages',
  'kubelet',
  'cni',
] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(field, `must be an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new ConfigError(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function num(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(field, `must be a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new ConfigError(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function path(field: string, v: unknown): string {
  if (typeof v !== 'string' || !v.startsWith('/')) throw new ConfigError(field, `must be an absolute path, got ${JSON.stringify(v)}`);
  return v;
}

function intMap(field: string, v: unknown, min: number, max: number): Record<string, number> {
  if (!isObject(v)) throw new ConfigError(field, 'must be a map');
  const out: Record<string, number> = {};
  for (const [k, val] of Object.entries(v)) {
    if (k === '' || k.length > 64) throw new ConfigError(`${field}.${k}`, 'key must be 1-64 characters');
    out[k] = int(`${field}.${k}`, val, min, max);
  }
  return out;
}

/** Parses `2Mi`, `1Gi`, `2048kB`, `2M`, `1G` or a number of kB. */
export function parsePageSize(field: string, v: unknown): number {
  if (typeof v === 'number') return int(field, v, 4, 16 * 1024 * 1024);
  if (typeof v !== 'string') throw new ConfigError(field, 'must be a size like 2Mi or 1Gi');
  const m = /^(\d+)\s*(kB|KiB|Ki|Mi|M|MB|Gi|G|GB)$/.exec(v.trim());
  if (!m?.[1] || !m[2]) throw new ConfigError(field, `must be a size like 2Mi or 1Gi, got ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  const unit = m[2];
  const kb = unit.startsWith('G') ? n * 1024 * 1024 : unit.startsWith('M') ? n * 1024 : n;
  if (kb !== 2048 && kb !== 1048576 && kb !== 64 && kb !== 524288 && kb !== 16384 && kb !== 16777216) {
    throw new ConfigError(field, `unsupported hugepage size ${v}`);
  }
  return kb;
}

/** Validates a parsed YAML document into a Config (defaults filled in). */
export function validateConfig(doc: unknown): Config {
  const cfg = defaultConfig();
  if (doc === null || doc === undefined) return cfg;
  if (!isObject(doc)) throw new ConfigError('(root)', 'must be a map of settings');
  for (const key of Object.keys(doc)) {
    if (!(TOP_KEYS as readonly string[]).includes(key)) throw new ConfigError(key, `unknown setting (known: ${TOP_KEYS.join(', ')})`);
  }
  if (doc['labelPrefix'] !== undefined) {
    const p = doc['labelPrefix'];
    if (typeof p !== 'string' || !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/$/.test(p) || p.length > 254) {
      throw new ConfigError('labelPrefix', 'must be a DNS subdomain followed by "/", e.g. railwatch.io/');
    }
    cfg.labelPrefix = p;
  }
  if (doc['scanIntervalSeconds'] !== undefined) cfg.scanIntervalSeconds = num('scanIntervalSeconds', doc['scanIntervalSeconds'], 1, 3600);
  if (doc['conditionHeartbeatSeconds'] !== undefined) {
    cfg.conditionHeartbeatSeconds = int('conditionHeartbeatSeconds', doc['conditionHeartbeatSeconds'], 10, 86_400);
  }
  if (doc['rails'] !== undefined) {
    cfg.rails = intMap('rails', doc['rails'], 0, 255);
    const seen = new Map<number, string>();
    for (const [k, r] of Object.entries(cfg.rails)) {
      const prev = seen.get(r);
      if (prev !== undefined) throw new ConfigError(`rails.${k}`, `rail ${r} is already assigned to ${prev}`);
      seen.set(r, k);
    }
  }
  if (doc['expectedRails'] !== undefined) cfg.expectedRails = int('expectedRails', doc['expectedRails'], 0, 256);
  const dv = doc['desiredVfs'];
  if (dv !== undefined) {
    if (typeof dv === 'number') {
      cfg.desiredVfs.all = int('desiredVfs', dv, 0, 4096);
    } else if (isObject(dv)) {
      for (const key of Object.keys(dv)) {
        if (!['all', 'pfs', 'rails'].includes(key)) throw new ConfigError(`desiredVfs.${key}`, 'unknown setting (known: all, pfs, rails)');
      }
      if (dv['all'] !== undefined) cfg.desiredVfs.all = int('desiredVfs.all', dv['all'], 0, 4096);
      if (dv['pfs'] !== undefined) cfg.desiredVfs.pfs = intMap('desiredVfs.pfs', dv['pfs'], 0, 4096);
      if (dv['rails'] !== undefined) cfg.desiredVfs.rails = intMap('desiredVfs.rails', dv['rails'], 0, 4096);
      for (const k of Object.keys(cfg.desiredVfs.rails)) {
        if (!/^\d+$/.test(k)) throw new ConfigError(`desiredVfs.rails.${k}`, 'keys must be rail numbers');
      }
    } else {
      throw new ConfigError('desiredVfs', 'must be a number or a map with all/pfs/rails');
    }
  }
  if (doc['expectedRateGbps'] !== undefined) cfg.expectedRateGbps = num('expectedRateGbps', doc['expectedRateGbps'], 1, 10000);
  if (doc['expectedMtu'] !== undefined) cfg.expectedMtu = int('expectedMtu', doc['expectedMtu'], 68, 65535);
  const hp = doc['hugepages'];
  if (hp !== undefined) {
    if (!isObject(hp)) throw new ConfigError('hugepages', 'must be a map with size and count');
    for (const key of Object.keys(hp)) {
      if (!['size', 'count', 'perNuma'].includes(key)) throw new ConfigError(`hugepages.${key}`, 'unknown setting (known: size, count, perNuma)');
    }
    if (hp['size'] === undefined) throw new ConfigError('hugepages.size', 'is required');
    if (hp['count'] === undefined) throw new ConfigError('hugepages.count', 'is required');
    const perNuma = hp['perNuma'] ?? false;
    if (typeof perNuma !== 'boolean') throw new ConfigError('hugepages.perNuma', 'must be true or false');
    cfg.hugepages = { sizeKb: parsePageSize('hugepages.size', hp['size']), count: int('hugepages.count', hp['count'], 0, 1 << 24), perNuma };
  }
  const kubelet = doc['kubelet'];
  if (kubelet !== undefined) {
    if (!isObject(kubelet)) throw new ConfigError('kubelet', 'must be a map');
    for (const key of Object.keys(kubelet)) {
      if (key === 'podResourcesSocket') cfg.kubelet.podResourcesSocket = path('kubelet.podResourcesSocket', kubelet[key]);
      else if (key === 'devicePluginsDir') cfg.kubelet.devicePluginsDir = path('kubelet.devicePluginsDir', kubelet[key]);
      else throw new ConfigError(`kubelet.${key}`, 'unknown setting (known: podResourcesSocket, devicePluginsDir)');
    }
  }
  const cni = doc['cni'];
  if (cni !== undefined) {
    if (!isObject(cni)) throw new ConfigError('cni', 'must be a map');
    for (const key of Object.keys(cni)) {
      if (key === 'confDir') cfg.cni.confDir = path('cni.confDir', cni[key]);
      else if (key === 'binDir') cfg.cni.binDir = path('cni.binDir', cni[key]);
      else throw new ConfigError(`cni.${key}`, 'unknown setting (known: confDir, binDir)');
    }
  }
  return cfg;
}

export function parseConfigText(text: string): Config {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError('(yaml)', (err as Error).message.split('\n')[0] ?? 'invalid YAML');
  }
  return validateConfig(doc);
}

export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigText(text);
}

/** Desired VF count for a PF: per-PF (name or PCI) beats per-rail beats `all` (rail PFs only). */
export function desiredVfsFor(cfg: Config, pf: { pci: string; netdev?: string; rail?: number }): number | undefined {
  const d = cfg.desiredVfs;
  if (pf.netdev !== undefined && d.pfs[pf.netdev] !== undefined) return d.pfs[pf.netdev];
  if (d.pfs[pf.pci] !== undefined) return d.pfs[pf.pci];
  if (pf.rail === undefined) return undefined;
  const byRail = d.rails[String(pf.rail)];
  if (byRail !== undefined) return byRail;
  return d.all;
}

/** Top-level settings of the config file (docs/config.md documents each; a test keeps them in step). */
export const CONFIG_TOP_KEYS: readonly string[] = TOP_KEYS;
