// The reconciler against the fake API server (test/helpers/fake-apiserver.ts), asserting the exact requests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { desiredCondition } from '../../agent/kube/condition.ts';
import type { NodeEventSpec } from '../../agent/kube/events.ts';
import { createKubeSync, type KubeDesired } from '../../agent/kube/reconciler.ts';
import { memoryLogger } from '../../agent/log.ts';
import type { RecordedRequest } from '../helpers/fake-apiserver.ts';
import { report, startHarness, tick, until, vfsDisappearedEvent } from './harness.ts';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const LABELS = { 'railwatch.io/rdma': 'true', 'railwatch.io/rails': '8', 'railwatch.io/vfs': '32', 'railwatch.io/gpus': '8' };
const READY = desiredCondition(report([{ id: 'kernel-iommu', step: 1, stepLabel: '1-iommu', title: 'IOMMU', status: 'pass', finding: 'on' }]));

function writesOf(reqs: RecordedRequest[]) {
  return reqs
    .filter((r) => r.method !== 'GET')
    .map((r) => ({ method: r.method, path: r.path, contentType: r.contentType, body: r.body, status: r.status }));
}

function clock(start = T0) {
  let t = start;
  return { now: () => t, set: (v: number) => void (t = v) };
}

describe('reconciler', () => {
  it('applies labels with one merge patch and the condition with one strategic merge patch', async (t) => {
    const c = clock();
    const h = await startHarness({ now: c.now });
    t.after(() => h.close());
    h.sync.start();
    h.sync.update({ labels: LABELS, condition: READY });
    await h.sync.settled();
    assert.deepEqual(writesOf(h.server.requests), [
      {
        method: 'PATCH',
        path: '/api/v1/nodes/node-a',
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { 'railwatch.io/gpus': '8', 'railwatch.io/rails': '8', 'railwatch.io/rdma': 'true', 'railwatch.io/vfs': '32' } } },
        status: 200,
      },
      {
        method: 'PATCH',
        path: '/api/v1/nodes/node-a/status',
        contentType: 'application/strategic-merge-patch+json',
        body: {
          status: {
            conditions: [
              {
                type: 'RdmaNetworkReady',
                status: 'True',
                reason: 'AllChecksPassed',
                message: '1 setup checks pass',
                lastHeartbeatTime: '2025-06-01T12:00:00Z',
                lastTransitionTime: '2025-06-01T12:00:00Z',
              },
            ],
          },
        },
        status: 200,
      },
    ]);
    await until(() => h.server.openWatches === 1, 'the watch');
    const reads = h.server.requests.filter((r) => r.method === 'GET');
    assert.deepEqual(
      reads.map((r) => ({ path: r.path, query: { ...r.query, timeoutSeconds: r.query['timeoutSeconds'] === undefined ? undefined : 'n' } })),
      [
        { path: '/api/v1/nodes/node-a', query: { timeoutSeconds: undefined } },
        {
          path: '/api/v1/nodes',
          query: { fieldSelector: 'metadata.name=node-a', watch: 'true', resourceVersion: '2', allowWatchBookmarks: 'true', timeoutSeconds: 'n' },
        },
      ],
    );
    assert.deepEqual(h.server.labels('node-a'), { 'kubernetes.io/hostname': 'node-a', ...LABELS });
    // the kubelet's conditions are still there: the strategic merge added one by type
    assert.deepEqual(
      h.server.conditions('node-a').map((x) => x['type']),
      ['Ready', 'MemoryPressure', 'RdmaNetworkReady'],
    );
    assert.deepEqual(Object.fromEntries(h.counters), { 'get\t200': 1, 'watch\t200': 1, 'patch\t200': 2 });
  });

  it('makes 0 writes when converged: a repeated update, and a restarted agent', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    h.sync.start();
    h.sync.update({ labels: LABELS, condition: READY });
    await h.sync.settled();
    const writes = h.server.writes().length;
    assert.equal(writes, 2);
    h.sync.update({ labels: { ...LABELS }, condition: { ...READY } });
    await h.sync.settled();
    await h.sync.stop();
    const restarted = h.newSync();
    restarted.start();
    restarted.update({ labels: LABELS, condition: READY });
    await restarted.settled();
    await until(() => h.server.openWatches === 1, 'the watch of the restarted agent');
    assert.equal(h.server.writes().length, writes);
  });

  it('brings back a label that someone deletes, through the watch', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    h.sync.start();
    h.sync.update({ labels: LABELS });
    await h.sync.settled();
    await until(() => h.server.openWatches === 1, 'the watch');
    const before = h.server.requests.length;
    h.server.editNode('node-a', { metadata: { labels: { 'railwatch.io/rails': null } } });
    await until(() => h.server.labels('node-a')['railwatch.io/rails'] === '8', 'the label to come back');
    assert.deepEqual(writesOf(h.server.requests.slice(before)), [
      { method: 'PATCH', path: '/api/v1/nodes/node-a', contentType: 'application/merge-patch+json', body: { metadata: { labels: { 'railwatch.io/rails': '8' } } }, status: 200 },
    ]);
    // no GET: the watch delivered the change
    assert.deepEqual(h.server.requests.slice(before).filter((r) => r.method === 'GET'), []);
  });

  it('removes stale keys under its own prefix with null and leaves other prefixes alone', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    h.server.editNode('node-a', { metadata: { labels: { 'railwatch.io/rail-9.vfs': '4', 'railwatch.io/rails': '10', 'nvidia.com/gpu.count': '8', 'example.io/x': 'y' } } });
    h.sync.start();
    h.sync.update({ labels: LABELS });
    await h.sync.settled();
    assert.deepEqual(writesOf(h.server.requests), [
      {
        method: 'PATCH',
        path: '/api/v1/nodes/node-a',
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { 'railwatch.io/gpus': '8', 'railwatch.io/rails': '8', 'railwatch.io/rdma': 'true', 'railwatch.io/vfs': '32', 'railwatch.io/rail-9.vfs': null } } },
        status: 200,
      },
    ]);
    assert.deepEqual(h.server.labels('node-a'), { 'kubernetes.io/hostname': 'node-a', 'nvidia.com/gpu.count': '8', 'example.io/x': 'y', ...LABELS });
  });

  it('patches the condition once per change and keeps lastTransitionTime right', async (t) => {
    const c = clock();
    const h = await startHarness({ now: c.now });
    t.after(() => h.close());
    const broken = (reason: string, message: string) => ({ type: 'RdmaNetworkReady' as const, status: 'False' as const, reason, message });
    h.sync.start();
    h.sync.update({ labels: {}, condition: READY });
    await h.sync.settled();
    c.set(T0 + 10_000);
    h.sync.update({ labels: {}, condition: READY });
    await h.sync.settled();
    c.set(T0 + 20_000);
    h.sync.update({ labels: {}, condition: broken('VfNetdevsVisible', '1 missing') });
    await h.sync.settled();
    c.set(T0 + 30_000);
    h.sync.update({ labels: {}, condition: broken('RailCount', '7 of 8') });
    await h.sync.settled();
    const statusWrites = h.server.writes().filter((r) => r.path.endsWith('/status'));
    assert.equal(statusWrites.length, 3);
    const mine = h.server.conditions('node-a').find((x) => x['type'] === 'RdmaNetworkReady');
    assert.deepEqual(mine, {
      type: 'RdmaNetworkReady',
      status: 'False',
      reason: 'RailCount',
      message: '7 of 8',
      lastHeartbeatTime: '2025-06-01T12:00:30Z',
      lastTransitionTime: '2025-06-01T12:00:20Z',
    });
    assert.deepEqual(h.server.conditions('node-a')[0]?.['type'], 'Ready');
  });

  it('refreshes the unchanged condition\'s heartbeat every period, keeping its transition time', async (t) => {
    const h = await startHarness({ heartbeatMs: 1500 });
    t.after(() => h.close());
    h.sync.start();
    h.sync.update({ labels: {}, condition: READY });
    await h.sync.settled();
    const first = h.server.conditions('node-a').find((x) => x['type'] === 'RdmaNetworkReady')!;
    const statusWrites = () => h.server.writes().filter((r) => r.path.endsWith('/status'));
    await until(() => statusWrites().length >= 2, 'a heartbeat write');
    const second = h.server.conditions('node-a').find((x) => x['type'] === 'RdmaNetworkReady')!;
    assert.notEqual(second['lastHeartbeatTime'], first['lastHeartbeatTime']);
    assert.deepEqual({ ...second, lastHeartbeatTime: first['lastHeartbeatTime'] }, first);
    assert.ok(Date.parse(String(second['lastHeartbeatTime'])) - Date.parse(String(first['lastHeartbeatTime'])) >= 1000);
  });

  it('creates an event once, then updates its series instead of re-creating it', async (t) => {
    const c = clock();
    const h = await startHarness({ now: c.now });
    t.after(() => h.close());
    const spec: NodeEventSpec = { reason: 'VFsDisappeared', type: 'Warning', subject: 'pf/0000:1b:00.0', action: 'Scan', note: 'PF 0000:1b:00.0: 2 VFs disappeared' };
    h.sync.start();
    h.sync.update({ labels: {}, events: [spec] });
    await h.sync.settled();
    c.set(T0 + 5_000);
    h.sync.update({ labels: {}, events: [spec] });
    await h.sync.settled();
    const w = writesOf(h.server.requests);
    assert.equal(w.length, 2);
    const created = w[0]!;
    const name = (created.body as { metadata: { name: string } }).metadata.name;
    assert.deepEqual(created, {
      method: 'POST',
      path: '/apis/events.k8s.io/v1/namespaces/default/events',
      contentType: 'application/json',
      status: 201,
      body: vfsDisappearedEvent(name, 'PF 0000:1b:00.0: 2 VFs disappeared', (h.server.node('node-a')['metadata'] as { uid: string }).uid),
    });
    assert.match(name, /^node-a\.[0-9a-f]+$/);
    assert.deepEqual(w[1], {
      method: 'PATCH',
      path: `/apis/events.k8s.io/v1/namespaces/default/events/${name}`,
      contentType: 'application/merge-patch+json',
      status: 200,
      body: { series: { count: 2, lastObservedTime: '2025-06-01T12:00:05.000000Z' } },
    });
    assert.equal(h.server.events.size, 1);
    assert.deepEqual(h.server.events.get(`default/${name}`)?.['series'], { count: 2, lastObservedTime: '2025-06-01T12:00:05.000000Z' });
  });

  it('rate limits a flapping source, folding the occurrences into the series count', async (t) => {
    const c = clock();
    const h = await startHarness({ now: c.now, eventRate: { burst: 2, refillMs: 60_000 } });
    t.after(() => h.close());
    const spec: NodeEventSpec = { reason: 'VFsDisappeared', type: 'Warning', subject: 'pf/p', action: 'Scan', note: 'flap' };
    const other: NodeEventSpec = { reason: 'DriftDetected', type: 'Warning', subject: 'check/x', action: 'Check', note: 'x' };
    h.sync.start();
    for (let i = 0; i < 6; i++) {
      c.set(T0 + i * 1000);
      h.sync.update({ labels: {}, events: [spec] });
      await until(() => h.server.writes().length >= Math.min(i + 1, 2), 'event writes');
      await tick(20);
    }
    // a different source has its own bucket
    h.sync.update({ labels: {}, events: [other] });
    await until(() => h.server.writes().length === 3, 'the other event');
    await tick(50);
    assert.deepEqual(
      h.server.writes().map((r) => `${r.method} ${(r.body as { reason?: string }).reason ?? JSON.stringify((r.body as { series?: unknown }).series)}`),
      ['POST VFsDisappeared', 'PATCH {"count":2,"lastObservedTime":"2025-06-01T12:00:01.000000Z"}', 'POST DriftDetected'],
    );
    // a token later, one write carries all six occurrences
    c.set(T0 + 61_000);
    h.sync.update({ labels: {} });
    await until(() => h.server.writes().length === 4, 'the held-back series update');
    assert.deepEqual(h.server.writes()[3]?.body, { series: { count: 6, lastObservedTime: '2025-06-01T12:00:05.000000Z' } });
  });

  it('re-creates an event that expired on the server', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    const spec: NodeEventSpec = { reason: 'RailCountChanged', type: 'Warning', subject: 'rails', action: 'Scan', note: 'rails 8 -> 7' };
    h.sync.start();
    h.sync.update({ labels: {}, events: [spec] });
    await h.sync.settled();
    h.server.events.clear();
    h.sync.update({ labels: {}, events: [spec] });
    await h.sync.settled();
    assert.deepEqual(
      h.server.writes().map((r) => `${r.method} ${r.status}`),
      ['POST 201', 'PATCH 404', 'POST 201'],
    );
    const events = [...h.server.events.values()];
    assert.equal(events.length, 1);
    assert.equal((events[0]?.['series'] as { count: number }).count, 2);
  });
});

describe('standalone', () => {
  it('logs what it would have written, once per change', async () => {
    const log = memoryLogger();
    const sync = createKubeSync({ nodeName: 'n1', labelPrefix: 'railwatch.io/', counters: new Map(), log, mode: { kind: 'standalone', why: '--no-kube' }, now: () => T0 });
    sync.start();
    const d: KubeDesired = { labels: { 'railwatch.io/rails': '2' }, condition: READY, events: [{ reason: 'RailCountChanged', type: 'Normal', subject: 'rails', action: 'Scan', note: 'rails 1 -> 2' }] };
    sync.update(d);
    sync.update({ labels: d.labels, condition: READY });
    sync.update({ labels: {}, condition: READY });
    await sync.stop();
    assert.deepEqual(log.lines, [
      { level: 'info', msg: 'kubernetes: running standalone, logging what would be written', meta: { node: 'n1', why: '--no-kube' } },
      { level: 'info', msg: 'standalone: would patch node labels', meta: { node: 'n1', contentType: 'application/merge-patch+json', patch: { metadata: { labels: { 'railwatch.io/rails': '2' } } } } },
      {
        level: 'info',
        msg: 'standalone: would patch node status',
        meta: {
          node: 'n1',
          contentType: 'application/strategic-merge-patch+json',
          patch: { status: { conditions: [{ ...READY, lastHeartbeatTime: '2025-06-01T12:00:00Z', lastTransitionTime: '2025-06-01T12:00:00Z' }] } },
        },
      },
      { level: 'info', msg: 'standalone: would record event', meta: { node: 'n1', reason: 'RailCountChanged', type: 'Normal', note: 'rails 1 -> 2' } },
      { level: 'info', msg: 'standalone: would patch node labels', meta: { node: 'n1', contentType: 'application/merge-patch+json', patch: { metadata: { labels: { 'railwatch.io/rails': null } } } } },
    ]);
  });
});
