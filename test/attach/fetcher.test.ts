// The pod/NAD fetcher against the in-process API server: GET only, one read per pod start plus NAD cache
// misses, bounded re-reads until network-status, 404, 403, slow answers, pods coming and going.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createAttachmentFetcher, type AttachmentFetcherOptions } from '../../agent/attach/fetcher.ts';
import { createKubeClient } from '../../agent/kube/client.ts';
import { memoryLogger } from '../../agent/log.ts';
import { kubeConfigForServer, startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.ts';
import { networksList, networkStatus, NETWORK_STATUS, NETWORKS, railNad } from './fixtures.ts';

let server: FakeApiServer;
let dir: string;
let counters: Map<string, number>;

beforeEach(async () => {
  server = await startFakeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'railwatch-attach-'));
  writeFileSync(join(dir, 'token'), server.token);
  counters = new Map();
  for (const r of [0, 1, 2, 3]) server.addNad(railNad('ml', r));
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function fetcher(extra: Partial<AttachmentFetcherOptions> = {}, requestTimeoutMs = 2000) {
  const client = createKubeClient({ loadConfig: () => kubeConfigForServer(server.url, join(dir, 'token')), counters, requestTimeoutMs });
  return createAttachmentFetcher({ client, log: memoryLogger(), random: () => 0.5, retry: { initialMs: 20, maxMs: 80, attempts: 4 }, ...extra });
}

function addPod(name: string, withStatus = true) {
  server.addPod({
    namespace: 'ml',
    name,
    annotations: {
      [NETWORKS]: networksList([0, 1, 2, 3]),
      ...(withStatus ? { [NETWORK_STATUS]: networkStatus('ml', [0, 1, 2, 3].map((r) => ({ rail: r, pci: `0000:${r}a:00.2` }))) } : {}),
    },
  });
}

const gets = (kind: 'pods' | 'nads') => server.counts.get(`GET ${kind}`) ?? 0;

describe('attachment fetcher', () => {
  it('reads each pod once and each NAD once for pods starting together; then nothing', async () => {
    for (let i = 0; i < 10; i++) addPod(`trainer-${i}`);
    const f = fetcher();
    try {
      const pods = Array.from({ length: 10 }, (_, i) => ({ namespace: 'ml', name: `trainer-${i}` }));
      f.sync(pods);
      await f.idle();
      assert.equal(gets('pods'), 10);
      assert.equal(gets('nads'), 4, 'one read per NAD, shared by the ten pods');
      const p = f.pod('ml', 'trainer-3');
      assert.equal(p.final, true);
      assert.equal(p.fetch.state, 'ok');
      assert.equal(f.nad('ml', 'rail-2').state, 'ok');
      // steady state: the same pods, many times
      const before = server.requests.length;
      for (let i = 0; i < 20; i++) f.sync(pods);
      await f.idle();
      assert.equal(server.requests.length - before, 0);
      assert.deepEqual(new Set(server.requests.map((r) => r.method)), new Set(['GET']));
      assert.equal(counters.get('get\t200'), 14);
    } finally {
      f.stop();
    }
  });

  it('re-reads a pod with backoff until Multus writes network-status, then stops', async () => {
    addPod('trainer-0', false);
    let changes = 0;
    const f = fetcher({ onChange: () => changes++ });
    try {
      f.sync([{ namespace: 'ml', name: 'trainer-0' }]);
      while (gets('pods') < 2) await new Promise((r) => setTimeout(r, 5));
      assert.equal(f.pod('ml', 'trainer-0').final, false);
      server.annotatePod('ml', 'trainer-0', { [NETWORK_STATUS]: networkStatus('ml', [{ rail: 0, pci: '0000:0a:00.2' }]) });
      await f.idle();
      const n = gets('pods');
      assert.ok(n >= 2 && n <= 4, `${n} pod reads`);
      assert.equal(f.pod('ml', 'trainer-0').final, true);
      assert.ok(changes >= 2);
      assert.equal(gets('nads'), 4, 'NADs are not read again on a re-read');
    } finally {
      f.stop();
    }
  });

  it('gives up after the bounded number of reads when network-status never comes', async () => {
    addPod('stuck', false);
    const f = fetcher();
    try {
      f.sync([{ namespace: 'ml', name: 'stuck' }]);
      await f.idle();
      assert.equal(gets('pods'), 4);
      assert.equal(f.pod('ml', 'stuck').final, true);
    } finally {
      f.stop();
    }
  });

  it('a deleted pod (404) is read once; a missing NAD is cached as missing', async () => {
    server.addPod({ namespace: 'ml', name: 'p', annotations: { [NETWORKS]: 'rail-9', [NETWORK_STATUS]: '[]' } });
    const f = fetcher();
    try {
      f.sync([{ namespace: 'ml', name: 'gone' }, { namespace: 'ml', name: 'p' }]);
      await f.idle();
      assert.deepEqual(f.pod('ml', 'gone'), { fetch: { state: 'not-found' }, final: true });
      assert.deepEqual(f.nad('ml', 'rail-9'), { state: 'not-found' });
      assert.equal(gets('pods'), 2);
      assert.equal(counters.get('get\t404'), 2);
    } finally {
      f.stop();
    }
  });

  it('403 on pods or NADs is kept with the API server\'s message', async () => {
    addPod('trainer-0');
    server.forbid('network-attachment-definitions');
    const f = fetcher();
    try {
      f.sync([{ namespace: 'ml', name: 'trainer-0' }]);
      await f.idle();
      const nad = f.nad('ml', 'rail-0');
      assert.equal(nad.state, 'forbidden');
      assert.match(nad.state === 'forbidden' ? nad.message : '', /cannot get resource "network-attachment-definitions" in API group "k8s.cni.cncf.io"/);
    } finally {
      f.stop();
    }
    server.forbid('pods');
    const g = fetcher({ retry: { initialMs: 10, maxMs: 10, attempts: 2 } });
    try {
      g.sync([{ namespace: 'ml', name: 'trainer-0' }]);
      await g.idle();
      const p = g.pod('ml', 'trainer-0');
      assert.equal(p.fetch.state, 'forbidden');
      assert.equal(p.final, true);
    } finally {
      g.stop();
    }
  });

  it('a slow API server times out, is retried within the bound, and answers once fast again', async () => {
    addPod('trainer-0');
    server.slow('pods', 400);
    const f = fetcher({ retry: { initialMs: 200, maxMs: 200, attempts: 3 } }, 100);
    try {
      f.sync([{ namespace: 'ml', name: 'trainer-0' }]);
      while ((counters.get('get\terror') ?? 0) < 1) await new Promise((r) => setTimeout(r, 5));
      assert.equal(f.pod('ml', 'trainer-0').fetch.state, 'error');
      server.slow('pods', 0);
      await f.idle();
      assert.equal(f.pod('ml', 'trainer-0').fetch.state, 'ok');
      assert.equal(f.pod('ml', 'trainer-0').final, true);
    } finally {
      f.stop();
    }
  });

  it('pods coming and going: a pod that leaves is forgotten (its slow read discarded), one that comes back is read again', async () => {
    addPod('a');
    addPod('b');
    const f = fetcher();
    try {
      f.sync([{ namespace: 'ml', name: 'a' }, { namespace: 'ml', name: 'b' }]);
      await f.idle();
      assert.equal(gets('pods'), 2);
      f.sync([{ namespace: 'ml', name: 'b' }]);
      assert.deepEqual(f.pod('ml', 'a'), { fetch: { state: 'pending' }, final: false });
      assert.equal(f.stats().pods, 1);
      server.slow('pods', 100);
      f.sync([{ namespace: 'ml', name: 'a' }, { namespace: 'ml', name: 'b' }]);
      f.sync([{ namespace: 'ml', name: 'b' }]);
      await f.idle();
      assert.equal(gets('pods'), 3);
      assert.equal(f.pod('ml', 'a').fetch.state, 'pending', 'the discarded read left nothing behind');
      f.sync([]);
      assert.deepEqual(f.stats(), { podGets: 3, nadGets: 4, pods: 0, nads: 0 });
    } finally {
      f.stop();
    }
  });

  it('a NAD older than nadMaxAgeMs is read again for a newly started pod, not for the ones already read', async () => {
    addPod('a');
    addPod('b');
    const f = fetcher({ nadMaxAgeMs: 0 });
    try {
      f.sync([{ namespace: 'ml', name: 'a' }]);
      await f.idle();
      f.sync([{ namespace: 'ml', name: 'a' }]);
      await f.idle();
      assert.equal(gets('nads'), 4);
      f.sync([{ namespace: 'ml', name: 'a' }, { namespace: 'ml', name: 'b' }]);
      await f.idle();
      assert.equal(gets('nads'), 8);
    } finally {
      f.stop();
    }
  });

  it('keeps at most maxInFlight GETs in flight; the queued ones all run, each pod and NAD read once', async () => {
    for (let i = 0; i < 12; i++) addPod(`burst-${i}`);
    server.slow('pods', 30);
    const real = createKubeClient({ loadConfig: () => kubeConfigForServer(server.url, join(dir, 'token')), counters, requestTimeoutMs: 2000 });
    let now = 0;
    let most = 0;
    const client: AttachmentFetcherOptions['client'] = {
      reload: () => real.reload(),
      async request(req) {
        now++;
        most = Math.max(most, now);
        try {
          return await real.request(req);
        } finally {
          now--;
        }
      },
    };
    for (const [limit, want] of [[3, 3], [undefined, 4]] as const) {
      most = 0;
      const before = { pods: gets('pods'), nads: gets('nads') };
      const f = createAttachmentFetcher({ client, log: memoryLogger(), random: () => 0.5, ...(limit === undefined ? {} : { maxInFlight: limit }) });
      try {
        f.sync(Array.from({ length: 12 }, (_, i) => ({ namespace: 'ml', name: `burst-${i}` })));
        await f.idle();
        assert.equal(most, want, `at most ${want} at once`);
        assert.equal(gets('pods') - before.pods, 12);
        assert.equal(gets('nads') - before.nads, 4);
        assert.deepEqual(f.stats(), { podGets: 12, nadGets: 4, pods: 12, nads: 4 });
        for (let i = 0; i < 12; i++) assert.equal(f.pod('ml', `burst-${i}`).fetch.state, 'ok');
      } finally {
        f.stop();
      }
    }
  });
});
