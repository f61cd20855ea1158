// The reconcile loop: level-triggered convergence of the own Node to the desired labels and condition, plus the
// Node's events. `update()` sets what is wanted; a worker compares it with the Node as last seen (the NodeWatcher,
// agent/kube/node-watch.ts: from a GET, the watch on the own Node, or a write's response) and writes only the
// difference; events go through the NodeEventWriter (agent/kube/event-writer.ts). A label someone deletes comes
// back through the watch; a restart that finds the Node converged writes nothing. The worker sleeps on a Wakeup
// (agent/kube/wakeup.ts) until an update, a change of the Node, a held-back event or the condition's heartbeat.
//
// Failures (no connection, timeouts, 5xx, 429 with Retry-After, 409, 401) back off exponentially with jitter, capped
// (agent/kube/retry.ts); a 401 re-creates the KubeConfig so a rotated service-account token file is read again; a
// 409 re-reads the Node. Every request is counted in the counters map by `${verb}\t${code}`. Without a cluster, a
// standalone sync logs what it would have written.
import type { Logger } from '../log.ts';
import { createKubeClient, loadKubeConfig, type ApiConnection, type KubeClient, type KubeMode } from './client.ts';
import { conditionPatch, heartbeatDueInMs, type DesiredCondition, type NodeCondition } from './condition.ts';
import { NodeEventWriter } from './event-writer.ts';
import type { NodeEventSpec } from './events.ts';
import { labelPatch } from './labels.ts';
import { NodeWatcher, readNode } from './node-watch.ts';
import { backoffDelay, DEFAULT_BACKOFF, expectOk, KubeStatusError, sleepUnlessAborted, type BackoffOptions } from './retry.ts';
import { MERGE_PATCH, STRATEGIC_MERGE_PATCH } from './transport.ts';
import { Wakeup } from './wakeup.ts';

export { backoffDelay, KubeStatusError, type BackoffOptions } from './retry.ts';
export { MERGE_PATCH, STRATEGIC_MERGE_PATCH } from './transport.ts';

export interface KubeDesired {
  /** The full desired label set under the own prefix. */
  labels: Readonly<Record<string, string>>;
  /** The RdmaNetworkReady condition; undefined until checks have run (nothing is written). */
  condition?: DesiredCondition;
  /** New event occurrences since the previous update. */
  events?: readonly NodeEventSpec[];
}

export interface KubeSync {
  update(desired: KubeDesired): void;
  start(): void;
  stop(): Promise<void>;
  /** Resolves when the Node matches the desired state and no event waits to be written (or on stop). */
  settled(): Promise<void>;
}

export interface KubeSyncOptions {
  nodeName: string;
  labelPrefix: string;
  /** state.kubeRequests */
  counters: Map<string, number>;
  log: Logger;
  mode: KubeMode;
  /** Overrides the mode's KubeConfig (tests, the fleet benchmark). */
  loadConfig?: () => Promise<ApiConnection>;
  now?: () => number;
  random?: () => number;
  backoff?: Partial<BackoffOptions>;
  /** The watch's server-side timeout is drawn from [min, max) seconds, as client-go's reflector does. */
  watchTimeoutSeconds?: { min: number; max: number };
  /** Token bucket per event series: `burst` writes, one more every `refillMs`. */
  eventRate?: { burst: number; refillMs: number };
  /** A recurrence within this window updates the same Event's series; later, a new Event is created. */
  eventSeriesWindowMs?: number;
  requestTimeoutMs?: number;
  /** Refresh the condition's lastHeartbeatTime this often even when it is unchanged (config conditionHeartbeatSeconds). */
  heartbeatMs?: number;
}

/** The sync for the mode: a real one against the API server, or a standalone one that only logs. */
export function createKubeSync(opts: KubeSyncOptions): KubeSync {
  if (opts.mode.kind === 'standalone' && opts.loadConfig === undefined) return createStandaloneSync(opts, opts.mode.why);
  return new ClusterSync(opts);
}

/** Against the API server: a worker that writes the difference, and the watch on the own Node. */
class ClusterSync implements KubeSync {
  readonly #opts: KubeSyncOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffOptions;
  readonly #client: KubeClient;
  readonly #nodePath: string;
  /** Aborted by stop(): ends both loops and the requests in flight. */
  readonly #stop = new AbortController();
  readonly #wakeup = new Wakeup();
  readonly #watcher: NodeWatcher;
  readonly #events: NodeEventWriter;

  #desired: KubeDesired | undefined;
  #running = false;
  #stopped = false;
  #loops: Promise<void>[] = [];
  /** ms until the condition's heartbeat is due, from the last pass (undefined: no heartbeat to wait for). */
  #heartbeatWait: number | undefined;

  constructor(opts: KubeSyncOptions) {
    this.#opts = opts;
    const { nodeName, log } = opts;
    const now = (this.#now = opts.now ?? Date.now);
    const random = (this.#random = opts.random ?? Math.random);
    const backoff = (this.#backoff = { ...DEFAULT_BACKOFF, ...opts.backoff });
    const mode = opts.mode;
    const loadConfig =
      opts.loadConfig ?? (() => (mode.kind === 'standalone' ? Promise.reject(new Error('standalone')) : loadKubeConfig(mode)));
    const client = (this.#client = createKubeClient({
      loadConfig,
      counters: opts.counters,
      ...(opts.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: opts.requestTimeoutMs }),
    }));
    this.#nodePath = `/api/v1/nodes/${encodeURIComponent(nodeName)}`;
    const signal = this.#stop.signal;
    this.#watcher = new NodeWatcher({
      client,
      nodeName,
      signal,
      now,
      random,
      backoff,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? { min: 300, max: 600 },
      onChange: () => this.#wakeup.trigger(),
      onFailure: (err, where, attempt) => this.#onFailure(err, where, attempt),
    });
    this.#events = new NodeEventWriter({
      client,
      nodeName,
      log,
      now,
      signal,
      rate: opts.eventRate ?? { burst: 5, refillMs: 5 * 60_000 },
      seriesWindowMs: opts.eventSeriesWindowMs ?? 30 * 60_000,
    });
  }

  update(d: KubeDesired): void {
    if (this.#stopped) return;
    this.#desired = { labels: { ...d.labels }, ...(d.condition === undefined ? {} : { condition: d.condition }) };
    this.#events.record(d.events ?? []);
    this.#wakeup.trigger();
  }

  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#opts.log.info('kubernetes sync started', { node: this.#opts.nodeName, mode: this.#opts.mode.kind });
    this.#loops = [this.#work(), this.#watcher.run()];
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running = false;
    this.#stop.abort();
    this.#wakeup.trigger();
    await Promise.allSettled(this.#loops);
    this.#wakeup.settle();
  }

  settled(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return this.#wakeup.settled();
  }

  /** The worker: a pass on each wake-up; backs off after a failed one. */
  async #work(): Promise<void> {
    let attempt = 0;
    let eventWait: number | undefined;
    while (this.#running) {
      if (!this.#wakeup.pending) {
        // a heartbeat due at once (the write did not come back as the observed Node) waits a second, never spins
        const beat = this.#heartbeatWait === undefined ? undefined : Math.max(this.#heartbeatWait, 1000);
        await this.#wakeup.wait(eventWait === undefined ? beat : beat === undefined ? eventWait : Math.min(eventWait, beat));
        if (!this.#running) break;
      }
      this.#wakeup.take();
      try {
        eventWait = await this.#reconcileOnce();
        attempt = 0;
        if (this.#desired !== undefined && this.#watcher.observed !== undefined && !this.#wakeup.pending && eventWait === undefined) this.#wakeup.settle();
      } catch (err) {
        if (!this.#running) break;
        const retryAfter = await this.#onFailure(err, 'reconcile', attempt);
        await sleepUnlessAborted(backoffDelay(attempt++, this.#backoff, this.#random, retryAfter), this.#stop.signal);
        this.#wakeup.markPending();
      }
    }
  }

  /** One pass; returns ms until a rate-limited event may be written (undefined: none waits). */
  async #reconcileOnce(): Promise<number | undefined> {
    const { nodeName, labelPrefix, log } = this.#opts;
    const watcher = this.#watcher;
    if (this.#desired === undefined) return undefined;
    // this.#desired is read where it is used: an update() during a write is seen by the rest of the pass
    let node = watcher.observed ?? (await watcher.refresh());
    const lp = labelPatch(node.labels, this.#desired.labels, labelPrefix);
    if (lp !== undefined) {
      log.info('patching node labels', { node: nodeName, labels: lp.metadata.labels });
      const res = expectOk(
        await this.#client.request({ verb: 'patch', method: 'PATCH', path: this.#nodePath, body: lp, contentType: MERGE_PATCH, signal: this.#stop.signal }),
        'patch node labels',
      );
      const updated = readNode(res.body);
      if (updated !== undefined) watcher.observe(updated);
      node = watcher.observed ?? node;
    }
    const condition = this.#desired.condition;
    if (condition !== undefined) {
      const cp = conditionPatch(node.conditions, condition, this.#now(), this.#opts.heartbeatMs);
      if (cp !== undefined) {
        const c = cp.status.conditions[0];
        log.info('patching node condition', { node: nodeName, type: c?.type, status: c?.status, reason: c?.reason });
        const res = expectOk(
          await this.#client.request({
            verb: 'patch',
            method: 'PATCH',
            path: `${this.#nodePath}/status`,
            body: cp,
            contentType: STRATEGIC_MERGE_PATCH,
            signal: this.#stop.signal,
          }),
          'patch node status',
        );
        const updated = readNode(res.body);
        if (updated !== undefined) watcher.observe(updated);
        node = watcher.observed ?? node;
      }
      // the condition this pass wrote: an update() during the write (even one without a condition) is the next pass's
      this.#heartbeatWait = heartbeatDueInMs(node.conditions, condition.type, this.#opts.heartbeatMs, this.#now());
    }
    return this.#events.flush({ name: nodeName, uid: node.uid });
  }

  /** Handles a failure of either loop; returns the Retry-After in ms, if any. */
  async #onFailure(err: unknown, where: string, attempt: number): Promise<number | undefined> {
    const { log, nodeName } = this.#opts;
    const status = err instanceof KubeStatusError ? err.status : undefined;
    const meta: Record<string, unknown> = { node: nodeName, where, attempt, error: (err as Error).message };
    if (attempt === 0 || attempt % 10 === 0) log.warn('kubernetes request failed; backing off', meta);
    else log.debug('kubernetes request failed; backing off', meta);
    if (status === 401) await this.#client.reload();
    if (status === 409 || status === 404) this.#watcher.forget();
    return err instanceof KubeStatusError ? err.retryAfterMs : undefined;
  }
}

/** No cluster: log what would have been written, keeping an in-memory Node so each change is logged once. */
function createStandaloneSync(opts: KubeSyncOptions, why: string): KubeSync {
  const { log, nodeName, labelPrefix } = opts;
  const now = opts.now ?? Date.now;
  let labels: Record<string, string> = {};
  let conditions: NodeCondition[] = [];
  let announced = false;
  return {
    update(d) {
      if (!announced) {
        announced = true;
        log.info('kubernetes: running standalone, logging what would be written', { node: nodeName, why });
      }
      const lp = labelPatch(labels, d.labels, labelPrefix);
      if (lp !== undefined) {
        log.info('standalone: would patch node labels', { node: nodeName, contentType: MERGE_PATCH, patch: lp });
        const next: Record<string, string> = { ...labels };
        for (const [k, v] of Object.entries(lp.metadata.labels)) {
          if (v === null) delete next[k];
          else next[k] = v;
        }
        labels = next;
      }
      if (d.condition !== undefined) {
        const cp = conditionPatch(conditions, d.condition, now());
        if (cp !== undefined) {
          log.info('standalone: would patch node status', { node: nodeName, contentType: STRATEGIC_MERGE_PATCH, patch: cp });
          conditions = cp.status.conditions;
        }
      }
      for (const e of d.events ?? []) {
        log.info('standalone: would record event', { node: nodeName, reason: e.reason, type: e.type, note: e.note });
      }
    },
    start() {},
    async stop() {},
    settled: () => Promise.resolve(),
  };
}
