// An in-process HTTP server that behaves like the Kubernetes API server for the calls railwatch makes
// (agent/kube/api-calls.ts), with fault injection. It is what the kube tests and the fleet benchmark talk to; no
// real API server is involved. Semantics implemented:
// - GET /api/v1/nodes/<name>
// - GET /api/v1/nodes?watch=true&fieldSelector=metadata.name=<name>&resourceVersion=<rv>[&timeoutSeconds=<s>]:
//   JSON lines of {type, object}; events after rv are replayed; an rv older than the compaction point gets an
//   ERROR event with a 410 Status (as the real server does); timeoutSeconds ends the stream cleanly
// - PATCH /api/v1/nodes/<name>: merge patch (RFC 7386, null deletes) or strategic merge patch on metadata and spec;
//   415 for any other Content-Type; metadata.resourceVersion in the body must match (else 409)
// - PATCH /api/v1/nodes/<name>/status: the same on status; strategic merge merges status.conditions by `type`
//   (a merge patch replaces the list, as on the real server)
// - POST/PATCH /apis/events.k8s.io/v1/namespaces/<ns>/events[/<name>]: create (409 when the name exists, 422 when
//   a required field is missing), merge-patch (404 when absent, 422 when an immutable field changes)
// - GET /api/v1/namespaces/<ns>/pods/<name> and
//   GET /apis/k8s.cni.cncf.io/v1/namespaces/<ns>/network-attachment-definitions/<name>: the object, 404 with a
//   NotFound Status naming it; any other verb on them 403 (the service account may only get them). `forbid(resource)` answers 403 Forbidden as RBAC does
//   (a service account without `get`), `slow(resource, ms)` delays their answers; without `nadCrd` the NAD path is
//   404 "the server could not find the requested resource" (the CRD is not installed)
// - GET /api/v1/nodes (list): labelSelector (=, ==, !=, exists, !exists, in, notin), fieldSelector metadata.name,
//   limit/continue pagination over a consistent snapshot at the list's resourceVersion (a page holds up to `limit`
//   matching items; remainingItemCount only without selectors); a continue token from before the compaction point
//   (compact()) answers 410 Expired, with a fresh continue token in the Status, as the real server does
// - GET /apis/events.k8s.io/v1/events and .../namespaces/<ns>/events (list): fieldSelector on metadata.name,
//   metadata.namespace, reason, type, reportingController, regarding.{kind,name,namespace,uid,apiVersion}; any other
//   field is a 400 ("field label not supported"); limit/continue as for nodes
// - bearer-token auth (401 on any other token); one resourceVersion counter for all objects, bumped on every write
//   that changes something
// Faults: the next N matching requests answer a status (500, 429 with Retry-After, 409, ...), responses can be
// delayed, open watches can be cut, the accepted token can change.
import type { ApiConnection } from '../../agent/kube/client.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  authorization?: string;
  body?: unknown;
  /** Date.now() when the request arrived. */
  at: number;
  /** The status the fake answered (for a watch: the status of the response head). */
  status: number;
  /** Node the request was about (nodes, nodes/status, watch with a name selector); undefined for events. */
  node?: string;
}

export interface Fault {
  status: number;
  /** How many matching requests get it. */
  count: number;
  retryAfterSeconds?: number;
  method?: string;
  /** Substring of the path (e.g. `/status`, `/events`). */
  pathIncludes?: string;
  /** Match watch requests too (default: only when the method matches explicitly). */
  watch?: boolean;
  /** true: only list requests with a continue token (a fault mid-list); false: only without one. */
  continued?: boolean;
}

/** One requirement of a label selector: `key op values`. */
interface LabelRequirement {
  key: string;
  op: 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin';
  values: string[];
}

/** Parses a label selector as the API server does (equality- and set-based); throws with a message on bad syntax. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
  const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
  for (const raw of parts) {
    const p = raw.trim();
    if (p === '' && parts.length === 1) break;
    let m: RegExpExecArray | null;
    let req: LabelRequirement;
    if ((m = /^!\s*(\S+)$/.exec(p))) req = { key: m[1]!, op: '!exists', values: [] };
    else if ((m = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(p))) req = { key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] };
    else if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p))) req = { key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) };
    else if ((m = /^(\S+)$/.exec(p))) req = { key: m[1]!, op: 'exists', values: [] };
    else throw new Error(`unable to parse requirement: ${JSON.stringify(p)}`);
    if (!KEY.test(req.key)) throw new Error(`invalid label key ${JSON.stringify(req.key)}`);
    for (const v of req.values) if (!VALUE.test(v)) throw new Error(`invalid label value: ${JSON.stringify(v)}`);
    out.push(req);
  }
  return out;
}

export function matchesLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => {
    const v = labels[r.key];
    switch (r.op) {
      case 'exists':
        return v !== undefined;
      case '!exists':
        return v === undefined;
      case '=':
        return v === r.values[0];
      case '!=':
        return v !== r.values[0];
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
    }
  });
}

/** A field selector: `field=value`, `field==value`, `field!=value`, comma-separated (AND). */
function parseFieldSelector(text: string, supported: readonly string[]): { field: string; neg: boolean; value: string }[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const m = /^\s*([^=!\s]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new Error(`invalid selector: ${JSON.stringify(part)}; can't understand ${JSON.stringify(part)}`);
    if (!supported.includes(m[1]!)) throw new Error(`field label not supported: ${m[1]}`);
    return { field: m[1]!, neg: m[2] === '!=', value: m[3]! };
  });
}

const EVENT_FIELDS = ['metadata.name', 'metadata.namespace', 'reason', 'type', 'reportingController', 'regarding.kind', 'regarding.name', 'regarding.namespace', 'regarding.uid', 'regarding.apiVersion'];

function fieldOf(obj: Obj, path: string): string {
  let cur: Json | undefined = obj;
  for (const k of path.split('.')) cur = isObj(cur) ? cur[k] : undefined;
  return typeof cur === 'string' ? cur : '';
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

function decodeContinue(text: string): ContinueToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string') return undefined;
    return { rv: t.rv, start: t.start };
  } catch {
    return undefined;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface WatchClient {
  node: string | undefined;
  res: http.ServerResponse;
  timer?: NodeJS.Timeout;
}

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];
const EVENT_IMMUTABLE = ['note', 'reason', 'type', 'action', 'eventTime', 'reportingController', 'reportingInstance', 'regarding', 'related'];
const EVENT_REQUIRED = ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason', 'type', 'regarding'];

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Strategic merge patch for the paths railwatch uses: lists under `conditions` merge by `type`; `$` directives ignored. */
export function strategicMergePatch(target: Json | undefined, patch: Json, key = ''): Json {
  if (Array.isArray(patch) && key === 'conditions') {
    const out: Json[] = Array.isArray(target) ? clone(target) : [];
    for (const item of patch) {
      if (!isObj(item) || typeof item['type'] !== 'string') continue;
      const i = out.findIndex((c) => isObj(c) && c['type'] === item['type']);
      if (i >= 0) out[i] = strategicMergePatch(out[i], item);
      else out.push(strategicMergePatch(undefined, item));
    }
    return out;
  }
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = strategicMergePatch(out[k], v, k);
  }
  return out;
}

function status(code: number, reason: string, message: string): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export interface FakeApiServerOptions {
  token?: string;
  nodes?: string[];
  /** Serve the NetworkAttachmentDefinition CRD (default true). */
  nadCrd?: boolean;
}

export interface PodSpecInput {
  namespace: string;
  name: string;
  annotations?: Record<string, string>;
  nodeName?: string;
}

export interface NadSpecInput {
  namespace: string;
  name: string;
  /** k8s.v1.cni.cncf.io/resourceName; undefined leaves the annotation out. */
  resourceName?: string;
  /** spec.config as written (a JSON string, or anything else to test bad input); undefined leaves it out. */
  config?: unknown;
}

export type NamespacedResource = 'pods' | 'network-attachment-definitions';

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly nodes = new Map<string, Obj>();
  readonly events = new Map<string, Obj>();
  /** `ns/name` -> Pod */
  readonly pods = new Map<string, Obj>();
  /** `ns/name` -> NetworkAttachmentDefinition */
  readonly nads = new Map<string, Obj>();
  nadCrd: boolean;
  readonly #forbidden = new Set<NamespacedResource>();
  readonly #slow = new Map<NamespacedResource, number>();
  token: string;
  /** Delay before answering each request, ms. */
  delayMs = 0;
  /** Record request bodies and paths (off for the fleet benchmark to save memory). */
  record = true;
  /** Count of requests per `${method} ${kind}` (always kept). */
  readonly counts = new Map<string, number>();
  #rv = 1;
  #compactedRv = 0;
  #history: HistoryEntry[] = [];
  #faults: Fault[] = [];
  #watches = new Set<WatchClient>();
  #server: http.Server;
  #uid = 0;
  /** List snapshots by resourceVersion, keyed items sorted by key, for consistent pagination. */
  #snapshots = new Map<string, { key: string; obj: Obj }[]>();
  /** Called with each request before it is answered (a test expires continue tokens mid-list from here). */
  onRequest: ((rec: RecordedRequest) => void) | undefined;
  url = '';

  constructor(opts: FakeApiServerOptions = {}) {
    this.token = opts.token ?? 'token-1';
    this.nadCrd = opts.nadCrd ?? true;
    for (const n of opts.nodes ?? []) this.addNode(n);
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 1000;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const w of this.#watches) {
      if (w.timer) clearTimeout(w.timer);
      w.res.destroy();
    }
    this.#watches.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  addNode(name: string, labels: Record<string, string> = {}): Obj {
    const node: Obj = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, uid: `uid-${name}-${++this.#uid}`, resourceVersion: String(++this.#rv), labels: { 'kubernetes.io/hostname': name, ...labels } },
      spec: {},
      status: {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2025-01-01T00:00:00Z', lastTransitionTime: '2025-01-01T00:00:00Z' },
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'ok', lastHeartbeatTime: '2025-01-01T00:00:00Z', lastTransitionTime: '2025-01-01T00:00:00Z' },
        ],
      },
    };
    this.nodes.set(name, node);
    this.#publish('ADDED', node);
    return node;
  }

  addPod(p: PodSpecInput): Obj {
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, uid: `uid-pod-${p.name}-${++this.#uid}`, resourceVersion: String(++this.#rv), annotations: { ...(p.annotations ?? {}) } },
      spec: { nodeName: p.nodeName ?? '', containers: [{ name: 'main', image: 'registry.example/train:1' }] },
      status: { phase: 'Running' },
    };
    this.pods.set(`${p.namespace}/${p.name}`, pod);
    return pod;
  }

  /** Someone (Multus) annotates the pod; null deletes an annotation. */
  annotatePod(namespace: string, name: string, annotations: Record<string, string | null>): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    const meta = pod['metadata'] as Obj;
    meta['annotations'] = mergePatch(meta['annotations'], annotations);
    meta['resourceVersion'] = String(++this.#rv);
  }

  deletePod(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
  }

  podUid(namespace: string, name: string): string {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    return (pod['metadata'] as Obj)['uid'] as string;
  }

  addNad(n: NadSpecInput): Obj {
    const annotations: Obj = n.resourceName === undefined ? {} : { 'k8s.v1.cni.cncf.io/resourceName': n.resourceName };
    const nad: Obj = {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: n.name, namespace: n.namespace, uid: `uid-nad-${n.name}-${++this.#uid}`, resourceVersion: String(++this.#rv), annotations },
      spec: n.config === undefined ? {} : { config: n.config as Json },
    };
    this.nads.set(`${n.namespace}/${n.name}`, nad);
    return nad;
  }

  deleteNad(namespace: string, name: string): void {
    this.nads.delete(`${namespace}/${name}`);
  }

  /** The service account loses `get` on the resource: 403 Forbidden, as the RBAC authorizer answers. */
  forbid(resource: NamespacedResource, on = true): void {
    if (on) this.#forbidden.add(resource);
    else this.#forbidden.delete(resource);
  }

  /** Answers GETs of the resource after `ms` (0: at once). */
  slow(resource: NamespacedResource, ms: number): void {
    if (ms > 0) this.#slow.set(resource, ms);
    else this.#slow.delete(resource);
  }

  node(name: string): Obj {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  labels(name: string): Record<string, string> {
    return clone((this.node(name)['metadata'] as Obj)['labels'] as Record<string, string>);
  }

  conditions(name: string): Obj[] {
    return clone(((this.node(name)['status'] as Obj)['conditions'] ?? []) as Obj[]);
  }

  /** Someone else changes the Node (kubectl label ...): a merge patch applied directly, published to watches. */
  editNode(name: string, patch: Obj): void {
    const next = mergePatch(this.node(name), patch) as Obj;
    this.#commit(name, next);
  }

  /**
   * Drops the watch history and the list snapshots: a watch from an older resourceVersion, or a continue token of
   * a list taken before the last write, gets 410 Gone.
   */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history = [];
    this.#snapshots.clear();
  }

  /** Stores an events.k8s.io/v1 Event as it is (another reporter's, or one from the past). */
  addEvent(event: Obj): void {
    const meta = event['metadata'] as Obj;
    const obj = clone(event);
    (obj['metadata'] as Obj)['resourceVersion'] = String(++this.#rv);
    this.events.set(`${String(meta['namespace'])}/${String(meta['name'])}`, obj);
  }

  inject(fault: Fault): void {
    this.#faults.push({ ...fault });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Cuts every open watch stream mid-flight (no clean end of the chunked body). */
  cutWatches(): void {
    for (const w of this.#watches) {
      if (w.timer) clearTimeout(w.timer);
      w.res.socket?.destroy();
    }
    this.#watches.clear();
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  /** Recorded requests that write (everything but GET). */
  writes(node?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET' && (node === undefined || r.node === node));
  }

  #count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  #publish(type: HistoryEntry['type'], object: Obj): void {
    const entry: HistoryEntry = { rv: this.#rv, type, object: clone(object) };
    this.#history.push(entry);
    if (this.#history.length > 100_000) this.#history.splice(0, 50_000);
    const name = (object['metadata'] as Obj)['name'] as string;
    for (const w of this.#watches) {
      if (w.node === undefined || w.node === name) w.res.write(JSON.stringify({ type, object: entry.object }) + '\n');
    }
  }

  #commit(name: string, next: Obj): Obj {
    const cur = this.node(name);
    const meta = next['metadata'] as Obj;
    meta['resourceVersion'] = (cur['metadata'] as Obj)['resourceVersion']!;
    if (JSON.stringify(next) === JSON.stringify(cur)) return cur; // a no-op write changes nothing
    meta['resourceVersion'] = String(++this.#rv);
    this.nodes.set(name, next);
    this.#publish('MODIFIED', next);
    return next;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams.entries());
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    let badJson = false;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        badJson = true;
      }
    }
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    const rec: RecordedRequest = { method: req.method ?? '', path: url.pathname, query, at: Date.now(), status: 0 };
    if (contentType !== undefined) rec.contentType = contentType;
    if (req.headers.authorization !== undefined) rec.authorization = req.headers.authorization;
    if (body !== undefined) rec.body = body;
    const nodeMatch = /^\/api\/v1\/nodes\/([^/]+)(\/status)?$/.exec(url.pathname);
    if (nodeMatch?.[1]) rec.node = decodeURIComponent(nodeMatch[1]);
    const isWatch = url.pathname === '/api/v1/nodes' && query['watch'] === 'true';
    const selector = /^metadata\.name=(.+)$/.exec(query['fieldSelector'] ?? '');
    if (isWatch && selector?.[1]) rec.node = selector[1];
    const podMatch = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    const nadMatch = /^\/apis\/k8s\.cni\.cncf\.io\/v1\/namespaces\/([^/]+)\/network-attachment-definitions\/([^/]+)$/.exec(url.pathname);
    const kind = isWatch ? 'watch' : podMatch ? 'pods' : nadMatch ? 'nads' : url.pathname.includes('/events') ? 'events' : url.pathname.endsWith('/status') ? 'status' : 'nodes';
    this.#count(`${rec.method} ${kind}`);
    if (this.record) this.requests.push(rec);
    const send = (code: number, obj: unknown, headers: Record<string, string> = {}) => {
      rec.status = code;
      if (res.destroyed) return;
      res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(obj));
    };

    this.onRequest?.(rec);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const fault = this.#faults.find(
      (f) =>
        f.count > 0 &&
        (f.method === undefined ? !isWatch || f.watch === true : f.method === req.method && (!isWatch || f.watch !== false)) &&
        (f.pathIncludes === undefined || url.pathname.includes(f.pathIncludes)) &&
        (f.continued === undefined || f.continued === (query['continue'] !== undefined && query['continue'] !== '')),
    );
    if (fault) {
      fault.count--;
      const headers: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(fault.retryAfterSeconds) };
      return send(fault.status, status(fault.status, 'Injected', `injected fault ${fault.status}`), headers);
    }
    if (badJson) return send(400, status(400, 'BadRequest', 'invalid JSON body'));

    if (isWatch) return this.#watch(req, res, rec, selector?.[1], query);
    const namespaced = podMatch ? { resource: 'pods' as const, group: '', m: podMatch } : nadMatch ? { resource: 'network-attachment-definitions' as const, group: 'k8s.cni.cncf.io', m: nadMatch } : undefined;
    if (namespaced) {
      const ns = decodeURIComponent(namespaced.m[1]!);
      const name = decodeURIComponent(namespaced.m[2]!);
      const wait = this.#slow.get(namespaced.resource);
      if (wait !== undefined) await new Promise((r) => setTimeout(r, wait));
      if (namespaced.resource === 'network-attachment-definitions' && !this.nadCrd) {
        return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      }
      const verb = req.method === 'GET' ? 'get' : req.method === 'PATCH' ? 'patch' : req.method === 'DELETE' ? 'delete' : req.method === 'PUT' ? 'update' : 'create';
      // railwatch's service account holds only `get` on these: any other verb is refused by RBAC before anything else
      if (this.#forbidden.has(namespaced.resource) || req.method !== 'GET') {
        const forbidden = status(
          403,
          'Forbidden',
          `${namespaced.resource}${namespaced.group ? `.${namespaced.group}` : ''} "${name}" is forbidden: User "system:serviceaccount:railwatch:railwatch" cannot ${verb} resource "${namespaced.resource}" in API group "${namespaced.group}" in the namespace "${ns}"`,
        );
        forbidden['details'] = { name, group: namespaced.group, kind: namespaced.resource };
        return send(403, forbidden);
      }
      const obj = (namespaced.resource === 'pods' ? this.pods : this.nads).get(`${ns}/${name}`);
      if (!obj) {
        const nf = status(404, 'NotFound', `${namespaced.resource}${namespaced.group ? `.${namespaced.group}` : ''} "${name}" not found`);
        nf['details'] = { name, group: namespaced.group, kind: namespaced.resource };
        return send(404, nf);
      }
      return send(200, obj);
    }
    const eventList = /^\/apis\/events\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?events$/.exec(url.pathname);
    if (req.method === 'GET' && (url.pathname === '/api/v1/nodes' || eventList)) {
      const r = this.#list(url.pathname === '/api/v1/nodes' ? 'nodes' : 'events', query, eventList?.[1] === undefined ? undefined : decodeURIComponent(eventList[1]));
      return send(r.code, r.body);
    }
    if (nodeMatch?.[1]) {
      const name = decodeURIComponent(nodeMatch[1]);
      const sub = nodeMatch[2] === '/status';
      const node = this.nodes.get(name);
      if (!node) return send(404, status(404, 'NotFound', `nodes "${name}" not found`));
      if (req.method === 'GET' && !sub) return send(200, node);
      if (req.method !== 'PATCH') return send(405, status(405, 'MethodNotAllowed', 'method not allowed'));
      if (contentType === undefined || !PATCH_TYPES.includes(contentType)) {
        return send(415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`));
      }
      if (!isObj(body)) return send(400, status(400, 'BadRequest', 'patch body must be an object'));
      const wantRv = isObj(body['metadata']) ? body['metadata']['resourceVersion'] : undefined;
      const curRv = (node['metadata'] as Obj)['resourceVersion'];
      if (wantRv !== undefined && wantRv !== curRv) {
        return send(409, status(409, 'Conflict', 'Operation cannot be fulfilled on nodes: the object has been modified; please apply your changes to the latest version and try again'));
      }
      const strategic = contentType === 'application/strategic-merge-patch+json';
      const apply = (t: Json | undefined, p: Json) => (strategic ? strategicMergePatch(t, p) : mergePatch(t, p));
      const next = clone(node);
      if (sub) {
        if (body['status'] !== undefined) next['status'] = apply(next['status'], body['status']);
      } else {
        if (body['metadata'] !== undefined) next['metadata'] = apply(next['metadata'], body['metadata']);
        if (body['spec'] !== undefined) next['spec'] = apply(next['spec'], body['spec']);
      }
      (next['metadata'] as Obj)['name'] = name;
      (next['metadata'] as Obj)['uid'] = (node['metadata'] as Obj)['uid']!;
      return send(200, this.#commit(name, next));
    }
    const ev = /^\/apis\/events\.k8s\.io\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/.exec(url.pathname);
    if (ev?.[1]) {
      const ns = decodeURIComponent(ev[1]);
      const name = ev[2] === undefined ? undefined : decodeURIComponent(ev[2]);
      if (req.method === 'POST' && name === undefined) {
        if (contentType !== 'application/json') return send(415, status(415, 'UnsupportedMediaType', 'expected application/json'));
        if (!isObj(body) || !isObj(body['metadata']) || typeof body['metadata']['name'] !== 'string') {
          return send(422, status(422, 'Invalid', 'metadata.name: Required value'));
        }
        const missing = EVENT_REQUIRED.filter((f) => body[f] === undefined || body[f] === '');
        if (missing.length > 0) return send(422, status(422, 'Invalid', `${missing.join(', ')}: Required value`));
        const evName = body['metadata']['name'];
        const key = `${ns}/${evName}`;
        if (this.events.has(key)) return send(409, status(409, 'AlreadyExists', `events "${evName}" already exists`));
        const obj = clone(body);
        (obj['metadata'] as Obj)['namespace'] = ns;
        (obj['metadata'] as Obj)['uid'] = `event-uid-${++this.#uid}`;
        (obj['metadata'] as Obj)['resourceVersion'] = String(++this.#rv);
        this.events.set(key, obj);
        return send(201, obj);
      }
      if (req.method === 'PATCH' && name !== undefined) {
        if (contentType === undefined || !PATCH_TYPES.includes(contentType)) return send(415, status(415, 'UnsupportedMediaType', 'unsupported patch type'));
        const key = `${ns}/${name}`;
        const cur = this.events.get(key);
        if (!cur) return send(404, status(404, 'NotFound', `events "${name}" not found`));
        if (!isObj(body)) return send(400, status(400, 'BadRequest', 'patch body must be an object'));
        const next = mergePatch(cur, body) as Obj;
        const changed = EVENT_IMMUTABLE.filter((f) => JSON.stringify(next[f]) !== JSON.stringify(cur[f]));
        if (changed.length > 0) return send(422, status(422, 'Invalid', `${changed.join(', ')}: field is immutable`));
        (next['metadata'] as Obj)['resourceVersion'] = String(++this.#rv);
        this.events.set(key, next);
        return send(200, next);
      }
      return send(405, status(405, 'MethodNotAllowed', 'method not allowed'));
    }
    return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  #list(kind: 'nodes' | 'events', query: Record<string, string>, namespace: string | undefined): { code: number; body: unknown } {
    let labelReqs: LabelRequirement[];
    let fieldReqs: { field: string; neg: boolean; value: string }[];
    try {
      labelReqs = parseLabelSelector(query['labelSelector'] ?? '');
      fieldReqs = parseFieldSelector(query['fieldSelector'] ?? '', kind === 'nodes' ? ['metadata.name'] : EVENT_FIELDS);
    } catch (err) {
      return { code: 400, body: status(400, 'BadRequest', (err as Error).message) };
    }
    const limitText = query['limit'];
    const limit = limitText === undefined || limitText === '' ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) return { code: 400, body: status(400, 'BadRequest', `invalid limit ${JSON.stringify(limitText)}`) };
    const snapshotKey = `${kind}@${namespace ?? ''}`;
    let rv: number;
    let items: { key: string; obj: Obj }[];
    let start = '';
    const cont = query['continue'];
    if (cont !== undefined && cont !== '') {
      const token = decodeContinue(cont);
      if (token === undefined) return { code: 400, body: status(400, 'BadRequest', 'continue key is not valid: invalid continue token') };
      const snap = this.#snapshots.get(`${snapshotKey}#${token.rv}`);
      if (token.rv < this.#compactedRv || snap === undefined) {
        const body = status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from this response to restart the list. Consistency is not guaranteed.');
        body['metadata'] = { continue: encodeContinue({ rv: this.#rv, start: token.start }) };
        return { code: 410, body };
      }
      rv = token.rv;
      items = snap;
      start = token.start;
    } else {
      rv = this.#rv;
      const source = kind === 'nodes' ? [...this.nodes.values()].map((o) => ({ key: String((o['metadata'] as Obj)['name']), obj: o })) : [...this.events.entries()].map(([key, obj]) => ({ key, obj }));
      items = source.filter((i) => namespace === undefined || i.key.startsWith(`${namespace}/`)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      if (limit > 0) {
        this.#snapshots.set(`${snapshotKey}#${rv}`, items);
        // a handful of lists in flight at once; older snapshots go as a compaction would take them
        if (this.#snapshots.size > 16) this.#snapshots.delete(this.#snapshots.keys().next().value!);
      }
    }
    // first key after `start`
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (items[mid]!.key <= start) lo = mid + 1;
      else hi = mid;
    }
    const page: Obj[] = [];
    let i = lo;
    for (; i < items.length && (limit === 0 || page.length < limit); i++) {
      const obj = items[i]!.obj;
      const labels = ((obj['metadata'] as Obj)['labels'] ?? {}) as Record<string, string>;
      if (!matchesLabels(labelReqs, labels)) continue;
      if (!fieldReqs.every((f) => (fieldOf(obj, f.field) === f.value) !== f.neg)) continue;
      page.push(obj);
    }
    const metadata: Obj = { resourceVersion: String(rv) };
    if (limit > 0 && i < items.length) {
      metadata['continue'] = encodeContinue({ rv, start: items[i - 1]!.key });
      if (labelReqs.length === 0 && fieldReqs.length === 0) metadata['remainingItemCount'] = items.length - i;
    }
    const list = kind === 'nodes' ? { kind: 'NodeList', apiVersion: 'v1' } : { kind: 'EventList', apiVersion: 'events.k8s.io/v1' };
    return { code: 200, body: { ...list, metadata, items: page } };
  }

  #watch(req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest, node: string | undefined, query: Record<string, string>): void {
    if (req.method !== 'GET') {
      rec.status = 405;
      res.writeHead(405).end();
      return;
    }
    rec.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const from = query['resourceVersion'] === undefined || query['resourceVersion'] === '' ? undefined : Number(query['resourceVersion']);
    if (from !== undefined && (!Number.isFinite(from) || from < this.#compactedRv)) {
      res.end(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${query['resourceVersion']} (${this.#compactedRv})`) }) + '\n');
      return;
    }
    const w: WatchClient = { node, res };
    if (from === undefined) {
      for (const n of this.nodes.values()) {
        if (node === undefined || (n['metadata'] as Obj)['name'] === node) res.write(JSON.stringify({ type: 'ADDED', object: n }) + '\n');
      }
    } else {
      for (const h of this.#history) {
        if (h.rv > from && (node === undefined || (h.object['metadata'] as Obj)['name'] === node)) res.write(JSON.stringify({ type: h.type, object: h.object }) + '\n');
      }
    }
    this.#watches.add(w);
    const timeout = Number(query['timeoutSeconds']);
    if (Number.isFinite(timeout) && timeout > 0) {
      w.timer = setTimeout(() => {
        this.#watches.delete(w);
        res.end();
      }, timeout * 1000);
    }
    res.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      this.#watches.delete(w);
    });
  }
}

export async function startFakeApiServer(opts: FakeApiServerOptions = {}, port = 0): Promise<FakeApiServer> {
  return new FakeApiServer(opts).listen(port);
}

/**
 * A client-node KubeConfig (the kubeconfig-file path of railwatch) for the fake server's URL and a bearer-token file;
 * http needs skipTLSVerify.
 */
export async function kubeConfigForServer(server: string, tokenFile: string): Promise<ApiConnection> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'cluster', server, skipTLSVerify: server.startsWith('http:') },
    { name: 'user', authProvider: { name: 'tokenFile', config: { tokenFile } } },
  );
  return kc;
}
