// Supervises one long-running monitor process (`ip -o monitor link`, `udevadm monitor --kernel`) that prints
// one event per line: fixed argv, spawned without a shell; restarted with capped exponential backoff when it
// dies; a missing executable (ENOENT) is logged once and the monitor stays off (the interval rescan remains).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.ts';

export interface BackoffOptions {
  /** First restart delay. */
  initialMs: number;
  /** Upper bound for the restart delay. */
  maxMs: number;
  /** A process that ran at least this long resets the delay to initialMs. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, stableMs: 30_000 };

export type LineProcessState = 'starting' | 'running' | 'backoff' | 'absent' | 'stopped';

export interface LineProcessOptions {
  /** Name used in log lines, e.g. `netlink`. */
  name: string;
  /** argv: [executable, ...args]; never passed through a shell. */
  command: readonly string[];
  onLine: (line: string) => void;
  /** Called on every (re)start after the first: events may have been missed while the process was down. */
  onRestart?: () => void;
  log: Logger;
  backoff?: Partial<BackoffOptions>;
  /** An optional source: a missing executable is logged at info, not warn. */
  optional?: boolean;
}

export interface LineProcess {
  state(): LineProcessState;
  /** How many times the process has been started (1 after the first start). */
  starts(): number;
  /** Kills the process and cancels any pending restart; resolves when the process has exited. */
  stop(): Promise<void>;
}

/** Delay before restart number `attempt` (1-based): initial * 2^(attempt-1), capped at max. */
export function backoffDelay(attempt: number, b: Pick<BackoffOptions, 'initialMs' | 'maxMs'>): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(b.initialMs * 2 ** exp, b.maxMs);
}

export function superviseLineProcess(opts: LineProcessOptions): LineProcess {
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const [file, ...args] = opts.command;
  if (file === undefined || file === '') throw new Error(`${opts.name}: empty command`);
  const log = opts.log;
  let state: LineProcessState = 'starting';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let restartTimer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let starts = 0;

  function launch(): void {
    restartTimer = undefined;
    if (state === 'stopped') return;
    starts += 1;
    const startedAt = performance.now();
    if (starts > 1) opts.onRestart?.();
    let proc: ChildProcess;
    try {
      proc = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    } catch (err) {
      onGone(err as NodeJS.ErrnoException, null, null, startedAt);
      return;
    }
    child = proc;
    state = 'running';
    let spawnError: NodeJS.ErrnoException | undefined;
    let stderrTail = '';
    let pending = '';
    exited = new Promise<void>((resolve) => {
      proc.once('close', (code, signal) => {
        if (child === proc) child = undefined;
        if (pending.trim() !== '') deliver(pending);
        pending = '';
        onGone(spawnError, code, signal, startedAt, stderrTail);
        resolve();
      });
    });
    proc.once('spawn', () => {
      log.debug('monitor process started', { monitor: opts.name, command: opts.command, pid: proc.pid, start: starts });
    });
    proc.once('error', (err: NodeJS.ErrnoException) => {
      // 'close' follows an 'error' from spawn; remember why
      spawnError = err;
    });
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        deliver(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
      // a line longer than 64 KiB is not an event line; drop it rather than grow without bound
      if (pending.length > 65536) pending = '';
    });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-512);
    });
  }

  function deliver(line: string): void {
    try {
      opts.onLine(line);
    } catch (err) {
      log.error('monitor line handler failed', { monitor: opts.name, err });
    }
  }

  function onGone(
    err: NodeJS.ErrnoException | undefined,
    code: number | null,
    signal: NodeJS.Signals | null,
    startedAt: number,
    stderrTail = '',
  ): void {
    if (state === 'stopped') return;
    if (err?.code === 'ENOENT') {
      state = 'absent';
      const meta = { monitor: opts.name, command: opts.command[0] };
      if (opts.optional === true) log.info('monitor command not found; relying on the interval rescan', meta);
      else log.warn('monitor command not found; relying on the interval rescan', meta);
      return;
    }
    const ranMs = performance.now() - startedAt;
    attempt = ranMs >= backoff.stableMs ? 1 : attempt + 1;
    const delayMs = backoffDelay(attempt, backoff);
    state = 'backoff';
    log.warn('monitor process ended; restarting', {
      monitor: opts.name,
      code,
      signal,
      err,
      stderr: stderrTail.trim() || undefined,
      ranMs: Math.round(ranMs),
      restartInMs: delayMs,
    });
    restartTimer = setTimeout(launch, delayMs);
    restartTimer.unref();
  }

  launch();

  return {
    state: () => state,
    starts: () => starts,
    async stop(): Promise<void> {
      state = 'stopped';
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      restartTimer = undefined;
      const proc = child;
      if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
