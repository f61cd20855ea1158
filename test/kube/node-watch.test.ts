// The Node watcher on its own, against a fake client with scripted watch streams: which reads and watches it
// makes, what it keeps as the observed Node, and what it reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeRequest, KubeResponse, WatchRequest } from '../../agent/kube/client.ts';
import { NodeWatcher, olderThan, readNode } from '../../agent/kube/node-watch.ts';
import { KubeStatusError } from '../../agent/kube/retry.ts';

function node(rv: string, labels: Record<string, string> = {}) {
  return { metadata: { name: 'node-a', uid: 'uid-a', resourceVersion: rv, labels }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
}

/** One scripted watch stream: the events it delivers, then how it ends. */
type Stream = { events: unknown[]; end?: KubeResponse };

/** The watcher's clock, jitter, backoff and watch timeouts in every test: fixed, with millisecond backoffs. */
const TIMING = { now: Date.now, random: () => 0.5, backoff: { initialMs: 1, maxMs: 2 }, watchTimeoutSeconds: { min: 300, max: 600 } };

function setup(streams: Stream[], getRvs: string[]) {
  const ctl = new AbortController();
  const log: string[] = [];
  const failures: { where: string; status: number | undefined }[] = [];
  let changes = 0;
  let gets = 0;
  let finished!: () => void;
  /** Resolves once every scripted stream has been served and the watcher waits on the next one. */
  const done = new Promise<void>((resolve) => (finished = resolve));
  const client = {
    async request(req: KubeRequest): Promise<KubeResponse> {
      log.push(`${req.method} ${req.path}`);
      const rv = getRvs[Math.min(gets++, getRvs.length - 1)]!;
      return { status: 200, body: node(rv) };
    },
    async watch(req: WatchRequest): Promise<KubeResponse> {
      const q = new URL(req.path, 'http://x').searchParams;
      log.push(`WATCH rv=${q.get('resourceVersion')}`);
      const s = streams.shift();
      if (s === undefined) {
        finished();
        await new Promise<void>((resolve) => ctl.signal.addEventListener('abort', () => resolve(), { once: true }));
        return { status: 200, body: undefined };
      }
      for (const e of s.events) req.onObject(e);
      return s.end ?? { status: 200, body: undefined };
    },
  };
  const watcher = new NodeWatcher({
    client,
    nodeName: 'node-a',
    signal: ctl.signal,
    ...TIMING,
    onChange: () => void changes++,
    onFailure: async (err) => {
      failures.push({ where: 'watch', status: err instanceof KubeStatusError ? err.status : undefined });
      return undefined;
    },
  });
  return {
    watcher,
    log,
    failures,
    changes: () => changes,
    /** Runs the watcher until the scripted streams are used up, then stops it. */
    async runScript(): Promise<void> {
      const run = watcher.run();
      await done;
      ctl.abort();
      await run;
    },
  };
}

describe('readNode and olderThan', () => {
  it('reads uid, resourceVersion, string labels and typed conditions; nothing from what is not a Node', () => {
    assert.deepEqual(readNode({ metadata: { uid: 'u', resourceVersion: '7', labels: { a: 'b', n: 1 } }, status: { conditions: [{ type: 'Ready' }, { x: 1 }] } }), {
      uid: 'u',
      resourceVersion: '7',
      labels: { a: 'b' },
      conditions: [{ type: 'Ready' }],
    });
    assert.equal(readNode({ metadata: { uid: 'u' } }), undefined);
    assert.equal(readNode('Node'), undefined);
  });

  it('compares numeric resourceVersions only', () => {
    assert.equal(olderThan('9', '10'), true);
    assert.equal(olderThan('10', '9'), false);
    assert.equal(olderThan('a', 'b'), false);
  });
});

describe('NodeWatcher', () => {
  it('reads the Node, watches from its resourceVersion, and follows changes and bookmarks', async () => {
    const s = setup(
      [
        { events: [{ type: 'MODIFIED', object: node('12', { x: 'y' }) }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } }] },
        { events: [{ type: 'MODIFIED', object: node('16') }] },
      ],
      ['10'],
    );
    await s.runScript();
    assert.deepEqual(s.log, ['GET /api/v1/nodes/node-a', 'WATCH rv=10', 'WATCH rv=15', 'WATCH rv=16']);
    assert.equal(s.watcher.observed?.resourceVersion, '16');
    assert.equal(s.changes(), 3, 'the read and two MODIFIED events');
    assert.deepEqual(s.failures, []);
  });

  it('builds the watch request with the field selector, bookmarks, and a timeout drawn from the range', async () => {
    const paths: string[] = [];
    const ctl = new AbortController();
    const watcher = new NodeWatcher({
      client: {
        request: async () => ({ status: 200, body: node('3') }),
        watch: async (req) => {
          paths.push(req.path);
          assert.equal(req.idleTimeoutMs, (450 + 30) * 1000);
          ctl.abort();
          return { status: 200, body: undefined };
        },
      },
      nodeName: 'node a',
      signal: ctl.signal,
      ...TIMING,
      onChange: () => {},
      onFailure: async () => undefined,
    });
    await watcher.run();
    assert.deepEqual(paths, ['/api/v1/nodes?fieldSelector=metadata.name%3Dnode%20a&watch=true&resourceVersion=3&allowWatchBookmarks=true&timeoutSeconds=450']);
  });

  it('drops a copy older than the one held, without reporting a change', () => {
    const s = setup([], ['1']);
    s.watcher.observe(readNode(node('20'))!);
    s.watcher.observe(readNode(node('19', { stale: 'yes' }))!);
    assert.equal(s.watcher.observed?.resourceVersion, '20');
    assert.equal(s.changes(), 1);
  });

  it('on 410 Gone (an ERROR event or the status) reads the Node again and watches from there', async () => {
    const s = setup([{ events: [{ type: 'ERROR', object: { kind: 'Status', code: 410 } }] }, { events: [], end: { status: 410, body: '' } }], ['10', '30', '31']);
    await s.runScript();
    assert.deepEqual(s.log, ['GET /api/v1/nodes/node-a', 'WATCH rv=10', 'GET /api/v1/nodes/node-a', 'WATCH rv=30', 'GET /api/v1/nodes/node-a', 'WATCH rv=31']);
    assert.deepEqual(s.failures, [], '410 is not a failure');
  });

  it('forgets the Node when it is deleted, reports the change, and reads it again', async () => {
    const s = setup([{ events: [{ type: 'DELETED', object: node('11') }] }], ['10', '40']);
    await s.runScript();
    assert.deepEqual(s.log, ['GET /api/v1/nodes/node-a', 'WATCH rv=10', 'GET /api/v1/nodes/node-a', 'WATCH rv=40']);
    assert.equal(s.watcher.observed?.resourceVersion, '40');
    assert.equal(s.changes(), 3, 'the read, the deletion, the read again');
  });

  it('hands an ERROR event and a non-200 watch to onFailure; a 404 or 409 reads the Node again', async () => {
    const s = setup(
      [
        { events: [{ type: 'ERROR', object: { kind: 'Status', code: 500, message: 'etcd' } }] },
        { events: [], end: { status: 403, body: '' } },
        { events: [], end: { status: 404, body: '' } },
      ],
      ['10', '50'],
    );
    await s.runScript();
    assert.deepEqual(s.failures, [
      { where: 'watch', status: 500 },
      { where: 'watch', status: 403 },
      { where: 'watch', status: 404 },
    ]);
    assert.deepEqual(s.log, ['GET /api/v1/nodes/node-a', 'WATCH rv=10', 'WATCH rv=10', 'WATCH rv=10', 'GET /api/v1/nodes/node-a', 'WATCH rv=50']);
  });

  it('concurrent refreshes share one GET; forget() drops the Node held', async () => {
    const s = setup([], ['7']);
    const [a, b] = await Promise.all([s.watcher.refresh(), s.watcher.refresh()]);
    assert.equal(a, b);
    assert.deepEqual(s.log, ['GET /api/v1/nodes/node-a']);
    assert.equal(s.watcher.observed?.resourceVersion, '7');
    s.watcher.forget();
    assert.equal(s.watcher.observed, undefined);
  });
});
