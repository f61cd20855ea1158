// railwatch's HTTP endpoint: / (the status page, agent/http/status-page.ts), /metrics, /healthz, /readyz and
// /status, read-only. Only GET and HEAD on these five paths; every other path is 404 and every other method 405. No path is ever
// mapped to the filesystem: the responses are rendered from the in-memory agent state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import { CONTENT_TYPE, createMetricsRenderer, type MetricsRenderer, type RenderedPart } from '../metrics/render.ts';
import { snapshotToJson } from '../scan/registry.ts';
import type { AgentState } from '../state.ts';
import { WeakKeys } from '../weak-keys.ts';
import { CONTENT_SECURITY_POLICY, pageBody, renderStatusPage, type RenderedPage } from './status-page.ts';

// node:http through getBuiltinModule, not an ESM import: the ESM facade of node:http reads every export, and its
// lazy WebSocket getters load the bundled undici and http2 (about 11 MiB resident on Node 24; docs/metrics.md).
const { createServer } = process.getBuiltinModule('node:http');

/** railwatch's port, from Prometheus' default port allocations list (see docs/metrics.md). */
export const DEFAULT_PORT = 9839;
export const DEFAULT_LISTEN = `:${DEFAULT_PORT}`;

export interface HttpLimits {
  /** Time to receive the request headers (slow-loris bound), ms. */
  headersTimeoutMs: number;
  /** Time to receive the whole request, ms. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this, ms. */
  keepAliveTimeoutMs: number;
  /** Socket inactivity timeout, ms. */
  socketTimeoutMs: number;
  /** Concurrent connections; more are refused. */
  maxConnections: number;
  /** Largest request header block, bytes. */
  maxHeaderBytes: number;
  /** close() waits this long for in-flight requests before cutting connections, ms. */
  drainTimeoutMs: number;
}

export const DEFAULT_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  socketTimeoutMs: 60_000,
  maxConnections: 512,
  maxHeaderBytes: 16 * 1024,
  drainTimeoutMs: 5_000,
};

export interface HttpServerOptions {
  /** `ADDR:PORT`, `[IPv6]:PORT` or `:PORT` (all IPv4 addresses); default `:9839`. */
  listen?: string;
  /** The live agent state, read on every request. */
  state: () => AgentState;
  log: Logger;
  render?: MetricsRenderer;
  limits?: Partial<HttpLimits>;
  /** Shown on the status page. */
  nodeName?: string;
  now?: () => number;
}

export interface RunningHttpServer {
  address: string;
  port: number;
  /** Stops accepting connections, lets in-flight requests finish, closes idle connections. */
  close(): Promise<void>;
}

export class ListenAddressError extends Error {
  constructor(listen: string, why: string) {
    super(`listen address ${JSON.stringify(listen)}: ${why} (want ADDR:PORT, [IPv6]:PORT or :PORT)`);
    this.name = 'ListenAddressError';
  }
}

/** Parses `ADDR:PORT`; an empty address means every IPv4 address (0.0.0.0). */
export function parseListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  if (colon < 0) throw new ListenAddressError(listen, 'no port');
  let host = listen.slice(0, colon);
  const portText = listen.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new ListenAddressError(listen, 'port must be 0-65535');
  if (host.startsWith('[')) {
    if (!host.endsWith(']') || host.length < 3) throw new ListenAddressError(listen, 'unclosed [');
    host = host.slice(1, -1);
  } else if (host.includes(':')) {
    throw new ListenAddressError(listen, 'an IPv6 address goes in brackets');
  }
  if (/[\s/]/.test(host)) throw new ListenAddressError(listen, 'bad address');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(portText) };
}

const KNOWN_PATHS = new Set(['/', '/metrics', '/healthz', '/readyz', '/status']);

/** Headers of the status page: a strict CSP and no framing, sniffing or referrer. */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};
const ALLOW = 'GET, HEAD';

/** gzip is acceptable unless absent or given q=0. */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const item of header.split(',')) {
    const [coding = '', ...params] = item.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

interface Reply {
  status: number;
  type: string;
  /** One buffer, or several written in order (no copy into one buffer per scrape). */
  body: Buffer | readonly Buffer[];
  headers?: Record<string, string>;
}

function text(status: number, body: string, headers?: Record<string, string>): Reply {
  const reply: Reply = { status, type: 'text/plain; charset=utf-8', body: Buffer.from(body) };
  if (headers !== undefined) reply.headers = headers;
  return reply;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const limits: HttpLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const { host, port } = parseListen(options.listen ?? DEFAULT_LISTEN);
  const log = options.log;
  const renderer = options.render ?? createMetricsRenderer({ log });
  let closing = false;
  // keyed weakly: a cache must not keep the previous scan's snapshot, view and checks alive (agent/weak-keys.ts)
  let statusCache: { keys: WeakKeys; body: Buffer } | undefined;
  let pageCache: { keys: WeakKeys; page: RenderedPage } | undefined;
  const now = options.now ?? Date.now;

  /** The status page, rendered once per (view, checks): once per scan; a request adds only the scan's age. */
  function pageReply(state: AgentState): Reply {
    const c = pageCache;
    const keys = [state.view, state.checks];
    if (c === undefined || !c.keys.matches(keys)) {
      const page = renderStatusPage({ state, ...(options.nodeName === undefined ? {} : { nodeName: options.nodeName }) });
      pageCache = { keys: new WeakKeys(keys), page };
    }
    const page = pageCache!.page;
    return { status: page.status, type: 'text/html; charset=utf-8', body: pageBody(page, now()), headers: PAGE_HEADERS };
  }

  function statusReply(state: AgentState): Reply {
    const snapshot = state.snapshot;
    if (snapshot === undefined) {
      return { status: 503, type: 'application/json', body: Buffer.from('{"error":"no scan has completed yet"}\n') };
    }
    const c = statusCache;
    const keys = [snapshot, state.checks, state.allocation];
    if (c === undefined || !c.keys.matches(keys)) {
      const doc = { snapshot, checks: state.checks ?? null, allocation: state.allocation };
      statusCache = { keys: new WeakKeys(keys), body: Buffer.from(snapshotToJson(doc) + '\n') };
    }
    return { status: 200, type: 'application/json', body: statusCache!.body };
  }

  async function metricsReply(req: IncomingMessage, state: AgentState): Promise<Reply> {
    const parts: readonly RenderedPart[] = await renderer.render(state);
    if (acceptsGzip(req.headers['accept-encoding'])) {
      // each part is its own gzip member, compressed once per part: the structural part's once per scan, the fresh
      // part's once per counter read (shared by coalesced scrapes)
      const members = parts.map((p) => p.gzip());
      return { status: 200, type: CONTENT_TYPE, body: members, headers: { 'content-encoding': 'gzip', vary: 'Accept-Encoding' } };
    }
    return { status: 200, type: CONTENT_TYPE, body: parts.map((p) => p.bytes()), headers: { vary: 'Accept-Encoding' } };
  }

  async function route(req: IncomingMessage): Promise<Reply> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (!KNOWN_PATHS.has(path)) return text(404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n', { allow: ALLOW });
    const state = options.state();
    switch (path) {
      case '/healthz':
        return text(200, 'ok\n');
      case '/readyz':
        return state.snapshot === undefined ? text(503, 'not ready: no scan has completed yet\n') : text(200, 'ready\n');
      case '/status':
        return statusReply(state);
      case '/':
        return pageReply(state);
      default:
        return await metricsReply(req, state);
    }
  }

  function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
    const chunks: readonly Buffer[] = Buffer.isBuffer(reply.body) ? [reply.body] : (reply.body);
    const headers: Record<string, string | number> = {
      'content-type': reply.type,
      'content-length': chunks.reduce((n, c) => n + c.length, 0),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...reply.headers,
    };
    if (closing) headers['connection'] = 'close';
    res.writeHead(reply.status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    for (let i = 0; i < chunks.length - 1; i++) res.write(chunks[i]);
    res.end(chunks[chunks.length - 1]);
  }

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    (req, res) => {
      route(req).then(
        (reply) => send(req, res, reply),
        (err: unknown) => {
          log.error('http request failed', { path: (req.url ?? '').slice(0, 100), err });
          if (!res.headersSent) send(req, res, text(500, 'internal error\n'));
          else res.destroy();
        },
      );
    },
  );
  server.maxConnections = limits.maxConnections;
  server.timeout = limits.socketTimeoutMs;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    log.warn('http connection refused: connection limit reached', { maxConnections: limits.maxConnections, remote: data?.remoteAddress });
  });

  await new Promise<void>((resolveListen, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolveListen();
    });
  });
  server.on('error', (err) => log.error('http server error', { err }));
  const bound = server.address() as AddressInfo;
  log.info('http server listening', { address: bound.address, port: bound.port });

  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    closed ??= new Promise<void>((resolveClose) => {
      closing = true;
      const timer = setTimeout(() => server.closeAllConnections(), limits.drainTimeoutMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        log.info('http server closed', {});
        resolveClose();
      });
      server.closeIdleConnections();
    });
    return closed;
  }

  return { address: bound.address, port: bound.port, close };
}
