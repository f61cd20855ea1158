// The event writer on its own, against a fake client that records requests and answers what the test says:
// series within and past the window, the per-series rate limit, an expired Event, rejected and failed writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeRequest, KubeResponse } from '../../agent/kube/client.ts';
import { NodeEventWriter, type EventWriterOptions } from '../../agent/kube/event-writer.ts';
import type { NodeEventSpec } from '../../agent/kube/events.ts';
import { KubeStatusError } from '../../agent/kube/retry.ts';
import { memoryLogger } from '../../agent/log.ts';
import { vfsDisappearedEvent } from './harness.ts';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const NODE = { name: 'node-a', uid: 'uid-a' };
const FLAP: NodeEventSpec = { reason: 'VFsDisappeared', type: 'Warning', subject: 'pf/0000:1b:00.0', action: 'Scan', note: '2 VFs disappeared' };
const DRIFT: NodeEventSpec = { reason: 'DriftDetected', type: 'Warning', subject: 'check/x', action: 'Check', note: 'x failed' };

function setup(more: Partial<EventWriterOptions> = {}) {
  let t = T0;
  const requests: KubeRequest[] = [];
  /** Answers for the next requests, in order; a 2xx when none is queued. */
  const answers: KubeResponse[] = [];
  const log = memoryLogger();
  const writer = new NodeEventWriter({
    client: {
      async request(req) {
        requests.push(req);
        return answers.shift() ?? { status: req.method === 'POST' ? 201 : 200, body: {} };
      },
    },
    nodeName: NODE.name,
    log,
    now: () => t,
    signal: new AbortController().signal,
    rate: { burst: 5, refillMs: 60_000 },
    seriesWindowMs: 30 * 60_000,
    ...more,
  });
  const summary = () => requests.map((r) => `${r.method} ${r.path.replace('/apis/events.k8s.io/v1/namespaces/', '')}`);
  return { writer, requests, answers, log, summary, at: (ms: number) => void (t = T0 + ms) };
}

describe('NodeEventWriter', () => {
  it('creates an Event for a new series, then merge-patches its series count; nothing when nothing is new', async () => {
    const s = setup();
    s.writer.record([FLAP]);
    assert.equal(await s.writer.flush(NODE), undefined);
    const created = s.requests[0]!;
    const name = (created.body as { metadata: { name: string } }).metadata.name;
    assert.match(name, /^node-a\.[0-9a-f]+$/);
    assert.deepEqual({ ...created, signal: undefined }, {
      verb: 'create',
      method: 'POST',
      path: '/apis/events.k8s.io/v1/namespaces/default/events',
      contentType: 'application/json',
      signal: undefined,
      body: vfsDisappearedEvent(name, '2 VFs disappeared', 'uid-a'),
    });
    await s.writer.flush(NODE);
    assert.equal(s.requests.length, 1, 'a flush with nothing new writes nothing');
    s.at(5_000);
    s.writer.record([FLAP]);
    await s.writer.flush(NODE);
    assert.deepEqual({ ...s.requests[1]!, signal: undefined }, {
      verb: 'patch',
      method: 'PATCH',
      path: `/apis/events.k8s.io/v1/namespaces/default/events/${name}`,
      contentType: 'application/merge-patch+json',
      signal: undefined,
      body: { series: { count: 2, lastObservedTime: '2025-06-01T12:00:05.000000Z' } },
    });
    assert.deepEqual(s.log.lines.map((l) => l.msg), ['event recorded']);
  });

  it('occurrences between two flushes are one write carrying the count', async () => {
    const s = setup();
    s.writer.record([FLAP]);
    s.at(1_000);
    s.writer.record([FLAP]);
    s.at(2_000);
    s.writer.record([FLAP]);
    await s.writer.flush(NODE);
    assert.equal(s.requests.length, 1);
    const body = s.requests[0]!.body as { eventTime: string; series?: unknown };
    assert.equal(body.eventTime, '2025-06-01T12:00:00.000000Z');
    assert.deepEqual(body.series, { count: 3, lastObservedTime: '2025-06-01T12:00:02.000000Z' });
  });

  it('rate limits each series with its own bucket and says how long the held-back one waits', async () => {
    const s = setup({ rate: { burst: 2, refillMs: 60_000 } });
    for (let i = 0; i < 3; i++) {
      s.at(i * 1000);
      s.writer.record([FLAP]);
      const wait = await s.writer.flush(NODE);
      // two tokens spent; 2 s of refill is 1/30 of the next one, the rest takes 58 s (rounded up)
      if (i < 2) assert.equal(wait, undefined, `wait after flush ${i}`);
      else assert.ok(wait !== undefined && Math.abs(wait - 58_000) <= 1, `wait after flush ${i}: ${wait}`);
    }
    assert.deepEqual(s.summary(), ['POST default/events', expectPatch(s)]);
    // another source is not held back by the first one's bucket; the held-back one still waits
    s.writer.record([DRIFT]);
    const wait = await s.writer.flush(NODE);
    assert.ok(wait !== undefined && Math.abs(wait - 58_000) <= 1, `wait: ${wait}`);
    assert.equal(s.requests.length, 3);
    assert.equal((s.requests[2]!.body as { reason: string }).reason, 'DriftDetected');
    // a token later: the held-back occurrence goes out, counted
    s.at(61_000);
    assert.equal(await s.writer.flush(NODE), undefined);
    assert.equal(s.requests.length, 4);
    assert.deepEqual(s.requests[3]!.body, { series: { count: 3, lastObservedTime: '2025-06-01T12:00:02.000000Z' } });
  });

  it('a recurrence after the series window starts a new Event', async () => {
    const s = setup({ seriesWindowMs: 10_000 });
    s.writer.record([FLAP]);
    await s.writer.flush(NODE);
    s.at(10_001);
    s.writer.record([FLAP]);
    await s.writer.flush(NODE);
    assert.deepEqual(s.requests.map((r) => r.method), ['POST', 'POST']);
    const names = s.requests.map((r) => (r.body as { metadata: { name: string } }).metadata.name);
    assert.notEqual(names[0], names[1]);
    assert.equal((s.requests[1]!.body as { series?: unknown }).series, undefined);
  });

  it('forgets a quiet series past the window together with its bucket', async () => {
    const s = setup({ seriesWindowMs: 10_000, rate: { burst: 1, refillMs: 3_600_000 } });
    s.writer.record([FLAP]);
    await s.writer.flush(NODE);
    // still within the window: the empty bucket holds the recurrence back
    s.at(5_000);
    s.writer.record([FLAP]);
    assert.ok((await s.writer.flush(NODE))! > 0);
    assert.equal(s.requests.length, 1);
    // a fresh writer whose series went quiet: a flush past the window forgets series and bucket
    const q = setup({ seriesWindowMs: 10_000, rate: { burst: 1, refillMs: 3_600_000 } });
    q.writer.record([FLAP]);
    await q.writer.flush(NODE);
    q.at(10_001);
    await q.writer.flush(NODE);
    q.writer.record([FLAP]);
    assert.equal(await q.writer.flush(NODE), undefined);
    assert.deepEqual(q.requests.map((r) => r.method), ['POST', 'POST']);
  });

  it('re-creates an Event that expired on the server, with the series so far', async () => {
    const s = setup();
    s.writer.record([FLAP]);
    await s.writer.flush(NODE);
    s.at(1_000);
    s.writer.record([FLAP]);
    s.answers.push({ status: 404, body: {} });
    await s.writer.flush(NODE);
    assert.deepEqual(s.requests.map((r) => r.method), ['POST', 'PATCH', 'POST']);
    const again = s.requests[2]!.body as { metadata: { name: string }; series?: unknown };
    assert.deepEqual(again.series, { count: 2, lastObservedTime: '2025-06-01T12:00:01.000000Z' });
    assert.notEqual(again.metadata.name, (s.requests[0]!.body as { metadata: { name: string } }).metadata.name);
  });

  it('drops an Event the API server rejects, with a log line, and does not write it again', async () => {
    const s = setup();
    s.answers.push({ status: 422, body: { message: 'note: Too long' } });
    s.writer.record([FLAP]);
    assert.equal(await s.writer.flush(NODE), undefined);
    await s.writer.flush(NODE);
    assert.equal(s.requests.length, 1);
    assert.deepEqual(s.log.lines, [
      { level: 'error', msg: 'event rejected by the API server; dropped', meta: { node: 'node-a', reason: 'VFsDisappeared', status: 422, body: { message: 'note: Too long' } } },
    ]);
  });

  it('throws on any other failure and writes the series on the next flush', async () => {
    const s = setup();
    s.answers.push({ status: 503, body: {}, retryAfterMs: 2000 });
    s.writer.record([FLAP]);
    await assert.rejects(s.writer.flush(NODE), (err: unknown) => err instanceof KubeStatusError && err.status === 503 && err.retryAfterMs === 2000);
    await s.writer.flush(NODE);
    assert.deepEqual(s.requests.map((r) => `${r.method}`), ['POST', 'POST']);
    assert.deepEqual(s.log.lines.map((l) => l.msg), ['event recorded']);
  });

  it('writes a Pod event in the Pod\'s namespace, regarding the Pod, named after it', async () => {
    const s = setup();
    const pod = { namespace: 'team-a', name: 'trainer-0', uid: 'pod-uid' };
    s.writer.record([{ reason: 'RailMisaligned', type: 'Warning', subject: 'pod/team-a/trainer-0', action: 'Attach', note: 'misaligned', pod }]);
    await s.writer.flush(NODE);
    const req = s.requests[0]!;
    assert.equal(req.path, '/apis/events.k8s.io/v1/namespaces/team-a/events');
    const body = req.body as { metadata: { name: string; namespace: string }; regarding: unknown; reportingInstance: string };
    assert.match(body.metadata.name, /^trainer-0\./);
    assert.equal(body.metadata.namespace, 'team-a');
    assert.deepEqual(body.regarding, { apiVersion: 'v1', kind: 'Pod', namespace: 'team-a', name: 'trainer-0', uid: 'pod-uid' });
    assert.equal(body.reportingInstance, 'node-a');
    assert.deepEqual(s.log.lines[0]?.meta, { node: 'node-a', pod: 'team-a/trainer-0', reason: 'RailMisaligned', type: 'Warning', note: 'misaligned' });
  });
});

function expectPatch(s: ReturnType<typeof setup>): string {
  const name = (s.requests[0]!.body as { metadata: { name: string } }).metadata.name;
  return `PATCH default/events/${name}`;
}
