// The rescan loop: sysfs cannot be watched, so railwatch rescans on an interval and immediately when a trigger
// (rtnetlink, uevent, file watcher) says something moved. Scans never overlap; a burst of triggers (128 VFs
// created at once) is debounced and coalesced into one or two scans; the interval restarts after every scan.
import type { Logger } from '../log.ts';

export const DEFAULT_INTERVAL_MS = 10_000;
export const MIN_INTERVAL_MS = 1000;

export interface RescanLoopOptions {
  /** Time between the end of one scan and the next interval scan; at least 1000 ms. Default 10 s. */
  intervalMs?: number;
  /** Minimum time between the end of one scan and the start of a triggered one (caps a flapping source). Default 200 ms. */
  minGapMs?: number;
  /** Wait after the first trigger of a burst before scanning, to gather the rest of the burst. Default 50 ms. */
  debounceMs?: number;
  /** Run a scan (trigger `startup`) as soon as start() is called. Default true. */
  scanOnStart?: boolean;
  /** The scan; `trigger` is `startup`, `interval`, or the reason passed to trigger() that started it. */
  scan: (trigger: string) => void | Promise<void>;
  log: Logger;
}

export interface RescanLoopStats {
  /** Completed scans by trigger. */
  scans: Record<string, number>;
  /** Triggers absorbed by a pending or running scan. */
  coalesced: number;
  /** Scans that threw. */
  failures: number;
}

export interface RescanLoop {
  start(): void;
  /** Asks for a rescan soon; cheap to call often. */
  trigger(reason: string): void;
  /** Cancels timers and resolves once an in-flight scan has finished. */
  stop(): Promise<void>;
  stats(): RescanLoopStats;
}

export function createRescanLoop(opts: RescanLoopOptions): RescanLoop {
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (!Number.isFinite(intervalMs) || intervalMs < MIN_INTERVAL_MS) {
    throw new RangeError(`rescan interval must be at least ${MIN_INTERVAL_MS} ms, got ${intervalMs}`);
  }
  const minGapMs = opts.minGapMs ?? 200;
  const debounceMs = opts.debounceMs ?? 50;
  if (minGapMs < 0 || debounceMs < 0) throw new RangeError('minGapMs and debounceMs must not be negative');
  const log = opts.log;

  let phase: 'new' | 'started' | 'stopped' = 'new';
  let timer: NodeJS.Timeout | undefined;
  /** What the armed timer will run: a triggered scan (with its reason) or the interval scan. */
  let timerFor: { kind: 'interval' } | { kind: 'trigger'; reason: string } | undefined;
  let inFlight: Promise<void> | undefined;
  /** The reason of the first trigger that arrived while a scan ran. */
  let pendingReason: string | undefined;
  let lastScanEnd = -Infinity;
  const stats: RescanLoopStats = { scans: {}, coalesced: 0, failures: 0 };

  function arm(delayMs: number, what: NonNullable<typeof timerFor>): void {
    if (timer !== undefined) clearTimeout(timer);
    timerFor = what;
    // unref'd: the loop alone never keeps the process alive (the HTTP server does in the agent)
    timer = setTimeout(fire, Math.max(0, delayMs));
    timer.unref();
  }

  function fire(): void {
    const what = timerFor;
    timer = undefined;
    timerFor = undefined;
    if (phase !== 'started' || what === undefined) return;
    runScan(what.kind === 'interval' ? 'interval' : what.reason);
  }

  function runScan(reason: string): void {
    inFlight = (async () => {
      try {
        await opts.scan(reason);
        stats.scans[reason] = (stats.scans[reason] ?? 0) + 1;
      } catch (err) {
        stats.failures += 1;
        log.error('rescan failed', { trigger: reason, err });
      }
    })().finally(() => {
      inFlight = undefined;
      lastScanEnd = performance.now();
      if (phase !== 'started') return;
      if (pendingReason !== undefined) {
        const next = pendingReason;
        pendingReason = undefined;
        arm(Math.max(debounceMs, minGapMs), { kind: 'trigger', reason: next });
      } else {
        arm(intervalMs, { kind: 'interval' });
      }
    });
  }

  return {
    start(): void {
      if (phase !== 'new') return;
      phase = 'started';
      if (opts.scanOnStart ?? true) runScan('startup');
      else arm(intervalMs, { kind: 'interval' });
    },
    trigger(reason: string): void {
      if (phase !== 'started') return;
      if (inFlight !== undefined) {
        if (pendingReason === undefined) pendingReason = reason;
        else stats.coalesced += 1;
        return;
      }
      if (timerFor?.kind === 'trigger') {
        stats.coalesced += 1;
        return;
      }
      const sinceLast = performance.now() - lastScanEnd;
      arm(Math.max(debounceMs, minGapMs - sinceLast), { kind: 'trigger', reason });
    },
    async stop(): Promise<void> {
      phase = 'stopped';
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      timerFor = undefined;
      pendingReason = undefined;
      if (inFlight !== undefined) await inFlight;
    },
    stats: () => ({ scans: { ...stats.scans }, coalesced: stats.coalesced, failures: stats.failures }),
  };
}
