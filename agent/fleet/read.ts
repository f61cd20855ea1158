// What `railwatch fleet` reads from the API server: Nodes by label selector and railwatch's Events, each as a
// paginated list (limit/continue). A 429 or a 5xx is retried (Retry-After honoured, capped); a 410 Gone on a
// continue token (the list's snapshot was compacted away) restarts that list from the first page, so the result
// is always one consistent list; anything else (401, 403, 400 for a bad selector, no connection after the retries)
// is a FleetReadError and the command exits 2. Only the fields fleet uses are kept from each page.
import type { KubeClient, KubeResponse } from '../kube/client.ts';
import { KubeNetworkError } from '../kube/client.ts';
import { CONDITION_TYPE, type NodeCondition } from '../kube/condition.ts';
import { REPORTING_CONTROLLER } from '../kube/events.ts';

/** A Node as fleet sees it. */
export interface FleetNode {
  name: string;
  labels: Record<string, string>;
  /** The RdmaNetworkReady condition; undefined when the Node has none. */
  condition?: NodeCondition;
}

/** A railwatch Event (events.k8s.io/v1), reduced. */
export interface FleetEvent {
  namespace: string;
  name: string;
  reason: string;
  type: string;
  note: string;
  /** The node it is about: `regarding.name` of a Node event, else the reporting agent's node (reportingInstance). */
  node: string;
  regarding: { kind: string; name: string; namespace?: string };
  /** series.count, else 1. */
  count: number;
  /** series.lastObservedTime, else eventTime, in ms; undefined when neither parses. */
  lastMs?: number;
}

export class FleetReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetReadError';
  }
}

export interface ListStats {
  /** List requests answered 200. */
  pages: number;
  /** Requests retried after a 429, 5xx or network error. */
  retries: number;
  /** Lists restarted from the first page after a 410 on a continue token. */
  restarts: number;
}

export interface ReadOptions {
  client: KubeClient;
  /** Items per page (`limit`). */
  pageSize: number;
  /** Retries of one request before giving up. */
  maxRetries?: number;
  /** Restarts of one list after 410 Gone before giving up. */
  maxRestarts?: number;
  /** Waits between retries (tests, benchmarks); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  stats?: ListStats;
  /** Stops the list (another one failed): the pending request is aborted and the list rejects. */
  signal?: AbortSignal;
}

const MAX_RETRY_AFTER_MS = 60_000;
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function statusMessage(res: KubeResponse): string {
  const b = res.body as { message?: unknown } | undefined;
  return typeof b === 'object' && b !== null && typeof b.message === 'string' ? `: ${b.message}` : '';
}

function hint(what: string, status: number): string {
  if (status === 401) return ' (the credentials were rejected)';
  if (status === 403) return ` (fleet needs list on ${what}: manifests/fleet-reader)`;
  return '';
}

/** Every item of a collection, page by page; `keep` reduces each item as it arrives. */
export async function listAll<T>(basePath: string, what: string, keep: (item: unknown) => T | undefined, opts: ReadOptions): Promise<T[]> {
  const stats = opts.stats ?? { pages: 0, retries: 0, restarts: 0 };
  const maxRetries = opts.maxRetries ?? 5;
  const maxRestarts = opts.maxRestarts ?? 3;
  const sleep = opts.sleep ?? sleepMs;
  const sep = basePath.includes('?') ? '&' : '?';
  let restarts = 0;
  restart: for (;;) {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const path = `${basePath}${sep}limit=${opts.pageSize}${cont === undefined ? '' : `&continue=${encodeURIComponent(cont)}`}`;
      let res: KubeResponse | undefined;
      for (let attempt = 0; ; attempt++) {
        if (opts.signal?.aborted) throw new FleetReadError(`list ${what}: stopped`);
        try {
          res = await opts.client.request({ verb: 'list', method: 'GET', path, ...(opts.signal ? { signal: opts.signal } : {}) });
        } catch (err) {
          if (!(err instanceof KubeNetworkError) || attempt >= maxRetries || opts.signal?.aborted) throw new FleetReadError(`list ${what}: ${(err as Error).message}`);
          stats.retries++;
          await sleep(Math.min(8000, 250 * 2 ** attempt));
          continue;
        }
        if (!RETRYABLE.has(res.status) || attempt >= maxRetries) break;
        stats.retries++;
        await sleep(res.retryAfterMs !== undefined ? Math.min(res.retryAfterMs, MAX_RETRY_AFTER_MS) : Math.min(8000, 250 * 2 ** attempt));
      }
      if (res.status === 410 && cont !== undefined) {
        if (restarts >= maxRestarts) throw new FleetReadError(`list ${what}: the list expired ${restarts + 1} times before it was complete (HTTP 410)`);
        restarts++;
        stats.restarts++;
        continue restart;
      }
      if (res.status !== 200) throw new FleetReadError(`list ${what}: HTTP ${res.status}${statusMessage(res)}${hint(what, res.status)}`);
      const body = res.body as { items?: unknown; metadata?: { continue?: unknown } } | undefined;
      if (typeof body !== 'object' || body === null || !Array.isArray(body.items)) throw new FleetReadError(`list ${what}: the response is not a list`);
      stats.pages++;
      for (const item of body.items) {
        const kept = keep(item);
        if (kept !== undefined) out.push(kept);
      }
      const next = body.metadata?.continue;
      cont = typeof next === 'string' && next !== '' ? next : undefined;
    } while (cont !== undefined);
    return out;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The parts of a Node fleet uses; undefined for an item that is not a Node with a name. */
export function keepNode(item: unknown): FleetNode | undefined {
  if (!isObject(item) || !isObject(item['metadata'])) return undefined;
  const name = str(item['metadata']['name']);
  if (name === undefined) return undefined;
  const labels: Record<string, string> = {};
  const rawLabels = item['metadata']['labels'];
  if (isObject(rawLabels)) for (const [k, v] of Object.entries(rawLabels)) if (typeof v === 'string') labels[k] = v;
  const node: FleetNode = { name, labels };
  const conditions = isObject(item['status']) ? item['status']['conditions'] : undefined;
  if (Array.isArray(conditions)) {
    const c = conditions.find((x): x is Record<string, unknown> => isObject(x) && x['type'] === CONDITION_TYPE);
    if (c !== undefined) {
      const cond: NodeCondition = { type: CONDITION_TYPE, status: str(c['status']) ?? 'Unknown' };
      for (const k of ['reason', 'message', 'lastHeartbeatTime', 'lastTransitionTime'] as const) {
        const v = str(c[k]);
        if (v !== undefined) cond[k] = v;
      }
      node.condition = cond;
    }
  }
  return node;
}

function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** The parts of an Event fleet uses; undefined for an item that is not a railwatch Event. */
export function keepEvent(item: unknown): FleetEvent | undefined {
  if (!isObject(item) || !isObject(item['metadata'])) return undefined;
  if (item['reportingController'] !== REPORTING_CONTROLLER) return undefined;
  const regarding = isObject(item['regarding']) ? item['regarding'] : {};
  const kind = str(regarding['kind']) ?? '';
  const regName = str(regarding['name']) ?? '';
  const node = kind === 'Node' ? regName : (str(item['reportingInstance']) ?? '');
  if (node === '') return undefined;
  const series = isObject(item['series']) ? item['series'] : undefined;
  const count = typeof series?.['count'] === 'number' && series['count'] > 0 ? series['count'] : 1;
  const lastMs = parseTime(series?.['lastObservedTime']) ?? parseTime(item['eventTime']) ?? parseTime(item['deprecatedLastTimestamp']);
  const ev: FleetEvent = {
    namespace: str(item['metadata']['namespace']) ?? '',
    name: str(item['metadata']['name']) ?? '',
    reason: str(item['reason']) ?? '',
    type: str(item['type']) ?? '',
    note: str(item['note']) ?? '',
    node,
    regarding: { kind, name: regName, ...(str(regarding['namespace']) === undefined ? {} : { namespace: str(regarding['namespace'])! }) },
    count,
  };
  if (lastMs !== undefined) ev.lastMs = lastMs;
  return ev;
}

/** The Nodes matching a label selector. */
export function readNodes(selector: string, opts: ReadOptions): Promise<FleetNode[]> {
  return listAll(`/api/v1/nodes?labelSelector=${encodeURIComponent(selector)}`, 'nodes', keepNode, opts);
}

/** railwatch's Events in every namespace. */
export function readEvents(opts: ReadOptions): Promise<FleetEvent[]> {
  return listAll(`/apis/events.k8s.io/v1/events?fieldSelector=${encodeURIComponent(`reportingController=${REPORTING_CONTROLLER}`)}`, 'events', keepEvent, opts);
}
