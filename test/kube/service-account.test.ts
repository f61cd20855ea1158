import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterServer, serviceAccountConnection, ServiceAccountError } from '../../agent/kube/service-account.ts';
import { createKubeClient } from '../../agent/kube/client.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';

test('inClusterServer follows the service environment', () => {
  assert.equal(inClusterServer({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }), 'https://10.96.0.1:443');
  assert.equal(inClusterServer({ KUBERNETES_SERVICE_HOST: 'fd00::1' }), 'https://[fd00::1]:443');
  assert.throws(() => inClusterServer({}), ServiceAccountError);
  assert.throws(() => inClusterServer({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: 'x' }), /not a port/);
});

test('the CA and the bearer token come from the service-account files; a rotated token is read again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'railwatch-sa-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.crt'), 'CA PEM\n');
  writeFileSync(join(dir, 'token'), 'first-token\n');
  let clock = 0;
  const conn = serviceAccountConnection({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '6443' }, dir, now: () => clock });
  assert.deepEqual(conn.getCurrentCluster(), { server: 'https://10.0.0.1:6443' });
  const o1: https.RequestOptions = {};
  await conn.applyToHTTPSOptions(o1);
  assert.equal(String(o1.ca), 'CA PEM\n');
  assert.deepEqual(o1.headers, { Authorization: 'Bearer first-token' });
  writeFileSync(join(dir, 'token'), 'second-token\n');
  const o2: https.RequestOptions = {};
  await conn.applyToHTTPSOptions(o2);
  assert.deepEqual(o2.headers, { Authorization: 'Bearer first-token' }, 'cached within a minute');
  clock = 60_000;
  const o3: https.RequestOptions = {};
  await conn.applyToHTTPSOptions(o3);
  assert.deepEqual(o3.headers, { Authorization: 'Bearer second-token' });
  rmSync(join(dir, 'ca.crt'));
  assert.throws(() => serviceAccountConnection({ env: { KUBERNETES_SERVICE_HOST: 'h' }, dir }), /ca\.crt/);
});

test('the kube client authenticates with the service-account token against the API server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'railwatch-sa-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startFakeApiServer({ nodes: ['gpu-node-1'] });
  t.after(() => server.close());
  writeFileSync(join(dir, 'token'), server.token + '\n');
  const counters = new Map<string, number>();
  const client = createKubeClient({ loadConfig: async () => serviceAccountConnection({ env: {}, dir, server: server.url }), counters });
  const res = await client.request({ verb: 'get', method: 'GET', path: '/api/v1/nodes/gpu-node-1' });
  assert.equal(res.status, 200);
  assert.equal((res.body as { metadata: { name: string } }).metadata.name, 'gpu-node-1');
  writeFileSync(join(dir, 'token'), 'wrong\n');
  await client.reload();
  const denied = await client.request({ verb: 'get', method: 'GET', path: '/api/v1/nodes/gpu-node-1' });
  assert.equal(denied.status, 401);
  assert.deepEqual([...counters.entries()].sort(), [['get\t200', 1], ['get\t401', 1]]);
});

test('a response cut in the middle of its body rejects instead of hanging', async (t) => {
  const { createServer } = await import('node:http');
  const srv = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"a":');
    setTimeout(() => res.socket?.end(), 20);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const counters = new Map<string, number>();
  const client = createKubeClient({
    counters,
    requestTimeoutMs: 30_000,
    loadConfig: async () => ({ getCurrentCluster: () => ({ server: `http://127.0.0.1:${port}` }), applyToHTTPSOptions: async () => {} }),
  });
  await assert.rejects(client.request({ verb: 'get', method: 'GET', path: '/api/v1/nodes/x' }), /aborted|cut before its end/);
  assert.deepEqual([...counters.entries()], [['get\terror', 1]]);
});
