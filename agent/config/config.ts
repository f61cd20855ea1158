// railwatch configuration: one YAML file (a ConfigMap in the cluster), validated at the edge with defaults.
// A bad config gives a ConfigError naming the file, the line and column and every bad field; the caller keeps the old
// config on reload.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Node as YamlNode } from 'yaml';

/**
 * The yaml library, loaded when the first config text is parsed: it costs about 3.7 MiB resident, which an agent
 * started without a config file (the defaults) never needs to carry.
 */
let yamlLib: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlLib;
}

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

/** A field's path: `a.b.c` or, where a key holds a dot (a PCI address), the keys themselves. */
export type FieldPath = string | readonly string[];

export interface ConfigProblem {
  /** The setting, dotted (`desiredVfs.pfs.ens1f0np0`); `(yaml)`, `(root)` or `(file)` for the document as a whole. */
  field: string;
  message: string;
  /** 1-based position in the file, when known. */
  line?: number;
  col?: number;
  /** @internal the keys of `field`, and whether the key (an unknown setting) or the value is at fault */
  keys?: readonly string[];
  at?: 'key' | 'value';
}

function keysOf(field: FieldPath): readonly string[] {
  return typeof field === 'string' ? field.split('.') : field;
}

function where(file: string | undefined, p: ConfigProblem): string {
  const pos = p.line !== undefined ? `:${p.line}${p.col !== undefined ? `:${p.col}` : ''}` : '';
  return file !== undefined ? `${file}${pos}: ` : pos !== '' ? `line ${p.line}${p.col !== undefined ? `, column ${p.col}` : ''}: ` : '';
}

/** `labelPrefix: `; the YAML syntax as `YAML: `; nothing for the file itself. */
function label(p: ConfigProblem): string {
  return p.field === '(file)' ? '' : p.field === '(yaml)' ? 'YAML: ' : `${p.field}: `;
}

/**
 * Everything wrong with a config, at once. `field` is the first bad field; `problems` lists all of them, each with
 * its line and column when the text was parsed here, and `file` the file they are in.
 */
export class ConfigError extends Error {
  readonly field: string;
  readonly problems: readonly ConfigProblem[];
  readonly file: string | undefined;
  constructor(field: FieldPath | readonly ConfigProblem[], message?: string, file?: string) {
    const problems: ConfigProblem[] =
      typeof field === 'string' || (field.length > 0 && typeof field[0] === 'string')
        ? [{ field: keysOf(field as FieldPath).join('.'), message: message ?? 'invalid', keys: keysOf(field as FieldPath), at: message?.startsWith('unknown setting') ? 'key' : 'value' }]
        : [...(field as readonly ConfigProblem[])];
    const head = `config${file !== undefined ? ` ${file}` : ''}`;
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
    super(
      problems.length === 1
        ? `config: ${where(file, problems[0]!)}${label(problems[0]!)}${problems[0]!.message}`
        : `${head}: ${problems.length} problems:\n` + problems.map((p) => `  ${where(file, p)}${label(p)}${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.field = problems[0]?.field ?? '(root)';
    this.problems = problems;
    this.file = file;
  }
}

/** Runs one field's validation, collecting its ConfigError (if any) instead of stopping at it. */
function collector(): { check: (fn: () => void) => void; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  return {
    problems,
    check(fn) {
      try {
        fn();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.problems);
      }
    },
  };
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

function int(field: FieldPath, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(field, `must be an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new ConfigError(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function num(field: FieldPath, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(field, `must be a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new ConfigError(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function path(field: FieldPath, v: unknown): string {
  if (typeof v !== 'string' || !v.startsWith('/')) throw new ConfigError(field, `must be an absolute path, got ${JSON.stringify(v)}`);
  return v;
}

function intMap(field: FieldPath, v: unknown, min: number, max: number): Record<string, number> {
  if (!isObject(v)) throw new ConfigError(field, 'must be a map');
  const out: Record<string, number> = {};
  const c = collector();
  for (const [k, val] of Object.entries(v)) {
    c.check(() => {
      if (k === '' || k.length > 64) throw new ConfigError([...keysOf(field), k], 'key must be 1-64 characters');
      out[k] = int([...keysOf(field), k], val, min, max);
    });
  }
  if (c.problems.length > 0) throw new ConfigError(c.problems);
  return out;
}

/** Parses `2Mi`, `1Gi`, `2048kB`, `2M`, `1G` or a number of kB. */
export function parsePageSize(field: FieldPath, v: unknown): number {
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

/** Validates a parsed YAML document into a Config (defaults filled in); a ConfigError lists every bad field. */
export function validateConfig(doc: unknown): Config {
  const cfg = defaultConfig();
  if (doc === null || doc === undefined) return cfg;
  if (!isObject(doc)) throw new ConfigError('(root)', 'must be a map of settings');
  const { check, problems } = collector();
  for (const key of Object.keys(doc)) {
    if (!(TOP_KEYS as readonly string[]).includes(key)) check(() => { throw new ConfigError([key], `unknown setting (known: ${TOP_KEYS.join(', ')})`); });
  }
  if (doc['labelPrefix'] !== undefined) check(() => {
    const p = doc['labelPrefix'];
    if (typeof p !== 'string' || !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/$/.test(p) || p.length > 254) {
      throw new ConfigError('labelPrefix', 'must be a DNS subdomain followed by "/", e.g. railwatch.io/');
    }
    cfg.labelPrefix = p;
  });
  if (doc['scanIntervalSeconds'] !== undefined) check(() => (cfg.scanIntervalSeconds = num('scanIntervalSeconds', doc['scanIntervalSeconds'], 1, 3600)));
  if (doc['conditionHeartbeatSeconds'] !== undefined) check(() => {
    cfg.conditionHeartbeatSeconds = int('conditionHeartbeatSeconds', doc['conditionHeartbeatSeconds'], 10, 86_400);
  });
  if (doc['rails'] !== undefined) check(() => {
    cfg.rails = intMap('rails', doc['rails'], 0, 255);
    const seen = new Map<number, string>();
    const dup = collector();
    for (const [k, r] of Object.entries(cfg.rails)) {
      const prev = seen.get(r);
      if (prev !== undefined) dup.check(() => { throw new ConfigError(['rails', k], `rail ${r} is already assigned to ${prev}`); });
      seen.set(r, k);
    }
    if (dup.problems.length > 0) throw new ConfigError(dup.problems);
  });
  if (doc['expectedRails'] !== undefined) check(() => (cfg.expectedRails = int('expectedRails', doc['expectedRails'], 0, 256)));
  const dv = doc['desiredVfs'];
  if (dv !== undefined) {
    if (typeof dv === 'number') {
      check(() => (cfg.desiredVfs.all = int('desiredVfs', dv, 0, 4096)));
    } else if (isObject(dv)) {
      for (const key of Object.keys(dv)) {
        if (!['all', 'pfs', 'rails'].includes(key)) check(() => { throw new ConfigError(['desiredVfs', key], 'unknown setting (known: all, pfs, rails)'); });
      }
      if (dv['all'] !== undefined) check(() => (cfg.desiredVfs.all = int('desiredVfs.all', dv['all'], 0, 4096)));
      if (dv['pfs'] !== undefined) check(() => (cfg.desiredVfs.pfs = intMap('desiredVfs.pfs', dv['pfs'], 0, 4096)));
      if (dv['rails'] !== undefined) check(() => {
        const byRail = isObject(dv['rails']) ? dv['rails'] : {};
        for (const k of Object.keys(byRail)) {
          if (!/^\d+$/.test(k)) check(() => { throw new ConfigError(['desiredVfs', 'rails', k], 'keys must be rail numbers'); });
        }
        cfg.desiredVfs.rails = intMap('desiredVfs.rails', dv['rails'], 0, 4096);
      });
    } else {
      check(() => { throw new ConfigError('desiredVfs', 'must be a number or a map with all/pfs/rails'); });
    }
  }
  if (doc['expectedRateGbps'] !== undefined) check(() => (cfg.expectedRateGbps = num('expectedRateGbps', doc['expectedRateGbps'], 1, 10000)));
  if (doc['expectedMtu'] !== undefined) check(() => (cfg.expectedMtu = int('expectedMtu', doc['expectedMtu'], 68, 65535)));
  const hp = doc['hugepages'];
  if (hp !== undefined) check(() => {
    if (!isObject(hp)) throw new ConfigError('hugepages', 'must be a map with size and count');
    const h = collector();
    for (const key of Object.keys(hp)) {
      if (!['size', 'count', 'perNuma'].includes(key)) h.check(() => { throw new ConfigError(['hugepages', key], 'unknown setting (known: size, count, perNuma)'); });
    }
    let sizeKb = 0;
    let count = 0;
    let perNuma = false;
    h.check(() => {
      if (hp['size'] === undefined) throw new ConfigError('hugepages.size', 'is required');
      sizeKb = parsePageSize('hugepages.size', hp['size']);
    });
    h.check(() => {
      if (hp['count'] === undefined) throw new ConfigError('hugepages.count', 'is required');
      count = int('hugepages.count', hp['count'], 0, 1 << 24);
    });
    h.check(() => {
      const v = hp['perNuma'] ?? false;
      if (typeof v !== 'boolean') throw new ConfigError('hugepages.perNuma', 'must be true or false');
      perNuma = v;
    });
    if (h.problems.length > 0) throw new ConfigError(h.problems);
    cfg.hugepages = { sizeKb, count, perNuma };
  });
  const kubelet = doc['kubelet'];
  if (kubelet !== undefined) check(() => {
    if (!isObject(kubelet)) throw new ConfigError('kubelet', 'must be a map');
    for (const key of Object.keys(kubelet)) {
      check(() => {
        if (key === 'podResourcesSocket') cfg.kubelet.podResourcesSocket = path('kubelet.podResourcesSocket', kubelet[key]);
        else if (key === 'devicePluginsDir') cfg.kubelet.devicePluginsDir = path('kubelet.devicePluginsDir', kubelet[key]);
        else throw new ConfigError(['kubelet', key], 'unknown setting (known: podResourcesSocket, devicePluginsDir)');
      });
    }
  });
  const cni = doc['cni'];
  if (cni !== undefined) check(() => {
    if (!isObject(cni)) throw new ConfigError('cni', 'must be a map');
    for (const key of Object.keys(cni)) {
      check(() => {
        if (key === 'confDir') cfg.cni.confDir = path('cni.confDir', cni[key]);
        else if (key === 'binDir') cfg.cni.binDir = path('cni.binDir', cni[key]);
        else throw new ConfigError(['cni', key], 'unknown setting (known: confDir, binDir)');
      });
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}

/** The YAML node at `keys` (its key node for `at: 'key'`), or the deepest one that exists. */
function locate(root: YamlNode | null | undefined, keys: readonly string[], at: 'key' | 'value'): YamlNode | undefined {
  const { isMap, isPair, isScalar } = yaml();
  let node: YamlNode | null | undefined = root;
  for (const [i, k] of keys.entries()) {
    if (!isMap(node)) return node ?? undefined;
    const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === k);
    if (!pair) return node;
    const last = i === keys.length - 1;
    if (last && at === 'key' && isScalar(pair.key)) return pair.key;
    node = (pair.value as YamlNode | null) ?? (isScalar(pair.key) ? pair.key : undefined);
  }
  return node ?? undefined;
}

/** A yaml library message without its own position and code excerpt (`... at line 2, column 1:` and what follows). */
function yamlMessage(err: Error): string {
  return (err.message.split('\n')[0] ?? 'invalid YAML').replace(/ at line \d+, column \d+:?\s*$/, '').trim() || 'invalid YAML';
}

/** Parses and validates a config text; `file` only names it in errors. */
export function parseConfigText(text: string, file?: string): Config {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const pos = (offset: number | undefined) => (offset === undefined ? {} : { line: lineCounter.linePos(offset).line, col: lineCounter.linePos(offset).col });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ field: '(yaml)', message: yamlMessage(e), ...(e.linePos?.[0] ? { line: e.linePos[0].line, col: e.linePos[0].col } : pos(e.pos[0])) })),
      undefined,
      file,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([{ field: '(yaml)', message: yamlMessage(err as Error) }], undefined, file);
  }
  try {
    return validateConfig(value);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const located = err.problems.map((p) => {
      const node = p.keys ? locate(doc.contents, p.field === '(root)' ? [] : p.keys, p.at ?? 'value') : undefined;
      const { keys: _k, at: _a, ...rest } = p;
      return { ...rest, ...pos(node?.range?.[0]) };
    });
    throw new ConfigError(located, undefined, file);
  }
}

export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ field: '(file)', message: `cannot read: ${readError(err)}` }], undefined, file);
  }
  return parseConfigText(text, file);
}

/** `no such file (ENOENT)`, `permission denied (EACCES)`, `is a directory (EISDIR)`, or the message. */
export function readError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'a parent is not a directory', ELOOP: 'too many symbolic links' };
  return code !== undefined ? `${words[code] ?? 'cannot read'} (${code})` : (err as Error).message;
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
