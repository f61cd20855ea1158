// Shared reading helpers for scanners: read an attribute through a parser, record a counted skip on failure.
import type { HostFs, ReadResult } from '../sysfs/host-fs.ts';
import type { Parsed } from '../parse/values.ts';
import type { ScanIssue } from '../model.ts';

export interface ScanContext {
  sys: HostFs;
  proc: HostFs;
  issues: ScanIssue[];
}

/** errno codes that mean "this attribute is not exposed here" for optional attributes. */
export const NOT_EXPOSED = ['ENOENT'] as const;

export class Reader {
  readonly ctx: ScanContext;
  readonly scanner: string;
  constructor(ctx: ScanContext, scanner: string) {
    this.ctx = ctx;
    this.scanner = scanner;
  }

  issue(path: string, code: string, detail?: string): void {
    const entry: ScanIssue = { scanner: this.scanner, path, code };
    if (detail !== undefined) entry.detail = detail;
    this.ctx.issues.push(entry);
  }

  /** Reads `path` from sysfs and parses it. Codes in `quiet` are expected absences, not counted. */
  attr<T>(path: string, parse: (text: string) => Parsed<T>, quiet: readonly string[] = NOT_EXPOSED): T | undefined {
    return this.fromResult(this.ctx.sys.read(path), path, parse, quiet);
  }

  text(path: string, quiet: readonly string[] = NOT_EXPOSED): string | undefined {
    const r = this.ctx.sys.read(path);
    if (r.ok) return r.value.trim();
    if (!quiet.includes(r.code)) this.issue(path, r.code);
    return undefined;
  }

  procText(path: string, quiet: readonly string[] = NOT_EXPOSED): string | undefined {
    const r = this.ctx.proc.read(path);
    if (r.ok) return r.value;
    if (!quiet.includes(r.code)) this.issue('proc:' + path, r.code);
    return undefined;
  }

  fromResult<T>(r: ReadResult, path: string, parse: (text: string) => Parsed<T>, quiet: readonly string[]): T | undefined {
    if (!r.ok) {
      if (!quiet.includes(r.code)) this.issue(path, r.code);
      return undefined;
    }
    const p = parse(r.value);
    if (!p.ok) {
      this.issue(path, 'PARSE', p.reason);
      return undefined;
    }
    return p.value;
  }

  /** The basename of a symlink target; undefined (quietly) when the link is absent. */
  link(path: string, quiet: readonly string[] = NOT_EXPOSED): string | undefined {
    const r = this.ctx.sys.linkName(path);
    if (r.ok) return r.value;
    if (!quiet.includes(r.code)) this.issue(path, r.code);
    return undefined;
  }

  /** Directory entries, sorted; undefined (quietly) when absent. */
  list(path: string, quiet: readonly string[] = NOT_EXPOSED): string[] | undefined {
    const r = this.ctx.sys.list(path);
    if (r.ok) return r.value.sort();
    if (!quiet.includes(r.code)) this.issue(path, r.code);
    return undefined;
  }
}

/** Sorts names with embedded numbers numerically: virtfn2 before virtfn10. */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    const da = ca >= 48 && ca <= 57;
    const db = cb >= 48 && cb <= 57;
    if (da && db) {
      let ei = i;
      let ej = j;
      while (ei < a.length && a.charCodeAt(ei) >= 48 && a.charCodeAt(ei) <= 57) ei++;
      while (ej < b.length && b.charCodeAt(ej) >= 48 && b.charCodeAt(ej) <= 57) ej++;
      // compare digit runs by numeric value: longer (without leading zeros) is larger
      const na = a.slice(i, ei).replace(/^0+(?=\d)/, '');
      const nb = b.slice(j, ej).replace(/^0+(?=\d)/, '');
      if (na.length !== nb.length) return na.length - nb.length;
      if (na !== nb) return na < nb ? -1 : 1;
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

/**
 * Parses a sysfs device path (symlink target or resolved path) into its host bridge and the chain of PCI
 * functions: `../../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/net/ens1` gives
 * { hostBridge: 'pci0000:3a', chain: ['0000:3a:00.0', '0000:3b:00.0'] }.
 */
export function parseDevicePath(target: string): { hostBridge?: string; chain: string[] } {
  const parts = target.split('/');
  const i = parts.indexOf('devices');
  const out: { hostBridge?: string; chain: string[] } = { chain: [] };
  if (i < 0) return out;
  for (let j = i + 1; j < parts.length; j++) {
    const seg = parts[j] ?? '';
    if (j === i + 1 && /^pci[0-9a-f]{4,8}:[0-9a-f]{2}$/.test(seg)) {
      out.hostBridge = seg;
      continue;
    }
    if (/^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/.test(seg)) out.chain.push(seg);
  }
  return out;
}
