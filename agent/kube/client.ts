// A thin HTTP client for the few Kubernetes API calls railwatch makes (agent/kube/api-calls.ts), over the
// connection for the mode (agent/kube/connection.ts: the service account in the cluster, a kubeconfig file outside
// it). The requests go through node:http(s) (agent/kube/transport.ts) so that railwatch sets the patch Content-Type
// explicitly, bounds every request with a timeout and a body cap (agent/kube/request.ts), streams the watch line by
// line (agent/kube/watch-stream.ts) and counts every response by (verb, status code).
import type { KubeVerb } from './api-calls.ts';
import { ConnectionCache, requestTarget, type ApiConnection } from './connection.ts';
import { requestOnce } from './request.ts';
import type { KubeResponse, RequestTarget } from './transport.ts';
import { watchStream } from './watch-stream.ts';
import { bump } from '../state.ts';

export { loadKubeConfig, resolveKubeMode, resolveNodeName, type ApiConnection, type KubeMode, type KubeModeInput } from './connection.ts';
export { KubeNetworkError, parseRetryAfter, type KubeResponse } from './transport.ts';

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

export function createKubeClient(opts: KubeClientOptions): KubeClient {
  const limits = { timeoutMs: opts.requestTimeoutMs ?? 15_000, maxBodyBytes: opts.maxBodyBytes ?? 16 * 1024 * 1024 };
  const connection = new ConnectionCache(opts.loadConfig);
  const target = async (path: string): Promise<RequestTarget> => requestTarget(await connection.get(), path);

  return {
    async request(r) {
      let code: number | 'error' = 'error';
      try {
        const t = await target(r.path);
        const body = r.body === undefined ? undefined : JSON.stringify(r.body);
        const res = await requestOnce(t, { method: r.method, body, contentType: r.contentType, signal: r.signal }, limits);
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
        const t = await target(w.path);
        return await watchStream(t, {
          signal: w.signal,
          idleTimeoutMs: w.idleTimeoutMs,
          maxLineBytes: limits.maxBodyBytes,
          onObject: (obj) => w.onObject(obj),
          onResponse: count,
        });
      } finally {
        count('error');
      }
    },

    reload: () => connection.reload(),
  };
}
