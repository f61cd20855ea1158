import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { defaultConfig } from '../../agent/config/config.ts';
import { acceptsGzip, parseListen, startHttpServer, type HttpServerOptions, type RunningHttpServer } from '../../agent/http/server.ts';
import { memoryLogger, silentLogger } from '../../agent/log.ts';
import { createMetricsRenderer, type MetricsRenderer } from '../../agent/metrics/render.ts';
import { createAgentState, type AgentState } from '../../agent/state.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { scanFixture } from '../metrics/exposition-helpers.ts';

const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
const snapshot = scanFixture(host);
after(() => host.cleanup());

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Got> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(state: AgentState, extra: Partial<HttpServerOptions> = {}): Promise<RunningHttpServer> {
  return await startHttpServer({
    listen: '127.0.0.1:0',
    state: () => state,
    log: silentLogger,
    render: createMetricsRenderer({ defaultMetrics: false }),
    ...extra,
  });
}

describe('endpoints', () => {
  test('readyz before and after the first snapshot; healthz; status', async (t) => {
    const state = createAgentState(defaultConfig(), '0.1.0');
    const server = await serve(state);
    t.after(() => server.close());
    const p = server.port;
    assert.deepEqual([(await get(p, '/healthz')).status, (await get(p, '/healthz')).body.toString()], [200, 'ok\n']);
    assert.equal((await get(p, '/readyz')).status, 503);
    assert.equal((await get(p, '/status')).status, 503);
    const metricsBefore = await get(p, '/metrics');
    assert.equal(metricsBefore.status, 200);
    assert.match(metricsBefore.body.toString(), /^railwatch_pod_resources_up 0$/m);

    state.snapshot = snapshot;
    state.allocation = { error: 'socket-absent' };
    const ready = await get(p, '/readyz');
    assert.deepEqual([ready.status, ready.body.toString()], [200, 'ready\n']);
    const status = await get(p, '/status');
    assert.equal(status.status, 200);
    assert.equal(status.headers['content-type'], 'application/json');
    const doc = JSON.parse(status.body.toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['snapshot', 'checks', 'allocation']);
    assert.deepEqual(doc['allocation'], { error: 'socket-absent' });
    assert.equal(doc['checks'], null);
    assert.equal((doc['snapshot'] as { pfs: unknown[] }).pfs.length, 2);
  });

  test('metrics: content type, HEAD, query string, gzip', async (t) => {
    const state = createAgentState(defaultConfig(), '0.1.0');
    state.snapshot = snapshot;
    const server = await serve(state);
    t.after(() => server.close());
    const plain = await get(server.port, '/metrics');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(Number(plain.headers['content-length']), plain.body.length);
    assert.match(plain.body.toString(), /^railwatch_pf_vfs_configured\{pf="ens1f0np0",rail="0"\} 2$/m);

    const head = await get(server.port, '/metrics', { method: 'HEAD' });
    assert.deepEqual([head.status, head.body.length, Number(head.headers['content-length'])], [200, 0, plain.body.length]);

    assert.equal((await get(server.port, '/metrics?debug=1')).body.toString(), plain.body.toString());

    const zipped = await get(server.port, '/metrics', { headers: { 'accept-encoding': 'gzip, deflate' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(zipped.body).toString(), plain.body.toString());
    const refused = await get(server.port, '/metrics', { headers: { 'accept-encoding': 'gzip;q=0' } });
    assert.equal(refused.headers['content-encoding'], undefined);

    // Node's own fetch decodes the multi-member gzip body the same way Prometheus does
    const fetched = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(await fetched.text(), plain.body.toString());
  });

  test('only GET and HEAD on the known paths: 404 elsewhere, 405 with Allow for other methods', async (t) => {
    const state = createAgentState(defaultConfig(), '0.1.0');
    state.snapshot = snapshot;
    const server = await serve(state);
    t.after(() => server.close());
    const p = server.port;
    const seen: [string, string, number, string | undefined][] = [];
    for (const [method, path] of [
      ['POST', '/metrics'],
      ['PUT', '/status'],
      ['DELETE', '/healthz'],
      ['OPTIONS', '/readyz'],
      ['GET', '/index.html'],
      ['GET', '/metrics/'],
      ['GET', '/../../etc/passwd'],
      ['GET', '/status/../../../etc/passwd'],
      ['GET', '/%2e%2e/etc/passwd'],
      ['GET', '/favicon.ico'],
      ['POST', '/nope'],
    ] as const) {
      const res = await get(p, path, { method });
      seen.push([method, path, res.status, res.headers['allow'] as string | undefined]);
      assert.ok(!res.body.toString().includes('root:'), 'never a file');
    }
    assert.deepEqual(seen, [
      ['POST', '/metrics', 405, 'GET, HEAD'],
      ['PUT', '/status', 405, 'GET, HEAD'],
      ['DELETE', '/healthz', 405, 'GET, HEAD'],
      ['OPTIONS', '/readyz', 405, 'GET, HEAD'],
      ['GET', '/index.html', 404, undefined],
      ['GET', '/metrics/', 404, undefined],
      ['GET', '/../../etc/passwd', 404, undefined],
      ['GET', '/status/../../../etc/passwd', 404, undefined],
      ['GET', '/%2e%2e/etc/passwd', 404, undefined],
      ['GET', '/favicon.ico', 404, undefined],
      ['POST', '/nope', 404, undefined],
    ]);
  });

  test('a render failure answers 500 and is logged; the server keeps serving', async (t) => {
    const state = createAgentState(defaultConfig(), '0.1.0');
    const log = memoryLogger();
    let fail = true;
    const real = createMetricsRenderer({ defaultMetrics: false });
    const render: MetricsRenderer = {
      render: async (s) => {
        if (fail) throw new Error('boom');
        return await real.render(s);
      },
    };
    const server = await serve(state, { render, log });
    t.after(() => server.close());
    assert.equal((await get(server.port, '/metrics')).status, 500);
    assert.deepEqual(log.lines.filter((l) => l.level === 'error').map((l) => l.msg), ['http request failed']);
    fail = false;
    assert.equal((await get(server.port, '/metrics')).status, 200);
  });
});

describe('lifecycle and limits', () => {
  test('close() lets an in-flight scrape finish, then refuses new connections', async () => {
    const state = createAgentState(defaultConfig(), '0.1.0');
    state.snapshot = snapshot;
    const real = createMetricsRenderer({ defaultMetrics: false });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let started: () => void = () => {};
    const inFlight = new Promise<void>((r) => (started = r));
    const render: MetricsRenderer = {
      render: async (s) => {
        started();
        await gate;
        return await real.render(s);
      },
    };
    const server = await serve(state, { render });
    const scrape = get(server.port, '/metrics');
    await inFlight;
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, false, 'close waits for the in-flight scrape');
    release();
    const res = await scrape;
    assert.equal(res.status, 200);
    assert.equal(res.headers['connection'], 'close');
    assert.match(res.body.toString(), /railwatch_pf_info/);
    await closing;
    await assert.rejects(get(server.port, '/healthz'), /ECONNREFUSED/);
  });

  test('a client that never finishes its headers is cut off (headers timeout)', async (t) => {
    const state = createAgentState(defaultConfig(), '0.1.0');
    const server = await serve(state, { limits: { headersTimeoutMs: 200, requestTimeoutMs: 300 } });
    t.after(() => server.close());
    const socket = connect(server.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    await new Promise<void>((r) => socket.on('close', () => r()));
    assert.match(received, /^HTTP\/1\.1 408 /);
  });

  test('connections above the limit are refused, the others served', async (t) => {
    const state = createAgentState(defaultConfig(), '0.1.0');
    const log = memoryLogger();
    const server = await serve(state, { limits: { maxConnections: 2 }, log });
    t.after(() => server.close());
    const open = [connect(server.port, '127.0.0.1'), connect(server.port, '127.0.0.1')];
    await Promise.all(open.map((s) => new Promise((r) => s.on('connect', r))));
    const third = connect(server.port, '127.0.0.1');
    let data = '';
    third.on('data', (d: Buffer) => (data += d.toString()));
    third.on('error', () => undefined);
    third.on('connect', () => third.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    await new Promise<void>((r) => third.on('close', () => r()));
    assert.equal(data, '');
    assert.ok(log.lines.some((l) => l.msg === 'http connection refused: connection limit reached'));
    const first = open[0]!;
    let answer = '';
    first.on('data', (d: Buffer) => (answer += d.toString()));
    first.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise<void>((r) => first.on('close', () => r()));
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    for (const s of open) s.destroy();
  });

  test('a port in use is an error at start', async (t) => {
    const state = createAgentState(defaultConfig(), '0.1.0');
    const first = await serve(state);
    t.after(() => first.close());
    await assert.rejects(startHttpServer({ listen: `127.0.0.1:${first.port}`, state: () => state, log: silentLogger }), /EADDRINUSE/);
  });
});

describe('listen address', () => {
  test('parses ADDR:PORT forms', () => {
    assert.deepEqual(
      [':9839', '127.0.0.1:0', '[::1]:9839', '[::]:80', 'localhost:65535'].map(parseListen),
      [
        { host: '0.0.0.0', port: 9839 },
        { host: '127.0.0.1', port: 0 },
        { host: '::1', port: 9839 },
        { host: '::', port: 80 },
        { host: 'localhost', port: 65535 },
      ],
    );
  });

  test('rejects bad addresses with a clear error', () => {
    for (const bad of ['9839', ':', ':65536', 'host:port', '::1:9839', '[::1:9839', 'a b:1', ':-1']) {
      assert.throws(() => parseListen(bad), /listen address .*want ADDR:PORT/, bad);
    }
  });

  test('gzip negotiation', () => {
    assert.deepEqual(
      [undefined, '', 'gzip', 'deflate, gzip', 'gzip;q=0', 'identity', '*', 'GZIP;q=0.5', 'br, gzip;q=0.000'].map(acceptsGzip),
      [false, false, true, true, false, false, true, true, false],
    );
  });
});
