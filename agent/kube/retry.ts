// What a failed Kubernetes call leads to: KubeStatusError for a non-2xx answer, the capped exponential backoff
// with jitter (a longer Retry-After wins) before the next try, and a sleep that a stop cuts short.
import type { KubeResponse } from './transport.ts';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000 };
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Capped exponential backoff with jitter (delay in [cap/2, cap)); a Retry-After is honoured when longer. */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number, retryAfterMs?: number): number {
  const cap = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  const jittered = cap / 2 + (cap / 2) * random();
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** A non-2xx response. */
export class KubeStatusError extends Error {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(what: string, res: Pick<KubeResponse, 'status' | 'retryAfterMs' | 'body'>) {
    const msg = typeof res.body === 'object' && res.body !== null && typeof (res.body as { message?: unknown }).message === 'string' ? (res.body as { message: string }).message : '';
    super(`${what}: HTTP ${res.status}${msg ? `: ${msg}` : ''}`);
    this.name = 'KubeStatusError';
    this.status = res.status;
    this.retryAfterMs = res.retryAfterMs;
  }
}

/** The response when it is a 2xx; else throws KubeStatusError for `what`. */
export function expectOk(res: KubeResponse, what: string): KubeResponse {
  if (res.status < 200 || res.status > 299) throw new KubeStatusError(what, res);
  return res;
}

/** Sleeps for `ms`, waking early only when the signal aborts (at once when it already has). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
