// Shared helpers for the reliability and security tests: HTTP scrapes, an exposition line checker, a seeded
// random source, forced garbage collection, and a child-process runner for the real binary.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const REPO = join(import.meta.dirname, '../..');
export const NODE = join(REPO, 'node_modules/.bin/node');
export const MAIN = join(REPO, 'agent/main.ts');

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request on a fresh connection; `path` is sent verbatim (no normalisation by a URL parser). */
export function httpGet(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_PAIR = /^[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"$/;
/** Go's strconv.ParseFloat forms Prometheus accepts, without NaN and +-Inf (railwatch never writes those). */
const FINITE_VALUE = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

function splitLabels(inner: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (quoted && c === '\\') {
      cur += c + (inner[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/**
 * Checks a text-format exposition line by line; returns the offending lines with why (empty when clean).
 * A sample value must be a finite number: NaN, +Inf and -Inf are reported.
 */
export function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  if (text !== '' && !text.endsWith('\n')) problems.push('no final newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const name = line.slice(7).split(' ')[0] ?? '';
      if (!METRIC_NAME.test(name)) problems.push(`bad name in ${JSON.stringify(line.slice(0, 120))}`);
      if (line.startsWith('# TYPE ') && !/ (counter|gauge|histogram|summary|untyped)$/.test(line)) problems.push(`bad TYPE ${line}`);
      continue;
    }
    if (line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    let name: string;
    let rest: string;
    if (brace >= 0) {
      const close = line.lastIndexOf('}');
      if (close < brace) {
        problems.push(`unclosed labels: ${JSON.stringify(line.slice(0, 120))}`);
        continue;
      }
      name = line.slice(0, brace);
      for (const pair of splitLabels(line.slice(brace + 1, close))) {
        if (!LABEL_PAIR.test(pair)) problems.push(`bad label ${JSON.stringify(pair.slice(0, 80))} in ${name}`);
      }
      rest = line.slice(close + 1);
    } else {
      const sp = line.indexOf(' ');
      name = line.slice(0, sp);
      rest = line.slice(sp);
    }
    if (!METRIC_NAME.test(name)) problems.push(`bad name ${JSON.stringify(name.slice(0, 80))}`);
    const fields = rest.trim().split(/\s+/);
    const value = fields[0] ?? '';
    if (!FINITE_VALUE.test(value) || !Number.isFinite(Number(value))) problems.push(`not a finite value: ${JSON.stringify(line.slice(0, 160))}`);
    if (fields.length > 2 || (fields[1] !== undefined && !/^-?\d+$/.test(fields[1]))) problems.push(`bad timestamp: ${line.slice(0, 160)}`);
  }
  return problems;
}

/** mulberry32: a small seeded PRNG, so a chaos run can be repeated from its logged seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let gcFn: (() => void) | undefined;
/** A full garbage collection (exposes V8's gc() to this process when it was started without --expose-gc). */
export function forceGc(): void {
  if (gcFn === undefined) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g !== undefined) gcFn = g;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

export function heapAfterGc(): number {
  forceGc();
  return process.memoryUsage().heapUsed;
}

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the real railwatch binary (node agent/main.ts ...) with a clean environment plus `env`. */
export function spawnRailwatch(args: readonly string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(NODE, [MAIN, ...args], {
    cwd: REPO,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until `fn()` holds, polling; fails with `what` after `limitMs` (a cap on waiting, not a timing assertion). */
export async function until(fn: () => boolean | Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Open file descriptors of this process (Linux). */
export async function openFds(): Promise<number> {
  const { readdirSync } = await import('node:fs');
  return readdirSync('/proc/self/fd').length;
}
