// The own Node as last seen: from a GET, the watch on the own Node, or a write's response. A copy older than the
// one held is dropped; each newer one (and the Node's deletion) calls onChange. `run()` keeps a watch open: it
// reads the Node when it has no resourceVersion to watch from, watches from the last one (bookmarks included), and
// on 410 Gone reads the Node again (at once the first time, with backoff after). A clean close by the server's
// timeout watches again at once; failures back off through the onFailure the owner supplies.
import type { KubeClient } from './client.ts';
import type { NodeCondition } from './condition.ts';
import { backoffDelay, expectOk, KubeStatusError, sleepUnlessAborted, type BackoffOptions } from './retry.ts';
import { KubeNetworkError } from './transport.ts';

export interface ObservedNode {
  uid: string;
  resourceVersion: string;
  labels: Record<string, string>;
  conditions: NodeCondition[];
}

/** The fields railwatch reads of a Node; undefined when the object is not one. */
export function readNode(obj: unknown): ObservedNode | undefined {
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
export function olderThan(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

export interface NodeWatcherOptions {
  client: Pick<KubeClient, 'request' | 'watch'>;
  nodeName: string;
  /** Aborts the requests in flight and ends run() (stop). */
  signal: AbortSignal;
  now: () => number;
  random: () => number;
  backoff: BackoffOptions;
  /** The watch's server-side timeout is drawn from [min, max) seconds, as client-go's reflector does. */
  watchTimeoutSeconds: { min: number; max: number };
  /** The observed Node changed: a newer copy, or the Node is gone. */
  onChange(): void;
  /** Handles a failed request (logging, credentials, forget()); returns the Retry-After in ms, if any. */
  onFailure(err: unknown, where: string, attempt: number): Promise<number | undefined>;
}

/** What one watch stream saw, for the decision after it ends. */
interface StreamOutcome {
  /** An ERROR event with code 410: the resourceVersion is too old. */
  expired: boolean;
  /** An ERROR event with any other code. */
  failure: KubeStatusError | undefined;
  events: number;
}

export class NodeWatcher {
  readonly #opts: NodeWatcherOptions;
  readonly #nodePath: string;
  #observed: ObservedNode | undefined;
  /** The GET in flight; concurrent callers share it. */
  #refreshing: Promise<ObservedNode> | undefined;
  /** Where the next watch starts (undefined: read the Node first). */
  #resourceVersion: string | undefined;

  constructor(opts: NodeWatcherOptions) {
    this.#opts = opts;
    this.#nodePath = `/api/v1/nodes/${encodeURIComponent(opts.nodeName)}`;
  }

  /** The Node as last seen; undefined before the first read, after the Node's deletion, and after forget(). */
  get observed(): ObservedNode | undefined {
    return this.#observed;
  }

  /** Takes a copy of the Node unless it is older than the one held. */
  observe(node: ObservedNode): void {
    if (this.#observed !== undefined && olderThan(node.resourceVersion, this.#observed.resourceVersion)) return;
    this.#observed = node;
    this.#opts.onChange();
  }

  /** Drops the copy held (after a 409 or 404), so that the next pass reads the Node. */
  forget(): void {
    this.#observed = undefined;
  }

  /** GET the own Node; concurrent callers share one request. */
  refresh(): Promise<ObservedNode> {
    this.#refreshing ??= (async () => {
      try {
        const res = expectOk(
          await this.#opts.client.request({ verb: 'get', method: 'GET', path: this.#nodePath, signal: this.#opts.signal }),
          `get node ${this.#opts.nodeName}`,
        );
        const node = readNode(res.body);
        if (node === undefined) throw new KubeNetworkError('get node: response is not a Node');
        this.#observed = undefined;
        this.observe(node);
        return node;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Watches the own Node until the signal aborts. */
  async run(): Promise<void> {
    const { client, nodeName, signal, now, random, backoff, watchTimeoutSeconds: watchTimeout } = this.#opts;
    const sleep = (ms: number) => sleepUnlessAborted(ms, signal);
    let attempt = 0;
    let gones = 0;
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === undefined) this.#resourceVersion = (await this.refresh()).resourceVersion;
        const timeoutSeconds = Math.floor(watchTimeout.min + (watchTimeout.max - watchTimeout.min) * random());
        const selector = encodeURIComponent(`metadata.name=${nodeName}`);
        const path = `/api/v1/nodes?fieldSelector=${selector}&watch=true&resourceVersion=${encodeURIComponent(this.#resourceVersion)}&allowWatchBookmarks=true&timeoutSeconds=${timeoutSeconds}`;
        const started = now();
        const outcome: StreamOutcome = { expired: false, failure: undefined, events: 0 };
        const res = await client.watch({
          path,
          signal,
          idleTimeoutMs: (timeoutSeconds + 30) * 1000,
          onObject: (obj) => this.#onEvent(obj, outcome),
        });
        if (res.status === 410 || outcome.expired) {
          // too old a resourceVersion: read the Node again and watch from there (at once the first time)
          this.#resourceVersion = undefined;
          if (gones++ > 0) await sleep(backoffDelay(attempt++, backoff, random));
          continue;
        }
        if (res.status !== 200) throw new KubeStatusError('watch node', res);
        if (outcome.failure !== undefined) throw outcome.failure;
        gones = 0;
        // a clean close (the server's timeout): watch again from the resourceVersion at once, unless it closed at once
        if (outcome.events === 0 && now() - started < 1000) await sleep(backoffDelay(attempt++, backoff, random));
        else attempt = 0;
      } catch (err) {
        if (signal.aborted) break;
        const retryAfter = await this.#opts.onFailure(err, 'watch', attempt);
        if (err instanceof KubeStatusError && (err.status === 404 || err.status === 409)) this.#resourceVersion = undefined;
        await sleep(backoffDelay(attempt++, backoff, random, retryAfter));
      }
    }
  }

  #onEvent(obj: unknown, outcome: StreamOutcome): void {
    const ev = obj as { type?: unknown; object?: unknown };
    outcome.events++;
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
      const node = readNode(ev.object);
      if (node !== undefined) {
        this.#resourceVersion = node.resourceVersion;
        this.observe(node);
      }
    } else if (ev.type === 'BOOKMARK') {
      const v = (ev.object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
      if (typeof v === 'string') this.#resourceVersion = v;
    } else if (ev.type === 'DELETED') {
      this.#observed = undefined;
      this.#resourceVersion = undefined;
      this.#opts.onChange();
    } else if (ev.type === 'ERROR') {
      const code = (ev.object as { code?: unknown } | undefined)?.code;
      if (code === 410) outcome.expired = true;
      else outcome.failure = new KubeStatusError('watch', { status: typeof code === 'number' ? code : 500, body: ev.object });
    }
  }
}
