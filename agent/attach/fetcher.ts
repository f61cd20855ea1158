// Reads, for the pods that hold VFs, the Pod and the NetworkAttachmentDefinitions it names: GET only, never a
// list or a watch (RBAC: `get` on pods and on network-attachment-definitions, agent/kube/api-calls.ts).
// - A pod is read once when it first appears in the kubelet's allocation, and again with capped exponential
//   backoff (bounded attempts) until Multus has written network-status; then never again while it stays.
// - A NAD is read when a pod read names it, shared by concurrent pods and cached; a newly read pod re-reads a NAD
//   only when its copy is older than nadMaxAgeMs. NADs no current pod names are dropped.
// - A pod that leaves the allocation is forgotten (a read in flight for it is discarded).
// - At most maxInFlight reads are in flight at once (default 4); the rest wait their turn, so a node where many
//   pods start together does not put a burst of GETs on the API server (a thousand nodes would put thousands).
// So a steady node makes no request at all, and a pod start costs one pod GET plus the NAD cache misses.
import type { KubeClient, KubeResponse } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import { NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION, parseNad, parseNetworks, type NadInfo } from './annotations.ts';
import type { Fetched, PodFetch, PodObject } from './judge.ts';

export interface PodKey {
  namespace: string;
  name: string;
}

export interface RetryOptions {
  initialMs: number;
  maxMs: number;
  /** Most GETs of one pod (the first included). */
  attempts: number;
}

export interface AttachmentFetcherOptions {
  client: Pick<KubeClient, 'request' | 'reload'>;
  log: Logger;
  now?: () => number;
  random?: () => number;
  /** Pod re-reads until network-status is written; default 2 s doubling to 60 s, 10 GETs (about 5 minutes). */
  retry?: Partial<RetryOptions>;
  /** A NAD copy older than this is read again when a newly read pod names it; default 5 minutes. */
  nadMaxAgeMs?: number;
  /** Called after every read that changed what is known (the agent re-judges). */
  onChange?: () => void;
  /** Most GETs in flight at once; default 4. */
  maxInFlight?: number;
}

export interface FetcherStats {
  podGets: number;
  nadGets: number;
  pods: number;
  nads: number;
}

export interface AttachmentFetcher {
  /** The pods that hold VFs now: new ones are read, gone ones forgotten. */
  sync(pods: readonly PodKey[]): void;
  pod(namespace: string, name: string): PodFetch;
  nad(namespace: string, name: string): Fetched<NadInfo>;
  /** Resolves once no read is in flight, queued or scheduled. */
  idle(): Promise<void>;
  stats(): FetcherStats;
  stop(): void;
}

const DEFAULT_RETRY: RetryOptions = { initialMs: 2000, maxMs: 60_000, attempts: 10 };

interface PodEntry {
  key: string;
  namespace: string;
  name: string;
  fetch: Fetched<PodObject>;
  final: boolean;
  attempts: number;
  timer?: NodeJS.Timeout;
  /** NADs the pod names, as `ns/name`. */
  nads: string[];
}

interface NadEntry {
  fetch: Fetched<NadInfo>;
  readAtMs?: number;
  inflight?: Promise<void>;
}

export function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
}

export function nadPath(namespace: string, name: string): string {
  return `/apis/k8s.cni.cncf.io/v1/namespaces/${encodeURIComponent(namespace)}/network-attachment-definitions/${encodeURIComponent(name)}`;
}

function statusMessage(res: KubeResponse): string {
  const b = res.body as { message?: unknown } | undefined;
  return typeof b === 'object' && b !== null && typeof b.message === 'string' ? b.message : `HTTP ${res.status}`;
}

function failure<T>(res: KubeResponse): Fetched<T> {
  if (res.status === 404) return { state: 'not-found' };
  if (res.status === 403) return { state: 'forbidden', message: statusMessage(res) };
  return { state: 'error', message: `HTTP ${res.status}: ${statusMessage(res)}` };
}

/** The parts of a Pod railwatch keeps; undefined when the body is not a Pod. */
export function readPodObject(body: unknown): PodObject | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const meta = (body as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as { uid?: unknown; annotations?: unknown };
  if (typeof m.uid !== 'string' || m.uid === '') return undefined;
  const annotations: Record<string, string> = {};
  if (typeof m.annotations === 'object' && m.annotations !== null) {
    for (const k of [NETWORKS_ANNOTATION, NETWORK_STATUS_ANNOTATION]) {
      const v = (m.annotations as Record<string, unknown>)[k];
      if (typeof v === 'string') annotations[k] = v;
    }
  }
  return { uid: m.uid, annotations };
}

export function createAttachmentFetcher(opts: AttachmentFetcherOptions): AttachmentFetcher {
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...opts.retry };
  const nadMaxAgeMs = opts.nadMaxAgeMs ?? 5 * 60_000;
  const pods = new Map<string, PodEntry>();
  const nads = new Map<string, NadEntry>();
  const stats = { podGets: 0, nadGets: 0 };
  const maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? 4));
  let inFlight = 0;
  const queued: (() => void)[] = [];
  let busy = 0;
  let idleWaiters: (() => void)[] = [];
  let stopped = false;
  const stopCtl = new AbortController();

  function enter(): void {
    busy++;
  }
  function leave(): void {
    busy--;
    if (busy === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  }
  function changed(): void {
    if (!stopped) opts.onChange?.();
  }

  /** Waits for one of the maxInFlight slots; FIFO. */
  async function acquire(): Promise<void> {
    if (inFlight < maxInFlight) {
      inFlight++;
      return;
    }
    await new Promise<void>((resolve) => queued.push(resolve));
  }
  function release(): void {
    const next = queued.shift();
    if (next !== undefined) next(); // the slot passes to the next waiter
    else inFlight--;
  }

  async function get(path: string, kind: 'podGets' | 'nadGets'): Promise<KubeResponse | Error> {
    await acquire();
    try {
      if (stopped) return new Error('stopped');
      stats[kind]++;
      const res = await opts.client.request({ verb: 'get', method: 'GET', path, signal: stopCtl.signal });
      if (res.status === 401) await opts.client.reload();
      return res;
    } catch (err) {
      return err as Error;
    } finally {
      release();
    }
  }

  function delay(attempt: number): number {
    const cap = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(attempt, 30));
    return cap / 2 + (cap / 2) * random();
  }

  function loadNad(key: string, namespace: string, name: string): Promise<void> {
    let entry = nads.get(key);
    if (entry?.inflight !== undefined) return entry.inflight;
    if (entry !== undefined && entry.readAtMs !== undefined && now() - entry.readAtMs < nadMaxAgeMs) return Promise.resolve();
    if (entry === undefined) {
      entry = { fetch: { state: 'pending' } };
      nads.set(key, entry);
    }
    const e = entry;
    enter();
    e.inflight = (async () => {
      const res = await get(nadPath(namespace, name), 'nadGets');
      e.readAtMs = now();
      if (res instanceof Error) e.fetch = { state: 'error', message: res.message };
      else if (res.status === 200) {
        const parsed = parseNad(res.body, namespace, name);
        e.fetch = 'error' in parsed ? { state: 'error', message: parsed.error } : { state: 'ok', value: parsed.ok };
      } else {
        e.fetch = failure(res);
        // a transient failure is not cached: the next pod that names it reads it again
        if (e.fetch.state === 'error') delete e.readAtMs;
      }
      if (e.fetch.state === 'error' || e.fetch.state === 'forbidden') {
        opts.log.warn('cannot read a NetworkAttachmentDefinition', { nad: key, error: e.fetch.message });
      }
    })().finally(() => {
      delete e.inflight;
      leave();
    });
    return e.inflight;
  }

  async function readPod(entry: PodEntry): Promise<void> {
    enter();
    try {
      entry.attempts++;
      const res = await get(podPath(entry.namespace, entry.name), 'podGets');
      if (pods.get(entry.key) !== entry || stopped) return;
      let retryable = true;
      if (res instanceof Error) {
        entry.fetch = { state: 'error', message: res.message };
      } else if (res.status === 200) {
        const obj = readPodObject(res.body);
        if (obj === undefined) {
          entry.fetch = { state: 'error', message: 'the API server answered something that is not a Pod' };
        } else {
          entry.fetch = { state: 'ok', value: obj };
          retryable = obj.annotations[NETWORK_STATUS_ANNOTATION] === undefined;
          const networks = obj.annotations[NETWORKS_ANNOTATION];
          const parsed = networks === undefined ? { ok: [] } : parseNetworks(networks, entry.namespace);
          const sels = 'ok' in parsed ? parsed.ok : [];
          entry.nads = [...new Set(sels.map((s) => `${s.namespace}/${s.name}`))];
          await Promise.all(sels.map((s) => loadNad(`${s.namespace}/${s.name}`, s.namespace, s.name)));
          if (pods.get(entry.key) !== entry || stopped) return;
        }
      } else {
        entry.fetch = failure(res);
        // deleted: the kubelet's allocation lags the deletion; nothing to wait for
        if (res.status === 404) retryable = false;
      }
      if (retryable && entry.attempts < retry.attempts) {
        enter();
        entry.timer = setTimeout(() => {
          delete entry.timer;
          if (pods.get(entry.key) === entry && !stopped) void readPod(entry);
          leave();
        }, delay(entry.attempts - 1));
      } else {
        entry.final = true;
        if (entry.fetch.state === 'error' || entry.fetch.state === 'forbidden') {
          opts.log.warn('cannot read a pod that holds VFs', { pod: entry.key, error: entry.fetch.message, attempts: entry.attempts });
        }
      }
      changed();
    } finally {
      leave();
    }
  }

  return {
    sync(list) {
      if (stopped) return;
      const want = new Map(list.map((p) => [`${p.namespace}/${p.name}`, p]));
      for (const [key, entry] of pods) {
        if (want.has(key)) continue;
        if (entry.timer !== undefined) {
          clearTimeout(entry.timer);
          delete entry.timer;
          leave();
        }
        pods.delete(key);
      }
      for (const [key, p] of want) {
        if (pods.has(key)) continue;
        const entry: PodEntry = { key, namespace: p.namespace, name: p.name, fetch: { state: 'pending' }, final: false, attempts: 0, nads: [] };
        pods.set(key, entry);
        void readPod(entry);
      }
      const named = new Set([...pods.values()].flatMap((e) => e.nads));
      for (const [key, e] of nads) if (!named.has(key) && e.inflight === undefined) nads.delete(key);
    },
    pod(namespace, name) {
      const e = pods.get(`${namespace}/${name}`);
      return e === undefined ? { fetch: { state: 'pending' }, final: false } : { fetch: e.fetch, final: e.final };
    },
    nad(namespace, name) {
      return nads.get(`${namespace}/${name}`)?.fetch ?? { state: 'pending' };
    },
    idle() {
      if (busy === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    stats: () => ({ ...stats, pods: pods.size, nads: nads.size }),
    stop() {
      stopped = true;
      stopCtl.abort();
      for (const e of pods.values()) {
        if (e.timer !== undefined) {
          clearTimeout(e.timer);
          delete e.timer;
          leave();
        }
      }
      pods.clear();
    },
  };
}
