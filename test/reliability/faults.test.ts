// Faults at the edges, through the whole agent (startAgent): the Kubernetes API server errors, throttles,
// conflicts, stalls, cuts watches, rejects the token and goes away; the kubelet pod-resources socket is absent,
// hangs and dies mid-call. Throughout, /metrics keeps answering; afterwards the labels converge again; the
// number of requests during a fault stays bounded (backoff, counted at the fake server); the heap after GC
// stays flat over repeated fault cycles.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { status as grpcStatus } from '@grpc/grpc-js';
import { startAgent, type RunningAgent, type ServeOptions } from '../../agent/cli/serve.ts';
import { memoryLogger } from '../../agent/log.ts';
import { kubeConfigForServer, startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { startPodResourcesServer } from '../helpers/pod-resources-server.ts';
import { expositionProblems, heapAfterGc, httpGet, sleep, until } from './helpers.ts';
import { testAgentOptions } from '../helpers/agent.ts';

const PREFIX = 'railwatch.io/';
const NODE_NAME = 'node-a';

/** railwatch's labels on the Node, as sorted `key=value` lines (order-free comparison). */
function ownLabels(server: FakeApiServer): string[] {
  return Object.entries(server.labels(NODE_NAME))
    .filter(([k]) => k.startsWith(PREFIX))
    .map(([k, v]) => `${k}=${v}`)
    .sort();
}

async function scrapeOk(agent: RunningAgent): Promise<string> {
  const got = await httpGet(agent.http.port, '/metrics');
  assert.equal(got.status, 200);
  assert.match(got.body, /^railwatch_rdma_port_transmit_bytes_total\{/m);
  assert.deepEqual(expositionProblems(got.body), []);
  return got.body;
}

interface Rig {
  host: FixtureHost;
  server: FakeApiServer;
  tokenFile: string;
  agent: RunningAgent;
  log: ReturnType<typeof memoryLogger>;
  close(): Promise<void>;
}

async function startRig(extra: Partial<ServeOptions> = {}): Promise<Rig> {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
  const server = await startFakeApiServer({ nodes: [NODE_NAME] });
  const dir = mkdtempSync(join(tmpdir(), 'railwatch-faults-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, server.token);
  const log = memoryLogger();
  const agent = await startAgent(
    testAgentOptions(host, {
      podResourcesSocket: join(dir, 'absent.sock'),
      nodeName: NODE_NAME,
      log,
      kube: {
        loadConfig: () => kubeConfigForServer(server.url, tokenFile),
        backoff: { initialMs: 50, maxMs: 400 },
        requestTimeoutMs: 500,
        watchTimeoutSeconds: { min: 2, max: 4 },
      },
      ...extra,
    }),
  );
  return {
    host,
    server,
    tokenFile,
    agent,
    log,
    async close() {
      await agent.stop();
      await server.close();
      host.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('Kubernetes API faults through the running agent', () => {
  test('errors, throttling, conflicts, stalls, cut watches, a rejected token and an outage', async (t) => {
    const rig = await startRig();
    t.after(() => rig.close());
    const { server, agent } = rig;
    await until(() => ownLabels(server).length > 0, 'the first label write');
    const want = ownLabels(server);
    const victim = want[0]!.split('=')[0]!;
    const report: string[] = [];
    const clientErrors = () => [...agent.state().kubeRequests].filter(([k]) => k.endsWith('\terror')).reduce((n, [, v]) => n + v, 0);

    /** Runs one fault for `ms`, scraping all along; then lifts it and waits for the labels to converge. */
    async function phase(name: string, ms: number, start: () => void | Promise<void>, stop: () => void | Promise<void>, maxRequests: number): Promise<void> {
      const before = server.requests.length + clientErrors();
      // someone removes one of railwatch's labels: railwatch must write, and meets the fault
      server.editNode(NODE_NAME, { metadata: { labels: { [victim]: null } } });
      await start();
      const end = Date.now() + ms;
      let scrapes = 0;
      while (Date.now() < end) {
        await scrapeOk(agent);
        scrapes++;
        agent.trigger('test');
        await sleep(50);
      }
      // requests the fake answered plus those that got no answer at all (refused, timed out), as railwatch counts them
      const during = server.requests.length + clientErrors() - before;
      await stop();
      const recovered = Date.now();
      await until(() => ownLabels(server).join('\n') === want.join('\n'), `labels to converge after ${name}`);
      report.push(`${name}: ${during} requests in ${ms} ms, ${scrapes} scrapes ok, converged ${Date.now() - recovered} ms after recovery`);
      assert.ok(during <= maxRequests, `${name}: ${during} requests during the fault (at most ${maxRequests} with backoff)`);
    }

    await phase('500 storm', 1500, () => server.inject({ status: 500, count: 1e9 }), () => server.clearFaults(), 40);
    await phase('429 storm, Retry-After 1 s', 1500, () => server.inject({ status: 429, count: 1e9, retryAfterSeconds: 1 }), () => server.clearFaults(), 12);
    await phase('409 conflicts', 500, () => server.inject({ status: 409, count: 3, method: 'PATCH' }), () => server.clearFaults(), 40);
    await phase('slow API server (1.5 s answers, 0.5 s client timeout)', 1500, () => void (server.delayMs = 1500), () => void (server.delayMs = 0), 20);
    let cutter: NodeJS.Timeout | undefined;
    await phase('watch cut every 200 ms', 1500, () => void (cutter = setInterval(() => server.cutWatches(), 200)), () => clearInterval(cutter), 40);
    await phase(
      'token rejected (rotated), then the new token file appears',
      1500,
      () => void (server.token = 'rotated-token'),
      () => writeFileSync(rig.tokenFile, 'rotated-token'),
      40,
    );
    const port = Number(new URL(server.url).port);
    await phase('API server down (connection refused)', 1500, () => server.close(), async () => void (await server.listen(port)), 40);

    // the requests were counted by status in the agent's own metric
    const text = await scrapeOk(agent);
    for (const code of ['500', '429', '409', '401', 'error']) {
      assert.match(text, new RegExp(`^railwatch_kube_requests_total\\{[^}]*code="${code}"[^}]*\\} [1-9]`, 'm'), `code ${code} counted`);
    }
    t.diagnostic(report.join('\n'));
  });

  test('the heap stays flat over repeated fault cycles', async (t) => {
    const rig = await startRig();
    t.after(() => rig.close());
    const { server, agent } = rig;
    await until(() => ownLabels(server).length > 0, 'the first label write');
    const want = ownLabels(server);
    const victim = want[0]!.split('=')[0]!;
    const heaps: number[] = [];
    for (let cycle = 0; cycle < 8; cycle++) {
      server.inject({ status: cycle % 2 === 0 ? 503 : 429, count: 1e9 });
      server.editNode(NODE_NAME, { metadata: { labels: { [victim]: null } } });
      server.cutWatches();
      for (let i = 0; i < 5; i++) {
        await scrapeOk(agent);
        agent.trigger('test');
        await sleep(40);
      }
      server.clearFaults();
      await until(() => ownLabels(server).join('\n') === want.join('\n'), 'labels to converge');
      heaps.push(heapAfterGc());
    }
    const growth = heaps[heaps.length - 1]! - heaps[1]!;
    t.diagnostic(`heap after GC per cycle (MiB): ${heaps.map((h) => (h / 2 ** 20).toFixed(2)).join(' ')}`);
    assert.ok(growth < 4 * 2 ** 20, `heap grew ${(growth / 2 ** 20).toFixed(2)} MiB over ${heaps.length - 2} fault cycles`);
  });
});

describe('kubelet pod-resources faults through the running agent', () => {
  test('absent, hanging, dying mid-call: allocation metrics absent, the rest served; recovery when it returns', async (t) => {
    const kubelet = await startPodResourcesServer({
      data: {
        list: { podResources: [] },
        allocatable: { devices: [{ resourceName: 'nvidia.com/rdma_vf', deviceIds: ['0000:16:00.2', '0000:16:00.3'] }] },
      },
    });
    t.after(() => kubelet.close());
    await kubelet.stop();
    const rig = await startRig({ podResourcesSocket: kubelet.socketPath, noKube: true, kube: undefined });
    t.after(() => rig.close());
    const { agent } = rig;
    const scanned = async () => {
      const next = agent.nextScan();
      agent.trigger('test');
      await next;
    };
    const allocationSeries = (text: string) => text.split('\n').filter((l) => /^railwatch_\w*(alloc|resource)\w*\{/.test(l)).length;

    await scanned();
    let text = await scrapeOk(agent);
    assert.equal(agent.state().allocation.error, 'socket-absent');
    assert.match(text, /^railwatch_pod_resources_up 0$/m);
    assert.equal(allocationSeries(text), 0);

    await kubelet.restart();
    await until(async () => (await scanned(), agent.state().allocation.error === undefined), 'allocation known once the kubelet is back');
    text = await scrapeOk(agent);
    assert.match(text, /^railwatch_pod_resources_up 1$/m);
    const servedSeries = allocationSeries(text);
    assert.ok(servedSeries > 0, 'allocation series once the kubelet answers');

    // hangs: every call stalls past the client deadline; scrapes are answered meanwhile
    kubelet.behaviour = { list: { kind: 'slow', delayMs: 60_000 }, allocatable: { kind: 'slow', delayMs: 60_000 } };
    const hung = scanned();
    for (let i = 0; i < 5; i++) {
      await scrapeOk(agent);
      await sleep(100);
    }
    await hung;
    assert.equal(agent.state().allocation.error, 'timeout');
    text = await scrapeOk(agent);
    assert.match(text, /^railwatch_pod_resources_up 0$/m);
    assert.equal(allocationSeries(text), 0);

    // dies mid-call: the kubelet goes away while a call is in flight, leaving a stale socket
    const dying = scanned();
    await sleep(200);
    await kubelet.stop({ leaveStaleSocket: true });
    await dying;
    await scanned();
    assert.equal(agent.state().allocation.error, 'unavailable');

    kubelet.behaviour = { list: { kind: 'ok' }, allocatable: { kind: 'fail', code: grpcStatus.INTERNAL } };
    await kubelet.restart();
    await until(async () => (await scanned(), agent.state().allocation.error !== 'unavailable'), 'the restarted kubelet answering');
    kubelet.behaviour = { list: { kind: 'ok' }, allocatable: { kind: 'ok' } };
    await until(async () => (await scanned(), agent.state().allocation.error === undefined), 'full recovery');
    text = await scrapeOk(agent);
    assert.match(text, /^railwatch_pod_resources_up 1$/m);
    assert.equal(allocationSeries(text), servedSeries);
    // the scans themselves never failed: the snapshot stayed complete throughout
    assert.deepEqual(agent.state().snapshot?.failedScanners, []);
  });
});
