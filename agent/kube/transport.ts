// The HTTP layer under the kube client: node:http(s) loaded on first use, a request sent to a RequestTarget with
// the headers railwatch sets, the response shape (status, parsed body, Retry-After), and the error for a request
// that got no HTTP response.
import type * as HttpModule from 'node:http';
import type * as HttpsModule from 'node:https';

// Loaded through getBuiltinModule when the first request goes out, not as ESM imports: the ESM facade of node:http
// reads every export and its lazy WebSocket getters load the bundled undici and http2 (about 11 MiB resident), and
// node:https loads TLS and crypto (about 5 MiB), which `serve --no-kube` never needs. See docs/metrics.md (memory).
function transport(protocol: string): typeof HttpModule | typeof HttpsModule {
  return protocol === 'http:' ? process.getBuiltinModule('node:http') : process.getBuiltinModule('node:https');
}

/** The patch Content-Types railwatch sets (a merge patch for labels and events, a strategic one for conditions). */
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

/** A request's destination: the full URL, and the options (TLS settings, Authorization header) that go with it. */
export interface RequestTarget {
  url: URL;
  options: HttpsModule.RequestOptions;
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

/** A socket or stream error as a KubeNetworkError (one already is stays as it is). */
export function networkError(err: Error): KubeNetworkError {
  return err instanceof KubeNetworkError ? err : new KubeNetworkError(`${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`);
}

export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The response's status and the given body, with its Retry-After (relative to now) when it has one. */
export function responseOf(res: HttpModule.IncomingMessage, body: unknown): KubeResponse {
  const out: KubeResponse = { status: res.statusCode ?? 0, body };
  const ra = parseRetryAfter(res.headers['retry-after'], Date.now());
  if (ra !== undefined) out.retryAfterMs = ra;
  return out;
}

/** Sends a request to the target (Accept: application/json; Content-Type and Content-Length with a body). */
export function send(
  target: RequestTarget,
  method: string,
  body: string | undefined,
  contentType: string | undefined,
  signal: AbortSignal | undefined,
): HttpModule.ClientRequest {
  const headers = { ...(target.options.headers as Record<string, string>), Accept: 'application/json' } as Record<string, string>;
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  const lib = transport(target.url.protocol);
  const req = lib.request(target.url, { ...target.options, method, headers, signal });
  if (body !== undefined) req.end(body);
  else req.end();
  return req;
}
