// Kubernetes API faults: 5xx and 429 storms, 409, a rotated token, cut watches, 410 Gone, an API server that is
// down or slow. The reconciler must back off (proven by counting requests), count every response, and converge
// once the API server is healthy again.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { backoffDelay, createKubeSync } from '../../agent/kube/reconciler.ts';
import { memoryLogger } from '../../agent/log.ts';
import { kubeConfigForServer, startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { PREFIX, startHarness, tick, until } from './harness.ts';

const LABELS = { 'railwatch.io/rails': '8', 'railwatch.io/rdma': 'true' };

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with jitter in [cap/2, cap)', () => {
    const o = { initialMs: 500, maxMs: 10_000 };
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map((a) => backoffDelay(a, o, () => 0)), [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    assert.deepEqual([0, 1, 5].map((a) => backoffDelay(a, o, () => 0.5)), [375, 750, 7500]);
  });

  it('honours a longer Retry-After, capped at five minutes', () => {
    const o = { initialMs: 500, maxMs: 10_000 };
    assert.equal(backoffDelay(0, o, () => 0, 3000), 3000);
    assert.equal(backoffDelay(5, o, () => 0, 1000), 5000);
    assert.equal(backoffDelay(0, o, () => 0, 3_600_000), 300_000);
  });
});

describe('faults', () => {
  it('backs off through a 500 storm instead of hammering, then converges', async (t) => {
    const h = await startHarness({ backoff: { initialMs: 20, maxMs: 200 } });
    t.after(() => h.close());
    h.server.inject({ status: 500, count: 1_000_000, method: 'PATCH' });
    h.sync.start();
    h.sync.update({ labels: LABELS });
    await until(() => h.server.writes().length >= 3, 'retries');
    const first = h.server.writes()[0]!.at;
    await tick(1000);
    const attempts = h.server.writes().filter((r) => r.at <= first + 1000).length;
    // with backoff 15, 30, 60, 120, 150, 150 ms... about 9 attempts in a second; without it, hundreds
    assert.ok(attempts >= 3 && attempts <= 15, `attempts in the first second: ${attempts}`);
    assert.equal(h.counters.get('patch\t500'), h.server.writes().length);
    h.server.clearFaults();
    await h.sync.settled();
    assert.deepEqual(h.server.labels('node-a'), { 'kubernetes.io/hostname': 'node-a', ...LABELS });
    assert.equal(h.counters.get('patch\t200'), 1);
  });

  it('waits for Retry-After on a 429', async (t) => {
    const h = await startHarness({ backoff: { initialMs: 20, maxMs: 200 } });
    t.after(() => h.close());
    h.server.inject({ status: 429, count: 1, method: 'PATCH', retryAfterSeconds: 1 });
    h.sync.start();
    h.sync.update({ labels: LABELS });
    await h.sync.settled();
    const patches = h.server.writes();
    assert.deepEqual(patches.map((r) => r.status), [429, 200]);
    assert.ok(patches[1]!.at - patches[0]!.at >= 950, `retried after ${patches[1]!.at - patches[0]!.at} ms`);
    assert.equal(h.counters.get('patch\t429'), 1);
  });

  it('re-reads the Node after a 409 conflict', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    h.server.inject({ status: 409, count: 1, method: 'PATCH' });
    h.sync.start();
    h.sync.update({ labels: LABELS });
    await h.sync.settled();
    const seq = h.server.requests.filter((r) => !(r.query['watch'] === 'true')).map((r) => `${r.method} ${r.path} ${r.status}`);
    assert.deepEqual(seq, ['GET /api/v1/nodes/node-a 200', 'PATCH /api/v1/nodes/node-a 409', 'GET /api/v1/nodes/node-a 200', 'PATCH /api/v1/nodes/node-a 200']);
  });

  it('reloads a rotated service-account token after a 401', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    h.sync.start();
    h.sync.update({ labels: LABELS });
    await h.sync.settled();
    // the token rotates: the API server accepts only the new one, the kubelet writes the new file
    h.server.token = 'token-2';
    writeFileSync(h.tokenFile, 'token-2');
    const before = h.server.requests.length;
    h.sync.update({ labels: { ...LABELS, 'railwatch.io/rails': '7' } });
    await until(() => h.server.labels('node-a')['railwatch.io/rails'] === '7', 'the patch with the new token');
    const writes = h.server.requests.slice(before).filter((r) => r.method === 'PATCH');
    assert.deepEqual(writes.map((r) => [r.status, r.authorization]), [
      [401, 'Bearer token-1'],
      [200, 'Bearer token-2'],
    ]);
    assert.equal(h.counters.get('patch\t401'), 1);
  });

  it('re-watches from the last resourceVersion after a cut watch, and still notices edits', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    h.sync.start();
    h.sync.update({ labels: LABELS });
    await h.sync.settled();
    await until(() => h.server.openWatches === 1, 'the watch');
    const rv = String(h.server.resourceVersion);
    const before = h.server.requests.length;
    h.server.cutWatches();
    await until(() => h.server.openWatches === 1, 'the watch to come back');
    const after = h.server.requests.slice(before);
    assert.deepEqual(after.map((r) => [r.method, r.path, r.query['resourceVersion']]), [['GET', '/api/v1/nodes', rv]]);
    h.server.editNode('node-a', { metadata: { labels: { 'railwatch.io/rdma': null } } });
    await until(() => h.server.labels('node-a')['railwatch.io/rdma'] === 'true', 'the label to come back');
  });

  it('re-reads the Node on 410 Gone and catches up with what changed in the gap', async (t) => {
    const h = await startHarness({ backoff: { initialMs: 100, maxMs: 200 } });
    t.after(() => h.close());
    h.sync.start();
    h.sync.update({ labels: LABELS });
    await h.sync.settled();
    await until(() => h.server.openWatches === 1, 'the watch');
    const before = h.server.requests.length;
    // the watch breaks, the label goes while nobody watches, and the history is compacted
    h.server.cutWatches();
    h.server.editNode('node-a', { metadata: { labels: { 'railwatch.io/rails': null } } });
    h.server.compact();
    await until(() => h.server.labels('node-a')['railwatch.io/rails'] === '8', 'the label to come back');
    await until(() => h.server.openWatches === 1, 'the watch');
    const seq = h.server.requests.slice(before).map((r) => `${r.method} ${r.path}${r.query['watch'] ? ' watch' : ''}`);
    assert.deepEqual(seq, ['GET /api/v1/nodes watch', 'GET /api/v1/nodes/node-a', 'PATCH /api/v1/nodes/node-a', 'GET /api/v1/nodes watch']);
  });

  it('keeps trying while the API server is down or slow, counts errors, converges when it is back', async (t) => {
    const probe = await startFakeApiServer();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const counters = new Map<string, number>();
    const log = memoryLogger();
    const h = await startHarness(); // for its token file
    t.after(() => h.close());
    const sync = createKubeSync({
      nodeName: 'node-b',
      labelPrefix: PREFIX,
      counters,
      log,
      mode: { kind: 'in-cluster' },
      loadConfig: () => kubeConfigForServer(`http://127.0.0.1:${port}`, h.tokenFile),
      backoff: { initialMs: 20, maxMs: 100 },
      requestTimeoutMs: 200,
    });
    t.after(() => sync.stop());
    sync.start();
    sync.update({ labels: LABELS });
    await until(() => (counters.get('get\terror') ?? 0) >= 3, 'failed reads');
    assert.ok(log.lines.some((l) => l.msg === 'kubernetes request failed; backing off'));
    // back, but slow: requests time out (counted as errors)
    const server = await startFakeApiServer({ nodes: ['node-b'], token: h.server.token }, port);
    t.after(() => server.close());
    server.delayMs = 400;
    const errors = counters.get('get\terror') ?? 0;
    await until(() => (counters.get('get\terror') ?? 0) >= errors + 2, 'timed-out reads');
    server.delayMs = 0;
    await sync.settled();
    assert.deepEqual(server.labels('node-b'), { 'kubernetes.io/hostname': 'node-b', ...LABELS });
    assert.equal(counters.get('patch\t200'), 1);
  });
});
