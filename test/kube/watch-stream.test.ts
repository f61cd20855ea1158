// One request and the watch stream on their own, against a plain local HTTP server: what each resolves or
// rejects with for the answers an API server (or a proxy in front of it) can give.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { requestOnce } from '../../agent/kube/request.ts';
import { KubeNetworkError, type RequestTarget } from '../../agent/kube/transport.ts';
import { watchStream, type WatchStreamOptions } from '../../agent/kube/watch-stream.ts';

async function serve(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<RequestTarget> {
  const srv = createServer(handler);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    srv.closeAllConnections();
    srv.close();
  });
  const port = (srv.address() as { port: number }).port;
  return { url: new URL(`http://127.0.0.1:${port}/api/v1/nodes`), options: { headers: { Authorization: 'Bearer t' } } };
}

function watchOpts(objects: unknown[], statuses: number[], more: Partial<WatchStreamOptions> = {}): WatchStreamOptions {
  return {
    signal: undefined,
    idleTimeoutMs: 5_000,
    maxLineBytes: 1024,
    onObject: (o) => objects.push(o),
    onResponse: (s) => statuses.push(s),
    ...more,
  };
}

describe('requestOnce', () => {
  it('sends the headers and body, parses a JSON answer and reads Retry-After', async (t) => {
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const target = await serve(t, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen = { method: req.method, headers: req.headers, body };
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
        res.end('{"message":"slow down"}');
      });
    });
    const res = await requestOnce(target, { method: 'PATCH', body: '{"a":1}', contentType: 'application/merge-patch+json', signal: undefined }, { timeoutMs: 5_000, maxBodyBytes: 1024 });
    assert.deepEqual(res, { status: 429, body: { message: 'slow down' }, retryAfterMs: 7000 });
    assert.equal(seen.method, 'PATCH');
    assert.equal(seen.body, '{"a":1}');
    assert.equal(seen.headers?.['content-type'], 'application/merge-patch+json');
    assert.equal(seen.headers?.['content-length'], '7');
    assert.equal(seen.headers?.['accept'], 'application/json');
    assert.equal(seen.headers?.['authorization'], 'Bearer t');
  });

  it('keeps a body that is not JSON as text', async (t) => {
    const target = await serve(t, (_req, res) => res.writeHead(502).end('<html>bad gateway</html>'));
    const res = await requestOnce(target, { method: 'GET', body: undefined, contentType: undefined, signal: undefined }, { timeoutMs: 5_000, maxBodyBytes: 1024 });
    assert.deepEqual(res, { status: 502, body: '<html>bad gateway</html>' });
  });

  it('rejects a body over the cap, and a server that does not answer in time', async (t) => {
    const big = await serve(t, (_req, res) => {
      res.writeHead(200);
      res.write('x'.repeat(4096));
    });
    await assert.rejects(
      requestOnce(big, { method: 'GET', body: undefined, contentType: undefined, signal: undefined }, { timeoutMs: 5_000, maxBodyBytes: 1024 }),
      (err: unknown) => err instanceof KubeNetworkError && err.message === 'response over 1024 bytes',
    );
    // the whole over-cap answer already in (ended, with Content-Length, several writes, on a keep-alive socket):
    // the request rejects, nothing else errors, and the process goes on
    const whole = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(4 * 1024) });
      for (let i = 0; i < 4; i++) res.write('x'.repeat(1024));
      res.end();
    });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    t.after(() => process.off('uncaughtException', onUncaught));
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        requestOnce(whole, { method: 'GET', body: undefined, contentType: undefined, signal: undefined }, { timeoutMs: 5_000, maxBodyBytes: 1024 }),
        (err: unknown) => err instanceof KubeNetworkError && err.message === 'response over 1024 bytes',
      );
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(uncaught, []);
    const silent = await serve(t, () => {});
    await assert.rejects(
      requestOnce(silent, { method: 'GET', body: undefined, contentType: undefined, signal: undefined }, { timeoutMs: 100, maxBodyBytes: 1024 }),
      (err: unknown) => err instanceof KubeNetworkError && err.message === 'timeout after 100 ms',
    );
  });
});

describe('watchStream', () => {
  it('hands each line to onObject as it completes, across chunk boundaries, and resolves 200 on a clean end', async (t) => {
    const target = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","n":1}\n{"type":"MOD');
      setTimeout(() => {
        res.write('IFIED","n":2}\n\n');
        res.end('{"type":"BOOKMARK","n":3}\n');
      }, 20);
    });
    const objects: unknown[] = [];
    const statuses: number[] = [];
    const res = await watchStream(target, watchOpts(objects, statuses));
    assert.deepEqual(res, { status: 200, body: undefined });
    assert.deepEqual(objects, [{ type: 'ADDED', n: 1 }, { type: 'MODIFIED', n: 2 }, { type: 'BOOKMARK', n: 3 }]);
    assert.deepEqual(statuses, [200]);
  });

  it('returns a non-200 answer with its text and Retry-After, without reading objects from it', async (t) => {
    const target = await serve(t, (_req, res) => res.writeHead(410, { 'retry-after': '2' }).end('{"kind":"Status","code":410}\n'));
    const objects: unknown[] = [];
    const statuses: number[] = [];
    const res = await watchStream(target, watchOpts(objects, statuses));
    assert.deepEqual(res, { status: 410, body: '{"kind":"Status","code":410}\n', retryAfterMs: 2000 });
    assert.deepEqual(objects, []);
    assert.deepEqual(statuses, [410]);
  });

  it('rejects a line that is not JSON, a line over the cap, and a stream that goes idle', async (t) => {
    const bad = await serve(t, (_req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED"}\nnot json\n');
    });
    const objects: unknown[] = [];
    await assert.rejects(watchStream(bad, watchOpts(objects, [])), /watch stream: invalid JSON line/);
    assert.deepEqual(objects, [{ type: 'ADDED' }]);
    const long = await serve(t, (_req, res) => {
      res.writeHead(200);
      res.write('{"x":"' + 'y'.repeat(2048));
    });
    await assert.rejects(watchStream(long, watchOpts([], [])), /watch line over 1024 bytes/);
    const idle = await serve(t, (_req, res) => {
      res.writeHead(200);
      res.write('{"type":"BOOKMARK"}\n');
    });
    const started = Date.now();
    await assert.rejects(watchStream(idle, watchOpts([], [], { idleTimeoutMs: 150 })), (err: unknown) => err instanceof KubeNetworkError && /watch idle for 150 ms/.test(err.message));
    assert.ok(Date.now() - started >= 140, 'the idle timer counts from the last data');
  });

  it('the cap is per line: a chunk of many short lines longer than the cap is read whole; a complete long line is refused', async (t) => {
    const many = Array.from({ length: 100 }, (_, n) => JSON.stringify({ type: 'MODIFIED', n }) + '\n').join('');
    assert.ok(many.length > 2 * 1024);
    const target = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-length': String(many.length) });
      res.end(many);
    });
    const objects: unknown[] = [];
    assert.deepEqual(await watchStream(target, watchOpts(objects, [])), { status: 200, body: undefined });
    assert.equal(objects.length, 100);
    const whole = await serve(t, (_req, res) => {
      const body = '{"type":"ADDED"}\n{"x":"' + 'y'.repeat(2048) + '"}\n';
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    await assert.rejects(watchStream(whole, watchOpts([], [])), /watch line over 1024 bytes/);
  });

  it('a refused line in a stream that ended in the same chunk rejects, and nothing else errors', async (t) => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    t.after(() => process.off('uncaughtException', onUncaught));
    const body = '{"type":"ADDED"}\nnot json\n';
    const target = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    for (let i = 0; i < 3; i++) await assert.rejects(watchStream(target, watchOpts([], [])), /watch stream: invalid JSON line/);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(uncaught, []);
  });

  it('rejects a stream the server cuts', async (t) => {
    const target = await serve(t, (_req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED"}\n');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await assert.rejects(watchStream(target, watchOpts([], [])), (err: unknown) => err instanceof KubeNetworkError);
  });
});
