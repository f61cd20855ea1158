// The Node's events (and Pods' events, agent/attach/pod-events.ts) as events.k8s.io/v1 Events. Occurrences are
// recorded into series by (reason, subject): a recurrence within the series window bumps the series' count, later
// a new series (a new Event) starts. flush() writes each series with unwritten occurrences, rate limited by a token
// bucket per series: the first write creates the Event, later ones merge-patch its series; a 404 (the Event expired
// on the server) creates it again. A rejected event (400, 403, 422) is dropped with a log line; any other failure
// throws, leaving the series to be written on the next flush.
import type { Logger } from '../log.ts';
import type { KubeClient } from './client.ts';
import { createTokenBucket, eventName, eventNamespace, eventObject, microTime, seriesKey, type KubeEvent, type NodeEventSpec, type NodeRef, type TokenBucket } from './events.ts';
import { KubeStatusError } from './retry.ts';
import { MERGE_PATCH, type KubeResponse } from './transport.ts';

export interface EventWriterOptions {
  client: Pick<KubeClient, 'request'>;
  nodeName: string;
  log: Logger;
  now: () => number;
  /** Aborts the writes in flight (stop). */
  signal: AbortSignal;
  /** Token bucket per series: `burst` writes, one more every `refillMs`. */
  rate: { burst: number; refillMs: number };
  /** A recurrence within this window updates the same Event's series; later, a new Event is created. */
  seriesWindowMs: number;
}

interface Series {
  spec: NodeEventSpec;
  /** The Event's name once created. */
  name?: string;
  count: number;
  firstMs: number;
  lastObservedMs: number;
  /** Occurrences not written yet. */
  dirty: boolean;
}

export class NodeEventWriter {
  readonly #opts: EventWriterOptions;
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, TokenBucket>();
  /** Keeps the names of Events created in the same millisecond apart. */
  #seq = 0;

  constructor(opts: EventWriterOptions) {
    this.#opts = opts;
  }

  /** Records new occurrences (now) into their series. */
  record(specs: readonly NodeEventSpec[]): void {
    const t = this.#opts.now();
    for (const spec of specs) {
      const key = seriesKey(spec);
      const s = this.#series.get(key);
      if (s === undefined || t - s.lastObservedMs > this.#opts.seriesWindowMs) {
        this.#series.set(key, { spec, count: 1, firstMs: t, lastObservedMs: t, dirty: true });
      } else {
        s.count++;
        s.lastObservedMs = t;
        s.dirty = true;
      }
    }
  }

  /**
   * Writes every series with unwritten occurrences that its bucket allows, about `node`; forgets written series
   * that have been quiet for longer than the window. Returns ms until a held-back series may be written
   * (undefined: none waits).
   */
  async flush(node: NodeRef): Promise<number | undefined> {
    let wait: number | undefined;
    const t = this.#opts.now();
    for (const [key, s] of this.#series) {
      if (!s.dirty) {
        if (t - s.lastObservedMs > this.#opts.seriesWindowMs) {
          this.#series.delete(key);
          this.#buckets.delete(key);
        }
        continue;
      }
      let bucket = this.#buckets.get(key);
      if (bucket === undefined) {
        bucket = createTokenBucket(this.#opts.rate.burst, this.#opts.rate.refillMs, t);
        this.#buckets.set(key, bucket);
      }
      if (!bucket.take(t)) {
        const w = bucket.waitMs(t);
        wait = wait === undefined ? w : Math.min(wait, w);
        continue;
      }
      await this.#write(s, node);
      s.dirty = false;
    }
    return wait;
  }

  async #write(s: Series, node: NodeRef): Promise<void> {
    const { client, nodeName, log, signal } = this.#opts;
    const path = `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(eventNamespace(s.spec))}/events`;
    const seriesBody = { count: s.count, lastObservedTime: microTime(s.lastObservedMs) };
    if (s.name !== undefined) {
      const res = await client.request({
        verb: 'patch',
        method: 'PATCH',
        path: `${path}/${encodeURIComponent(s.name)}`,
        body: { series: seriesBody },
        contentType: MERGE_PATCH,
        signal,
      });
      if (res.status >= 200 && res.status <= 299) return;
      if (res.status !== 404) return this.#failure(s, res, 'patch event');
      s.name = undefined; // expired (events have a TTL): create it again
    }
    const name = eventName(s.spec.pod?.name ?? nodeName, s.firstMs, this.#seq++);
    const body: KubeEvent = eventObject(s.spec, node, name, s.firstMs);
    if (s.count > 1) body.series = seriesBody;
    const res = await client.request({ verb: 'create', method: 'POST', path, body, contentType: 'application/json', signal });
    if (res.status >= 200 && res.status <= 299) {
      s.name = name;
      log.info('event recorded', { node: nodeName, ...(s.spec.pod ? { pod: `${s.spec.pod.namespace}/${s.spec.pod.name}` } : {}), reason: s.spec.reason, type: s.spec.type, note: s.spec.note });
      return;
    }
    return this.#failure(s, res, 'create event');
  }

  /** A rejected event (400, 403, 422) is dropped with a log line; anything else throws, to be retried with backoff. */
  #failure(s: Series, res: KubeResponse, what: string): void {
    if (res.status === 400 || res.status === 403 || res.status === 422) {
      this.#opts.log.error('event rejected by the API server; dropped', { node: this.#opts.nodeName, reason: s.spec.reason, status: res.status, body: res.body });
      return;
    }
    throw new KubeStatusError(what, res);
  }
}
