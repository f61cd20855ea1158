// The reconcile loop: level-triggered convergence of the own Node to the desired labels and condition, plus the
// Node's events. `update()` sets what is wanted; a worker compares it with the Node as last seen (from a GET, the
// watch on the own Node, or a write's response) and writes only the difference. A label someone deletes comes
// back through the watch; a restart that finds the Node converged writes nothing.
//
// Failures (no connection, timeouts, 5xx, 429 with Retry-After, 409, 401) back off exponentially with jitter, capped;
// a 401 re-creates the KubeConfig so a rotated service-account token file is read again; a 409 re-reads the Node.
// Every request is counted in the counters map by `${verb}\t${code}`. Without a cluster, a standalone sync logs
// what it would have written.
import type { Logger } from '../log.ts';
import { createKubeClient, KubeNetworkError, loadKubeConfig, type ApiConnection, type KubeClient, type KubeMode, type KubeRequest, type KubeResponse } from './client.ts';
import { conditionPatch, heartbeatDueInMs, type DesiredCondition, type NodeCondition } from './condition.ts';
import { NodeEventWriter } from './event-writer.ts';
import type { NodeEventSpec } from './events.ts';
import { labelPatch } from './labels.ts';
import { backoffDelay, DEFAULT_BACKOFF, expectOk, KubeStatusError, sleepUnlessAborted, type BackoffOptions } from './retry.ts';
import { Wakeup } from './wakeup.ts';

export { backoffDelay, KubeStatusError, type BackoffOptions } from './retry.ts';

import { MERGE_PATCH, STRATEGIC_MERGE_PATCH } from './transport.ts';

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

interface ObservedNode {
  uid: string;
  resourceVersion: string;
  labels: Record<string, string>;
  conditions: NodeCondition[];
}

function readNode(obj: unknown): ObservedNode | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as { uid?: unknown; resourceVersion?: unknown; labels?: unknown };
  if (typeof m.uid !== 'string' || typeof m.resourceVersion !== 'string') return undefined;
  const labels: Record<string, string> = {};
  if (typeof m.labels === 'object' && m.labels !== null) {
    for (const [k, v] of Object.entries(m.labels)) if (typeof v === 'string') labels[k] = v;
  }
  const status = (obj as { status?: { conditions?: unknown } }).status;
  const conditions = Array.isArray(status?.conditions) ? (status.conditions as unknown[]).filter((c): c is NodeCondition => typeof (c as NodeCondition)?.type === 'string') : [];
  return { uid: m.uid, resourceVersion: m.resourceVersion, labels, conditions };
}

/**
 * resourceVersion is opaque by contract and an etcd revision in practice; it is compared only to drop a copy of
 * the Node older than the one already held (a watch event that arrives after a write's response).
 */
function olderThan(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

/** The sync for the mode: a real one against the API server, or a standalone one that only logs. */
export function createKubeSync(opts: KubeSyncOptions): KubeSync {
  if (opts.mode.kind === 'standalone' && opts.loadConfig === undefined) return createStandaloneSync(opts, opts.mode.why);
  return createClusterSync(opts);
}

function createClusterSync(opts: KubeSyncOptions): KubeSync {
  const { nodeName, labelPrefix, log } = opts;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const watchTimeout = opts.watchTimeoutSeconds ?? { min: 300, max: 600 };
  const eventRate = opts.eventRate ?? { burst: 5, refillMs: 5 * 60_000 };
  const seriesWindowMs = opts.eventSeriesWindowMs ?? 30 * 60_000;
  const mode = opts.mode;
  const loadConfig =
    opts.loadConfig ?? (() => (mode.kind === 'standalone' ? Promise.reject(new Error('standalone')) : loadKubeConfig(mode)));
  const client: KubeClient = createKubeClient({
    loadConfig,
    counters: opts.counters,
    ...(opts.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: opts.requestTimeoutMs }),
  });
  const nodePath = `/api/v1/nodes/${encodeURIComponent(nodeName)}`;

  let desired: KubeDesired | undefined;
  let observed: ObservedNode | undefined;

  let running = false;
  let stopped = false;
  const stopCtl = new AbortController();
  const wakeup = new Wakeup();
  let loops: Promise<void>[] = [];
  let refreshing: Promise<ObservedNode> | undefined;
  /** ms until the condition's heartbeat is due, from the last pass (undefined: no heartbeat to wait for). */
  let heartbeatWait: number | undefined;

  const sleep = (ms: number) => sleepUnlessAborted(ms, stopCtl.signal);
  const eventWriter = new NodeEventWriter({ client, nodeName, log, now, signal: stopCtl.signal, rate: eventRate, seriesWindowMs });

  function observe(node: ObservedNode): void {
    if (observed !== undefined && olderThan(node.resourceVersion, observed.resourceVersion)) return;
    observed = node;
    wakeup.trigger();
  }

  async function call(req: KubeRequest, what: string): Promise<KubeResponse> {
    return expectOk(await client.request({ ...req, signal: stopCtl.signal }), what);
  }

  /** GET the own Node; concurrent callers share one request. */
  function refreshNode(): Promise<ObservedNode> {
    refreshing ??= (async () => {
      try {
        const res = await call({ verb: 'get', method: 'GET', path: nodePath }, `get node ${nodeName}`);
        const node = readNode(res.body);
        if (node === undefined) throw new KubeNetworkError('get node: response is not a Node');
        observed = undefined;
        observe(node);
        return node;
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  /** One pass; returns ms until a rate-limited event may be written (undefined: none waits). */
  async function reconcileOnce(): Promise<number | undefined> {
    if (desired === undefined) return undefined;
    let node = observed ?? (await refreshNode());
    const lp = labelPatch(node.labels, desired.labels, labelPrefix);
    if (lp !== undefined) {
      log.info('patching node labels', { node: nodeName, labels: lp.metadata.labels });
      const res = await call({ verb: 'patch', method: 'PATCH', path: nodePath, body: lp, contentType: MERGE_PATCH }, 'patch node labels');
      const updated = readNode(res.body);
      if (updated !== undefined) observe(updated);
      node = observed ?? node;
    }
    if (desired.condition !== undefined) {
      const cp = conditionPatch(node.conditions, desired.condition, now(), opts.heartbeatMs);
      if (cp !== undefined) {
        const c = cp.status.conditions[0];
        log.info('patching node condition', { node: nodeName, type: c?.type, status: c?.status, reason: c?.reason });
        const res = await call(
          { verb: 'patch', method: 'PATCH', path: `${nodePath}/status`, body: cp, contentType: STRATEGIC_MERGE_PATCH },
          'patch node status',
        );
        const updated = readNode(res.body);
        if (updated !== undefined) observe(updated);
        node = observed ?? node;
      }
      heartbeatWait = heartbeatDueInMs(node.conditions, desired.condition.type, opts.heartbeatMs, now());
    }
    return eventWriter.flush({ name: nodeName, uid: node.uid });
  }

  /** Handles a failure; returns the Retry-After in ms, if any. */
  async function onFailure(err: unknown, where: string, attempt: number): Promise<number | undefined> {
    const status = err instanceof KubeStatusError ? err.status : undefined;
    const meta: Record<string, unknown> = { node: nodeName, where, attempt, error: (err as Error).message };
    if (attempt === 0 || attempt % 10 === 0) log.warn('kubernetes request failed; backing off', meta);
    else log.debug('kubernetes request failed; backing off', meta);
    if (status === 401) await client.reload();
    if (status === 409 || status === 404) observed = undefined;
    return err instanceof KubeStatusError ? err.retryAfterMs : undefined;
  }

  async function workerLoop(): Promise<void> {
    let attempt = 0;
    let eventWait: number | undefined;
    while (running) {
      if (!wakeup.pending) {
        // a heartbeat due at once (the write did not come back as the observed Node) waits a second, never spins
        const beat = heartbeatWait === undefined ? undefined : Math.max(heartbeatWait, 1000);
        await wakeup.wait(eventWait === undefined ? beat : beat === undefined ? eventWait : Math.min(eventWait, beat));
        if (!running) break;
      }
      wakeup.take();
      try {
        eventWait = await reconcileOnce();
        attempt = 0;
        if (desired !== undefined && observed !== undefined && !wakeup.pending && eventWait === undefined) wakeup.settle();
      } catch (err) {
        if (!running) break;
        const retryAfter = await onFailure(err, 'reconcile', attempt);
        await sleep(backoffDelay(attempt++, backoff, random, retryAfter));
        wakeup.markPending();
      }
    }
  }

  async function watchLoop(): Promise<void> {
    let attempt = 0;
    let rv: string | undefined;
    let gones = 0;
    while (running) {
      try {
        if (rv === undefined) rv = (await refreshNode()).resourceVersion;
        const timeoutSeconds = Math.floor(watchTimeout.min + (watchTimeout.max - watchTimeout.min) * random());
        const selector = encodeURIComponent(`metadata.name=${nodeName}`);
        const path = `/api/v1/nodes?fieldSelector=${selector}&watch=true&resourceVersion=${encodeURIComponent(rv)}&allowWatchBookmarks=true&timeoutSeconds=${timeoutSeconds}`;
        const started = now();
        let expired = false;
        let failure: KubeStatusError | undefined;
        let events = 0;
        const res = await client.watch({
          path,
          signal: stopCtl.signal,
          idleTimeoutMs: (timeoutSeconds + 30) * 1000,
          onObject(obj) {
            const ev = obj as { type?: unknown; object?: unknown };
            events++;
            if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
              const node = readNode(ev.object);
              if (node !== undefined) {
                rv = node.resourceVersion;
                observe(node);
              }
            } else if (ev.type === 'BOOKMARK') {
              const v = (ev.object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
              if (typeof v === 'string') rv = v;
            } else if (ev.type === 'DELETED') {
              observed = undefined;
              rv = undefined;
              wakeup.trigger();
            } else if (ev.type === 'ERROR') {
              const code = (ev.object as { code?: unknown } | undefined)?.code;
              if (code === 410) expired = true;
              else failure = new KubeStatusError('watch', { status: typeof code === 'number' ? code : 500, body: ev.object });
            }
          },
        });
        if (res.status === 410 || expired) {
          // too old a resourceVersion: read the Node again and watch from there (at once the first time)
          rv = undefined;
          if (gones++ > 0) await sleep(backoffDelay(attempt++, backoff, random));
          continue;
        }
        if (res.status !== 200) throw new KubeStatusError('watch node', res);
        if (failure !== undefined) throw failure;
        gones = 0;
        // a clean close (the server's timeout): watch again from rv at once, unless it closed at once
        if (events === 0 && now() - started < 1000) await sleep(backoffDelay(attempt++, backoff, random));
        else attempt = 0;
      } catch (err) {
        if (!running) break;
        const retryAfter = await onFailure(err, 'watch', attempt);
        if (err instanceof KubeStatusError && (err.status === 404 || err.status === 409)) rv = undefined;
        await sleep(backoffDelay(attempt++, backoff, random, retryAfter));
      }
    }
  }

  return {
    update(d) {
      if (stopped) return;
      desired = { labels: { ...d.labels }, ...(d.condition === undefined ? {} : { condition: d.condition }) };
      eventWriter.record(d.events ?? []);
      wakeup.trigger();
    },
    start() {
      if (running || stopped) return;
      running = true;
      log.info('kubernetes sync started', { node: nodeName, mode: opts.mode.kind });
      loops = [workerLoop(), watchLoop()];
    },
    async stop() {
      stopped = true;
      running = false;
      stopCtl.abort();
      wakeup.trigger();
      await Promise.allSettled(loops);
      wakeup.settle();
    },
    settled() {
      if (stopped) return Promise.resolve();
      return wakeup.settled();
    },
  };
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
