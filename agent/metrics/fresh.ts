// The fresh part of a scrape: counter values read when the scrape comes, from pluggable sources (the RDMA counter
// files; per-VF statistics plug in the same way). One reader for all scrapes:
//  - coalesced: a scrape joins the read in flight, or reuses the latest one when it started at most `reuseMs` ago
//    (default 100 ms), so 200 concurrent scrapers cost a handful of reads per second, not one read each;
//  - bounded: a source gets a deadline (`timeoutMs`, default 250 ms); a sync source stops reading at it, an async one
//    is abandoned at it; what was not read has no series in that scrape (never a stale or zero value);
//  - fresh: a value written to a counter file is served by every scrape that starts `reuseMs + timeoutMs` (350 ms)
//    or more after it; the contract is 0.5 s (test/metrics/fresh.test.ts).
// A file that fails or vanished is a counted skip (railwatch_scrape_read_errors_total{source,reason}), counted and
// logged once when it starts failing, not once per scrape.
import type { Logger } from '../log.ts';
import type { AgentState } from '../state.ts';
import { WeakKeys } from '../weak-keys.ts';
import { single, type MetricFamily } from './exposition.ts';
import { part, type RenderedPart } from './part.ts';

export type SkipReason = 'vanished' | 'unreadable' | 'unparsable' | 'timeout';
export const SKIP_REASONS: readonly SkipReason[] = ['vanished', 'unreadable', 'unparsable', 'timeout'];

export interface Skip {
  /** The file (relative to its root) or other item that has no series this time. */
  path: string;
  reason: SkipReason;
  detail?: string;
}

/** A source's values at one read, with what it had to leave out. */
export interface FreshReading<T> {
  value: T;
  skips: readonly Skip[];
}

export interface FreshContext {
  state: AgentState;
  /** performance.now() time by which the source must be done. */
  deadlineMs: number;
  /** Aborted when the deadline passes (for async sources). */
  signal: AbortSignal;
}

/**
 * A source of fresh counter families. `read` writes its families (exposition.ts: text, or bytes from a
 * FamiliesBytesWriter) and lists its skips.
 */
export interface FreshSource {
  readonly name: string;
  read(ctx: FreshContext): FreshReading<string | Buffer> | Promise<FreshReading<string | Buffer>>;
}

export interface FreshReaderOptions {
  sources: readonly FreshSource[];
  /** A read that started at most this long ago serves later scrapes too, ms (default 100). */
  reuseMs?: number;
  /** Deadline of one read, ms (default 250). */
  timeoutMs?: number;
  log?: Logger;
}

export interface FreshReader {
  /** The fresh parts for a scrape of `state`: one per source that wrote something, in source order. */
  read(state: AgentState): Promise<readonly RenderedPart[]>;
  /** The reader's own families (reads, durations, skips), for the live part. */
  readonly families: readonly MetricFamily<void>[];
}

/** Distinct failing paths logged per source (each once per start of failing). */
const MAX_LOGGED = 500;

export const DEFAULT_REUSE_MS = 100;
export const DEFAULT_TIMEOUT_MS = 250;

interface Read {
  /** The snapshot the read was made for, held weakly (agent/weak-keys.ts). */
  key: WeakKeys;
  startedAt: number;
  done: boolean;
  promise: Promise<readonly RenderedPart[]>;
}

export function createFreshReader(options: FreshReaderOptions): FreshReader {
  const reuseMs = options.reuseMs ?? DEFAULT_REUSE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sources = options.sources;
  let reads = 0;
  const durations = new Map<string, number>();
  const errors = new Map<string, Map<SkipReason, number>>(sources.map((s) => [s.name, new Map(SKIP_REASONS.map((r) => [r, 0]))]));
  /** source -> path -> reason, of the latest read */
  const failing = new Map<string, Map<string, SkipReason>>(sources.map((s) => [s.name, new Map()]));
  const logged = new Map<string, number>(sources.map((s) => [s.name, 0]));
  let latest: Read | undefined;

  function account(source: string, skips: readonly Skip[]): void {
    const before = failing.get(source) ?? new Map<string, SkipReason>();
    const now = new Map<string, SkipReason>();
    const counts = errors.get(source)!;
    for (const skip of skips) {
      now.set(skip.path, skip.reason);
      if (before.get(skip.path) === skip.reason) continue;
      counts.set(skip.reason, (counts.get(skip.reason) ?? 0) + 1);
      const n = logged.get(source) ?? 0;
      if (n < MAX_LOGGED) {
        logged.set(source, n + 1);
        options.log?.warn('counter left out of the scrape', { source, path: skip.path, reason: skip.reason, detail: skip.detail });
      }
    }
    failing.set(source, now);
  }

  async function one(source: FreshSource, state: AgentState, startedAt: number): Promise<string | Buffer> {
    const deadlineMs = startedAt + timeoutMs;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const pending = source.read({ state, deadlineMs, signal: abort.signal });
      const reading =
        pending instanceof Promise
          ? await Promise.race([
              pending,
              new Promise<undefined>((resolve) => {
                timer = setTimeout(() => resolve(undefined), Math.max(0, deadlineMs - performance.now()));
              }),
            ])
          : pending;
      if (reading === undefined) {
        abort.abort();
        (pending as Promise<FreshReading<string | Buffer>>).catch(() => undefined);
        account(source.name, [{ path: source.name, reason: 'timeout', detail: `no answer within ${timeoutMs} ms` }]);
        return '';
      }
      account(source.name, reading.skips);
      return reading.value;
    } catch (err) {
      account(source.name, [{ path: source.name, reason: 'unreadable', detail: (err as Error).message }]);
      return '';
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      durations.set(source.name, (performance.now() - startedAt) / 1000);
    }
  }

  async function run(state: AgentState, startedAt: number): Promise<readonly RenderedPart[]> {
    reads++;
    const written = await Promise.all(sources.map((s) => one(s, state, startedAt)));
    return written.map((w) => part(w)).filter((p) => !p.empty);
  }

  const families: MetricFamily<void>[] = [
    {
      name: 'railwatch_scrape_reads_total',
      help: 'Scrape-time reads of the counter sources; concurrent scrapes share one read.',
      type: 'counter',
      labels: [],
      collect: () => single(reads),
    },
    {
      name: 'railwatch_scrape_read_duration_seconds',
      help: 'Duration of the latest scrape-time read of a counter source, in seconds.',
      type: 'gauge',
      labels: ['source'],
      *collect() {
        for (const [source, s] of durations) yield { labels: [source], value: s };
      },
    },
    {
      name: 'railwatch_scrape_read_errors_total',
      help: 'Counter files (or whole sources) that started to be left out of scrapes, by source and reason: vanished, unreadable, unparsable or timeout.',
      type: 'counter',
      labels: ['source', 'reason'],
      *collect() {
        for (const [source, counts] of errors) for (const [reason, n] of counts) yield { labels: [source, reason], value: n };
      },
    },
  ];

  return {
    families,
    read(state) {
      const now = performance.now();
      const l = latest;
      if (l !== undefined && l.key.matches([state.snapshot]) && (!l.done || now - l.startedAt <= reuseMs)) return l.promise;
      const r: Read = { key: new WeakKeys([state.snapshot]), startedAt: now, done: false, promise: Promise.resolve([]) };
      r.promise = run(state, now).finally(() => {
        r.done = true;
        // past the reuse window the parts are never served again: let them go now, not at the next scrape (on
        // 8 x 128 VFs the fresh part is hundreds of KiB, and Prometheus scrapes every 15-60 s)
        setTimeout(() => {
          if (latest === r) latest = undefined;
        }, reuseMs).unref();
      });
      latest = r;
      return r.promise;
    },
  };
}
