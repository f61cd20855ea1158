// `railwatch fleet` against the in-process API server (test/helpers/fake-apiserver.ts): 5,000 Nodes read in pages,
// a 429 mid-list, a 410 on an expired continue token that restarts the list, Events by field selector, and the
// failures that exit 2. One run through the real binary with a kubeconfig file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fleetCommand } from '../../agent/cli/fleet.ts';
import type { ListStats } from '../../agent/fleet/read.ts';
import type { FleetReport } from '../../agent/fleet/report.ts';
import { kubeConfigForServer, startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODES = 5000;
const name = (i: number) => `gpu-${String(i).padStart(4, '0')}`;
const beat = () => new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

function condition(status: 'True' | 'False', reason: string, transition = '2026-12-01T00:00:00Z') {
  return { type: 'RdmaNetworkReady', status, reason, message: 'm', lastHeartbeatTime: beat(), lastTransitionTime: transition };
}

async function run(server: FakeApiServer, tokenFile: string, argv: string[], stats?: ListStats) {
  let out = '';
  let err = '';
  const code = await fleetCommand({
    argv,
    env: {},
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    loadConfig: () => kubeConfigForServer(server.url, tokenFile),
    sleep: () => Promise.resolve(),
    ...(stats ? { stats } : {}),
  });
  return { code, out, err };
}

describe('railwatch fleet against the API server', () => {
  let server: FakeApiServer;
  let dir: string;
  let tokenFile: string;

  before(async () => {
    server = await startFakeApiServer();
    dir = mkdtempSync(join(tmpdir(), 'railwatch-fleet-'));
    tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, server.token);
    for (let i = 0; i < NODES; i++) {
      const rails = i === 4321 ? '7' : '8';
      server.addNode(name(i), { 'railwatch.io/rdma': 'true', 'railwatch.io/rails': rails, 'railwatch.io/vfs': '64', 'node.kubernetes.io/instance-type': 'p5.48xlarge' });
      const c = i % 1000 === 7 ? condition('False', 'VfNetdevsVisible', `2026-12-0${1 + (i % 3)}T00:00:00Z`) : condition('True', 'AllChecksPassed');
      if (i !== 42) server.editNode(name(i), { status: { conditions: [c] } });
    }
    for (let i = 0; i < 20; i++) server.addNode(`cpu-${i}`, { 'node.kubernetes.io/instance-type': 'm5.large' });
    const ev = (n: string, reason: string, extra: Record<string, unknown> = {}) => ({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `${n}.${reason}`, namespace: 'default' },
      eventTime: new Date(Date.now() - 120_000).toISOString(),
      reportingController: 'railwatch.io/agent',
      reportingInstance: n,
      action: 'Scan',
      reason,
      type: 'Warning',
      note: 'n',
      regarding: { apiVersion: 'v1', kind: 'Node', name: n, uid: 'u' },
      ...extra,
    });
    server.addEvent(ev(name(7), 'VFsDisappeared'));
    server.addEvent(ev(name(1007), 'VFsDisappeared', { series: { count: 5, lastObservedTime: new Date().toISOString() } }));
    server.addEvent(ev(name(4321), 'RailCountChanged'));
    server.addEvent(ev(name(9), 'RailMisaligned', { metadata: { name: 'trainer.1', namespace: 'ml' }, regarding: { apiVersion: 'v1', kind: 'Pod', name: 'trainer', namespace: 'ml', uid: 'p' } }));
    server.addEvent(ev(name(10), 'NodeNotReady', { reportingController: 'kubelet' }));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads 5,000 nodes in pages through a 429 and an expired continue token, and reports the state after the restart', async () => {
    server.requests.length = 0;
    server.inject({ status: 429, count: 1, retryAfterSeconds: 1, method: 'GET', pathIncludes: '/api/v1/nodes', continued: true });
    let continued = 0;
    server.onRequest = (rec) => {
      if (rec.path !== '/api/v1/nodes' || rec.query['continue'] === undefined) return;
      if (++continued === 4) {
        // mid-list: a node changes and etcd compacts past the list's snapshot
        server.editNode(name(3333), { status: { conditions: [condition('False', 'KernelIommu')] } });
        server.compact();
      }
    };
    const stats: ListStats = { pages: 0, retries: 0, restarts: 0 };
    const { code, out, err } = await run(server, tokenFile, ['--json', '--page-size', '500'], stats);
    server.onRequest = undefined;
    assert.equal(err, '');
    assert.equal(code, 1);
    const r = JSON.parse(out) as FleetReport;
    assert.equal(r.nodes, NODES);
    const all = [...r.summary.ready, ...r.summary.notReady, ...r.summary.noCondition, ...r.summary.stale];
    assert.equal(new Set(all).size, NODES);
    assert.deepEqual(r.summary.noCondition, [name(42)]);
    assert.deepEqual(r.summary.stale, []);
    assert.deepEqual(r.failing, [
      { step: '5-nic-vfs', reason: 'VfNetdevsVisible', count: 5, since: '2026-12-01T00:00:00Z', nodes: [name(2007), name(7), name(3007), name(1007), name(4007)] },
      { step: '2-kernel-iommu', reason: 'KernelIommu', count: 1, since: '2026-12-01T00:00:00Z', nodes: [name(3333)] },
    ].sort((a, b) => b.count - a.count));
    assert.deepEqual(r.outliers.map((o) => [o.label, o.majority, o.nodes]), [['rails', '8', [{ name: name(4321), value: '7' }]]]);
    assert.deepEqual(
      r.events.map((e) => [e.reason, e.count, e.nodes, e.pods]),
      [
        ['VFsDisappeared', 6, [name(7), name(1007)], []],
        ['RailCountChanged', 1, [name(4321)], []],
        ['RailMisaligned', 1, [name(9)], ['ml/trainer']],
      ],
    );

    const nodeLists = server.requests.filter((q) => q.path === '/api/v1/nodes');
    assert.ok(nodeLists.every((q) => q.query['limit'] === '500' && q.query['labelSelector'] === 'railwatch.io/rdma=true'));
    assert.deepEqual(
      nodeLists.map((q) => `${q.query['continue'] === undefined ? 'first' : 'next'} ${q.status}`),
      ['first 200', 'next 429', 'next 200', 'next 200', 'next 410', 'first 200', ...Array(9).fill('next 200')],
    );
    assert.deepEqual(stats, { pages: 3 + 10 + 1, retries: 1, restarts: 1 });
    // read-only, and only the calls manifests/fleet-reader grants (FLEET_API_CALLS): list nodes, list events
    assert.deepEqual(new Set(server.requests.map((q) => `${q.method} ${q.path} ${q.query['watch'] ?? ''}`)), new Set(['GET /api/v1/nodes ', 'GET /apis/events.k8s.io/v1/events ']));
    const eventLists = server.requests.filter((q) => q.path === '/apis/events.k8s.io/v1/events');
    assert.deepEqual(eventLists.map((q) => q.query['fieldSelector']), ['reportingController=railwatch.io/agent']);
  });

  it('prints the summary as text with K names and the named stale threshold', async () => {
    const { code, out } = await run(server, tokenFile, ['--max-names', '2', '--stale-after', '45m']);
    assert.equal(code, 1);
    assert.match(out, /^railwatch fleet: 5000 nodes \(selector railwatch\.io\/rdma=true\)/);
    assert.ok(out.includes('\n  ready          4993: gpu-0000, gpu-0001, ... (4991 more)\n'), out);
    assert.ok(out.includes('\n  stale             0 (heartbeat older than 45m)\n'), out);
    assert.match(out, /\n {2}5-nic-vfs VfNetdevsVisible: 5 nodes since 2026-12-01T00:00:00Z: gpu-2007, gpu-0007, \.\.\. \(3 more\)\n/);
  });

  it('a selector picks other nodes; an agent that stopped writing shows as stale', async () => {
    server.editNode(name(5), { status: { conditions: [{ ...condition('True', 'AllChecksPassed'), lastHeartbeatTime: '2026-01-01T00:00:00Z' }] } });
    const { code, out } = await run(server, tokenFile, ['--json', '--selector', 'railwatch.io/rails in (7),railwatch.io/rdma']);
    const r = JSON.parse(out) as FleetReport;
    assert.deepEqual([r.nodes, r.summary.ready, code], [1, [name(4321)], 0]);
    const stale = JSON.parse((await run(server, tokenFile, ['--json'])).out) as FleetReport;
    assert.deepEqual(stale.summary.stale, [name(5)]);
  });

  it('exits 2 with a clear message when the cluster cannot be read', async () => {
    server.inject({ status: 403, count: 1, method: 'GET', pathIncludes: '/api/v1/nodes' });
    let r = await run(server, tokenFile, []);
    assert.deepEqual([r.code, r.out], [2, '']);
    assert.match(r.err, /^railwatch fleet: cannot read the cluster: list nodes: HTTP 403: .*manifests\/fleet-reader/);

    r = await run(server, tokenFile, ['--selector', 'a in (b']);
    assert.equal(r.code, 2);
    assert.match(r.err, /list nodes: HTTP 400: unable to parse requirement/);

    server.inject({ status: 503, count: 10, method: 'GET', pathIncludes: '/events' });
    r = await run(server, tokenFile, []);
    assert.equal(r.code, 2, r.err + r.out.slice(0, 300));
    assert.match(r.err, /list events: HTTP 503/);
    server.clearFaults();

    const closed = await startFakeApiServer();
    await closed.close();
    r = await run(closed, tokenFile, []);
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot read the cluster: list nodes: ECONNREFUSED/);

    let err = '';
    const code = await fleetCommand({ argv: [], env: {}, home: dir, out: () => {}, err: (t) => void (err += t) });
    assert.equal(code, 2);
    assert.equal(err, 'railwatch fleet: cannot read the cluster: no in-cluster environment and no kubeconfig (set KUBECONFIG or --kubeconfig)\n');
  });

  it('rejects bad flags with a usage error naming the flag', async () => {
    for (const [argv, msg] of [
      [['--max-names', 'ten'], /--max-names must be an integer/],
      [['--stale-after', 'soon'], /--stale-after: "soon" is not a duration/],
      [['--page-size', '0'], /--page-size must be an integer between 1/],
      [['--label-prefix', 'railwatch.io'], /--label-prefix must end with/],
      [['--bogus'], /unknown flag --bogus/],
    ] as const) {
      await assert.rejects(run(server, tokenFile, [...argv]), msg);
    }
  });

  it('runs as the real binary from a kubeconfig file', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: fake, cluster: {server: "' + server.url + '", insecure-skip-tls-verify: true}}, {name: gone, cluster: {server: "http://127.0.0.1:1"}}]',
        'users: [{name: u, user: {token: "' + server.token + '"}}]',
        'contexts: [{name: c, context: {cluster: fake, user: u}}, {name: elsewhere, context: {cluster: gone, user: u}}]',
        'current-context: elsewhere',
        '',
      ].join('\n'),
    );
    const res = await promisify(execFile)(process.execPath, [join(ROOT, 'agent/main.ts'), 'fleet', '--kubeconfig', kubeconfig, '--context', 'c', '--selector', 'node.kubernetes.io/instance-type=m5.large', '--max-names', '3']).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(res.stderr, '');
    assert.equal(res.code, 1);
    assert.match(res.stdout, /^railwatch fleet: 20 nodes \(selector node\.kubernetes\.io\/instance-type=m5\.large\) at /);
    assert.ok(res.stdout.endsWith('\n  ready             0\n  not ready         0\n  no condition     20: cpu-0, cpu-1, cpu-10, ... (17 more)\n  stale             0 (heartbeat older than 30m)\n'), res.stdout);
    const unknown = await promisify(execFile)(process.execPath, [join(ROOT, 'agent/main.ts'), 'fleet', '--kubeconfig', kubeconfig, '--context', 'prod']).catch((e: { code: number; stderr: string }) => e);
    assert.equal((unknown as { code: number }).code, 2);
    assert.match((unknown as { stderr: string }).stderr, /^railwatch fleet: cannot read the cluster: kubeconfig: no context "prod" in .* \(contexts: c, elsewhere\)\n$/);
    const missing = await promisify(execFile)(process.execPath, [join(ROOT, 'agent/main.ts'), 'fleet', '--kubeconfig', join(dir, 'nope')]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((missing as { code: number }).code, 2);
    assert.match((missing as { stderr: string }).stderr, /kubeconfig .*nope does not exist/);
  });
});
