// A thin HTTP client for the few Kubernetes API calls railwatch makes (agent/kube/api-calls.ts).
// Connection settings and credentials come from an ApiConnection: in the cluster, the pod's service account
// (agent/kube/service-account.ts: API server from the service env, CA and bearer token from the mounted files);
// outside it, @kubernetes/client-node's KubeConfig for a kubeconfig file (exec, OIDC and cloud auth plugins).
// client-node is imported only for kubeconfig files: importing it loads its whole generated API (about 70 MiB of
// resident memory measured on Node 24), too much for an agent on every node. The requests themselves go through
// node:http(s) so that railwatch sets the patch Content-Type explicitly, streams the watch line by line, bounds
// every request with a timeout and counts every response by (verb, status code).
import { existsSync } from 'node:fs';
import type * as HttpModule from 'node:http';
import type * as HttpsModule from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeVerb } from './api-calls.ts';
import { serviceAccountConnection } from './service-account.ts';
import { bump } from '../state.ts';

// Loaded through getBuiltinModule when the first request goes out, not as ESM imports: the ESM facade of node:http
// reads every export and its lazy WebSocket getters load the bundled undici and http2 (about 11 MiB resident), and
// node:https loads TLS and crypto (about 5 MiB), which `serve --no-kube` never needs. See docs/metrics.md (memory).
function transport(protocol: string): typeof HttpModule | typeof HttpsModule {
  return protocol === 'http:' ? process.getBuiltinModule('node:http') : process.getBuiltinModule('node:https');
}

export type KubeMode =
  | { kind: 'in-cluster' }
  | { kind: 'kubeconfig'; path: string }
  | { kind: 'standalone'; why: string };

export interface KubeModeInput {
  noKube: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** Home directory for ~/.kube/config; defaults to os.homedir(). */
  home?: string;
  exists?: (path: string) => boolean;
}

/** In-cluster when the service env is set, else a kubeconfig when one exists, else standalone. */
export function resolveKubeMode(input: KubeModeInput): KubeMode {
  if (input.noKube) return { kind: 'standalone', why: '--no-kube' };
  if (input.env['KUBERNETES_SERVICE_HOST']) return { kind: 'in-cluster' };
  const exists = input.exists ?? existsSync;
  const fromEnv = (input.env['KUBECONFIG'] ?? '').split(':').filter(Boolean);
  for (const file of fromEnv) if (exists(file)) return { kind: 'kubeconfig', path: file };
  const home = input.home ?? homedir();
  const def = join(home, '.kube', 'config');
  if (exists(def)) return { kind: 'kubeconfig', path: def };
  return { kind: 'standalone', why: 'no in-cluster environment and no kubeconfig' };
}

/** The node name: `--node-name`, else NODE_NAME (downward API); undefined when neither is set. */
export function resolveNodeName(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const name = (flag ?? env['NODE_NAME'] ?? '').trim();
  return name === '' ? undefined : name;
}

/**
 * Where the API server is and how to authenticate to it: what the client needs of a KubeConfig (which satisfies
 * this interface as it is).
 */
export interface ApiConnection {
  getCurrentCluster(): { server: string } | null;
  /** Adds TLS settings (CA, client certificate) and the Authorization header to request options. */
  applyToHTTPSOptions(options: HttpsModule.RequestOptions): Promise<void>;
}

async function clientNode(): Promise<typeof import('@kubernetes/client-node')> {
  return import('@kubernetes/client-node');
}

/** The connection for the mode; a fresh one re-reads credentials (used after a 401). */
export async function loadKubeConfig(mode: Exclude<KubeMode, { kind: 'standalone' }>): Promise<ApiConnection> {
  if (mode.kind === 'in-cluster') return serviceAccountConnection({ env: process.env });
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(mode.path);
  return kc;
}

export interface KubeResponse {
  status: number;
  body: unknown;
  retryAfterMs?: number;
}

/** A request that got no HTTP response (refused, reset, timed out, aborted). */
export class KubeNetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeNetworkError';
  }
}

export interface KubeRequest {
  verb: KubeVerb;
  method: 'GET' | 'PATCH' | 'POST';
  path: string;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface WatchRequest {
  path: string;
  signal?: AbortSignal;
  /** Client-side guard: abort when nothing arrives for this long. */
  idleTimeoutMs: number;
  onObject(obj: unknown): void;
}

export interface KubeClient {
  /** Resolves with any HTTP status; rejects with KubeNetworkError when there is no response. */
  request(req: KubeRequest): Promise<KubeResponse>;
  /** Streams a watch; resolves with the HTTP status when the stream ends (200: closed normally), body ignored. */
  watch(req: WatchRequest): Promise<KubeResponse>;
  /** Re-creates the KubeConfig (re-reads the token file): after a 401 from a rotated token. */
  reload(): Promise<void>;
}

export interface KubeClientOptions {
  loadConfig: () => Promise<ApiConnection>;
  /** state.kubeRequests: `${verb}\t${code}` -> count. */
  counters: Map<string, number>;
  requestTimeoutMs?: number;
  maxBodyBytes?: number;
}

interface Prepared {
  url: URL;
  options: HttpsModule.RequestOptions;
}

export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export function createKubeClient(opts: KubeClientOptions): KubeClient {
  const timeoutMs = opts.requestTimeoutMs ?? 15_000;
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  let config: Promise<ApiConnection> | undefined;

  async function prepare(path: string): Promise<Prepared> {
    config ??= opts.loadConfig();
    let kc: ApiConnection;
    try {
      kc = await config;
    } catch (err) {
      config = undefined;
      throw new KubeNetworkError(`kubeconfig: ${(err as Error).message}`);
    }
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new KubeNetworkError('kubeconfig: no current cluster');
    const options: HttpsModule.RequestOptions = {};
    try {
      await kc.applyToHTTPSOptions(options);
    } catch (err) {
      throw new KubeNetworkError(`credentials: ${(err as Error).message}`);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((options.headers ?? {}) as Record<string, unknown>)) headers[k] = String(v).trim();
    options.headers = headers;
    return { url: new URL(cluster.server.replace(/\/+$/, '') + path), options };
  }

  function send(p: Prepared, method: string, body: string | undefined, contentType: string | undefined, signal: AbortSignal | undefined): HttpModule.ClientRequest {
    const headers = { ...(p.options.headers as Record<string, string>), Accept: 'application/json' } as Record<string, string>;
    if (contentType !== undefined) headers['Content-Type'] = contentType;
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const lib = transport(p.url.protocol);
    const req = lib.request(p.url, { ...p.options, method, headers, signal });
    if (body !== undefined) req.end(body);
    else req.end();
    return req;
  }

  return {
    async request(r) {
      let code: number | 'error' = 'error';
      try {
        const p = await prepare(r.path);
        const body = r.body === undefined ? undefined : JSON.stringify(r.body);
        const res = await new Promise<KubeResponse>((resolve, reject) => {
          const req = send(p, r.method, body, r.contentType, r.signal);
          let settled = false;
          const timer = setTimeout(() => {
            const err = new KubeNetworkError(`timeout after ${timeoutMs} ms`);
            req.destroy(err);
            fail(err);
          }, timeoutMs);
          // settles exactly once: a response cut mid-body (clean close, reset, timeout) must reject, never hang
          function fail(err: Error): void {
            clearTimeout(timer);
            if (settled) return;
            settled = true;
            reject(err instanceof KubeNetworkError ? err : new KubeNetworkError(`${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`));
          }
          req.on('error', fail);
          req.on('response', (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > maxBody) req.destroy(new KubeNetworkError(`response over ${maxBody} bytes`));
              else chunks.push(c);
            });
            res.on('error', fail);
            res.on('close', () => {
              if (!res.complete) fail(new KubeNetworkError('response cut before its end'));
            });
            res.on('end', () => {
              clearTimeout(timer);
              if (settled) return;
              settled = true;
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = text;
              try {
                parsed = text === '' ? undefined : JSON.parse(text);
              } catch {
                // not JSON: keep the text (error pages from proxies)
              }
              const out: KubeResponse = { status: res.statusCode ?? 0, body: parsed };
              const ra = parseRetryAfter(res.headers['retry-after'], Date.now());
              if (ra !== undefined) out.retryAfterMs = ra;
              resolve(out);
            });
          });
        });
        code = res.status;
        return res;
      } finally {
        bump(opts.counters, `${r.verb}\t${code}`);
      }
    },

    async watch(w) {
      // counted when the response starts (a watch is one long request), or as an error when none comes
      let counted = false;
      const count = (code: number | 'error') => {
        if (counted) return;
        counted = true;
        bump(opts.counters, `watch\t${code}`);
      };
      try {
        const p = await prepare(w.path);
        const res = await new Promise<KubeResponse>((resolve, reject) => {
          const req = send(p, 'GET', undefined, undefined, w.signal);
          let timer: NodeJS.Timeout | undefined;
          const arm = () => {
            if (timer !== undefined) clearTimeout(timer);
            timer = setTimeout(() => req.destroy(new KubeNetworkError(`watch idle for ${w.idleTimeoutMs} ms`)), w.idleTimeoutMs);
          };
          arm();
          let settled = false;
          const fail = (err: Error) => {
            if (timer !== undefined) clearTimeout(timer);
            if (settled) return;
            settled = true;
            reject(err instanceof KubeNetworkError ? err : new KubeNetworkError(`${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`));
          };
          req.on('error', fail);
          req.on('response', (res) => {
            count(res.statusCode ?? 0);
            if (res.statusCode !== 200) {
              // drain a small error body, report the status
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
              res.on('error', fail);
              res.on('close', () => {
                if (!res.complete) fail(new KubeNetworkError('response cut before its end'));
              });
              res.on('end', () => {
                if (timer !== undefined) clearTimeout(timer);
                settled = true;
                const out: KubeResponse = { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
                const ra = parseRetryAfter(res.headers['retry-after'], Date.now());
                if (ra !== undefined) out.retryAfterMs = ra;
                resolve(out);
              });
              return;
            }
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              arm();
              buffer += chunk;
              if (buffer.length > maxBody) {
                req.destroy(new KubeNetworkError(`watch line over ${maxBody} bytes`));
                return;
              }
              let nl: number;
              while ((nl = buffer.indexOf('\n')) >= 0) {
                const line = buffer.slice(0, nl).trim();
                buffer = buffer.slice(nl + 1);
                if (line === '') continue;
                let obj: unknown;
                try {
                  obj = JSON.parse(line);
                } catch {
                  req.destroy(new KubeNetworkError('watch stream: invalid JSON line'));
                  return;
                }
                w.onObject(obj);
              }
            });
            res.on('error', fail);
            res.on('aborted', () => fail(new KubeNetworkError('watch stream cut')));
            res.on('close', () => {
              if (!res.complete) fail(new KubeNetworkError('watch stream cut'));
            });
            res.on('end', () => {
              if (timer !== undefined) clearTimeout(timer);
              if (settled) return;
              settled = true;
              if (!res.complete) reject(new KubeNetworkError('watch stream cut'));
              else resolve({ status: 200, body: undefined });
            });
          });
        });
        return res;
      } finally {
        count('error');
      }
    },

    async reload() {
      config = opts.loadConfig();
      try {
        await config;
      } catch {
        config = undefined;
      }
    },
  };
}
