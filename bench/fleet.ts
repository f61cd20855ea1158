// Fleet simulation: 1,000 railwatch reconcilers (one per fake node) in one process against one fake API server
// (test/helpers/fake-apiserver.ts). Checks that the steady state makes 0 writes and that a change on one node
// makes exactly 1 label patch for that node, and reports requests per node per hour. Then pod attachments: each
// node's agent reads the pods the kubelet says hold its VFs (--pods per node, starting at once) and the NADs they
// name (8 rails): expected reads = one pod GET per pod start + the NAD cache misses (8 per node), and 0 requests in
// steady state; then one pod per node is replaced (1 pod GET each, NADs still cached).
//   node bench/fleet.ts [--nodes 1000] [--window 10] [--pods 10]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../agent/config/config.ts';
import { desiredLabels } from '../agent/kube/labels.ts';
import { emptyProbes } from '../agent/checks/probe.ts';
import { derive } from '../agent/view/derive.ts';
import { createKubeSync, type KubeDesired, type KubeSync } from '../agent/kube/reconciler.ts';
import { silentLogger } from '../agent/log.ts';
import { scanNode } from '../agent/scan/registry.ts';
import { createAttachmentFetcher, type AttachmentFetcher, type PodKey } from '../agent/attach/fetcher.ts';
import { judgePod } from '../agent/attach/judge.ts';
import { createKubeClient } from '../agent/kube/client.ts';
import { networksList, networkStatus, NETWORK_STATUS, NETWORKS, railNad } from '../test/attach/fixtures.ts';
import { kubeConfigForServer, startFakeApiServer } from '../test/helpers/fake-apiserver.ts';
import { buildDgxHost } from '../test/helpers/fixture-host.ts';

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const NODES = flag('nodes', 1000);
const WINDOW_S = flag('window', 10);
const PODS = flag('pods', 10);
const RAILS = 8;
const SCAN_INTERVAL_S = 1; // updates during the window come this often (a 10 s interval in production: fewer)
const WATCH_TIMEOUT = { min: 300, max: 600 };

async function main(): Promise<void> {
  const host = buildDgxHost({ rails: 8, vfsPerPf: 16 });
  const snapshot = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} } });
  host.cleanup();
  const config = defaultConfig();
  const labels = desiredLabels(derive(snapshot, {}, emptyProbes(config), config), config);
  const condition: KubeDesired['condition'] = { type: 'RdmaNetworkReady', status: 'True', reason: 'AllChecksPassed', message: '10 setup checks pass' };

  const names = Array.from({ length: NODES }, (_, i) => `gpu-node-${String(i).padStart(4, '0')}`);
  const server = await startFakeApiServer({ nodes: names });
  const dir = mkdtempSync(join(tmpdir(), 'railwatch-fleet-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, server.token);
  const counters = new Map<string, number>();
  const syncs: KubeSync[] = names.map((nodeName) =>
    createKubeSync({
      nodeName,
      labelPrefix: config.labelPrefix,
      counters,
      log: silentLogger,
      mode: { kind: 'in-cluster' },
      loadConfig: () => kubeConfigForServer(server.url, tokenFile),
      watchTimeoutSeconds: WATCH_TIMEOUT,
    }),
  );
  const rows: { phase: string; seconds: number; reads: number; watches: number; writes: number; note: string }[] = [];
  const snapshotCounts = () => ({ reqs: server.requests.length });
  const between = (from: number) => {
    const slice = server.requests.slice(from);
    return {
      reads: slice.filter((r) => r.method === 'GET' && r.query['watch'] !== 'true').length,
      watches: slice.filter((r) => r.query['watch'] === 'true').length,
      writes: slice.filter((r) => r.method !== 'GET'),
    };
  };

  try {
    // 1. start: every node gets its labels and condition
    let mark = snapshotCounts();
    let t = performance.now();
    for (const s of syncs) s.start();
    for (const s of syncs) s.update({ labels, condition });
    await Promise.all(syncs.map((s) => s.settled()));
    while (server.openWatches < NODES) await new Promise((r) => setTimeout(r, 20));
    let c = between(mark.reqs);
    rows.push({ phase: 'start (converge)', seconds: (performance.now() - t) / 1000, reads: c.reads, watches: c.watches, writes: c.writes.length, note: `${(c.writes.length / NODES).toFixed(1)} writes/node` });

    // 2. steady state: every node re-publishes the same desired state each "scan"
    mark = snapshotCounts();
    t = performance.now();
    for (let i = 0; i < WINDOW_S / SCAN_INTERVAL_S; i++) {
      for (const s of syncs) s.update({ labels, condition });
      await Promise.all(syncs.map((s) => s.settled()));
      await new Promise((r) => setTimeout(r, SCAN_INTERVAL_S * 1000));
    }
    const steadySeconds = (performance.now() - t) / 1000;
    c = between(mark.reqs);
    rows.push({ phase: 'steady state', seconds: steadySeconds, reads: c.reads, watches: c.watches, writes: c.writes.length, note: c.writes.length === 0 ? 'OK: 0 writes' : 'FAIL: writes in steady state' });
    const steadyReadsPerNodeHour = ((c.reads + c.writes.length) / NODES / steadySeconds) * 3600;

    // 3. one node changes (a VF gone on rail 3): exactly one label patch, for that node
    const changed = names[17]!;
    mark = snapshotCounts();
    t = performance.now();
    const changedLabels = { ...labels, [`${config.labelPrefix}rail-3.vfs`]: '15', [`${config.labelPrefix}vfs`]: String(Number(labels[`${config.labelPrefix}vfs`]) - 1) };
    for (const [i, s] of syncs.entries()) s.update({ labels: i === 17 ? changedLabels : labels, condition });
    await Promise.all(syncs.map((s) => s.settled()));
    await new Promise((r) => setTimeout(r, 200));
    c = between(mark.reqs);
    const ok = c.writes.length === 1 && c.writes[0]?.node === changed && c.writes[0].method === 'PATCH' && !c.writes[0].path.endsWith('/status');
    rows.push({ phase: 'one node changes', seconds: (performance.now() - t) / 1000, reads: c.reads, watches: c.watches, writes: c.writes.length, note: ok ? `OK: 1 label patch for ${changed}` : 'FAIL' });

    // 4. someone deletes a railwatch label on 10 nodes: each comes back with one patch, via the watch
    mark = snapshotCounts();
    t = performance.now();
    for (let i = 100; i < 110; i++) server.editNode(names[i]!, { metadata: { labels: { [`${config.labelPrefix}rails`]: null } } });
    const back = () => names.slice(100, 110).every((n) => server.labels(n)[`${config.labelPrefix}rails`] === labels[`${config.labelPrefix}rails`]);
    while (!back()) await new Promise((r) => setTimeout(r, 10));
    c = between(mark.reqs);
    rows.push({ phase: 'label deleted on 10 nodes', seconds: (performance.now() - t) / 1000, reads: c.reads, watches: c.watches, writes: c.writes.length, note: c.writes.length === 10 ? 'OK: 10 patches, 0 reads' : 'FAIL' });

    // 5. pod attachments: PODS pods per node start at once, each holding one VF of every rail
    for (let r = 0; r < RAILS; r++) server.addNad(railNad('ml', r));
    const podsOf = (node: number, gen = 0): PodKey[] => Array.from({ length: PODS }, (_, p) => ({ namespace: 'ml', name: `job-${node}-${p}${gen > 0 && p === 0 ? `-r${gen}` : ''}` }));
    const vfsOf = (node: number, p: number) => Array.from({ length: RAILS }, (_, r) => ({ rail: r, pci: `0000:${(0x10 + r * 0x10).toString(16)}:${String(p + 1).padStart(2, '0')}.${node % 8}` }));
    const addPods = (node: number, keys: PodKey[]) => {
      for (const [p, k] of keys.entries()) server.addPod({ namespace: k.namespace, name: k.name, nodeName: names[node]!, annotations: { [NETWORKS]: networksList([...Array(RAILS).keys()]), [NETWORK_STATUS]: networkStatus('ml', vfsOf(node, p)) } });
    };
    for (let n = 0; n < NODES; n++) addPods(n, podsOf(n));
    const attachCounters = new Map<string, number>();
    const fetchers: AttachmentFetcher[] = names.map(() =>
      // One event loop here serves all the nodes' reads and runs all their clients; 18,000 GETs at once take it
      // ~20 s, past the 15 s request timeout, and a timed-out read is retried (an extra GET). A real API server
      // answers the nodes in parallel: the simulation gives its clients 120 s, and any failed read fails the row.
      createAttachmentFetcher({ client: createKubeClient({ loadConfig: () => kubeConfigForServer(server.url, tokenFile), counters: attachCounters, requestTimeoutMs: 120_000 }), log: silentLogger }),
    );
    const podGets = () => server.counts.get('GET pods') ?? 0;
    const nadGets = () => server.counts.get('GET nads') ?? 0;
    const attachRows: { phase: string; seconds: number; podGets: number; nadGets: number; other: number; expected: string; ok: boolean }[] = [];
    const measure = async (phase: string, expectPods: number, expectNads: number, act: () => void) => {
      const [p0, n0, r0] = [podGets(), nadGets(), server.requests.length];
      const t0 = performance.now();
      act();
      await Promise.all(fetchers.map((f) => f.idle()));
      await Promise.all(syncs.map((s) => s.settled()));
      const [dp, dn] = [podGets() - p0, nadGets() - n0];
      const other = server.requests.length - r0 - dp - dn;
      attachRows.push({ phase, seconds: (performance.now() - t0) / 1000, podGets: dp, nadGets: dn, other, expected: `${expectPods} + ${expectNads}`, ok: dp === expectPods && dn === expectNads && other === 0 });
    };
    await measure(`${PODS} pods/node start`, NODES * PODS, NODES * RAILS, () => fetchers.forEach((f, n) => f.sync(podsOf(n))));
    let attachedOk = 0;
    for (const [n, f] of fetchers.entries()) {
      for (const [p, k] of podsOf(n).entries()) {
        const vfs = vfsOf(n, p).map((v) => ({ pci: v.pci, rail: v.rail, pf: `pf${v.rail}`, resourceName: `nvidia.com/rail${v.rail}` }));
        const rep = judgePod({ namespace: k.namespace, name: k.name, vfs, pod: f.pod(k.namespace, k.name), nad: (ns, name) => f.nad(ns, name) });
        if (rep.state === 'judged' && rep.problems.length === 0 && rep.interfaces.length === RAILS) attachedOk++;
      }
    }
    await measure(`steady (${WINDOW_S} syncs)`, 0, 0, () => {
      for (let i = 0; i < WINDOW_S; i++) fetchers.forEach((f, n) => f.sync(podsOf(n)));
    });
    for (let n = 0; n < NODES; n++) addPods(n, podsOf(n, 1).slice(0, 1));
    await measure('1 pod/node replaced', NODES, 0, () => fetchers.forEach((f, n) => f.sync(podsOf(n, 1))));
    fetchers.forEach((f) => f.stop());

    const watchesPerHour = 3600 / ((WATCH_TIMEOUT.min + WATCH_TIMEOUT.max) / 2);
    console.log(`railwatch fleet simulation: ${NODES} nodes, one process, one fake API server (${process.version})\n`);
    console.log('phase                      seconds    reads  watches   writes  result');
    for (const r of rows) {
      console.log(`${r.phase.padEnd(26)} ${r.seconds.toFixed(1).padStart(7)} ${String(r.reads).padStart(8)} ${String(r.watches).padStart(8)} ${String(r.writes).padStart(8)}  ${r.note}`);
    }
    console.log(`\nsteady state, per node per hour (extrapolated from ${steadySeconds.toFixed(1)} s):`);
    console.log(`  reads + writes         ${steadyReadsPerNodeHour.toFixed(2)}`);
    console.log(`  watch requests         ${watchesPerHour.toFixed(2)}   (one long request each; server timeout drawn from ${WATCH_TIMEOUT.min}-${WATCH_TIMEOUT.max} s)`);
    console.log(`  total                  ${(steadyReadsPerNodeHour + watchesPerHour).toFixed(2)}   -> fleet of ${NODES}: ${((steadyReadsPerNodeHour + watchesPerHour) * NODES).toFixed(0)} requests/h`);
    const counts = [...counters.entries()].sort().map(([k, v]) => `${k.replace('\t', ' ')}=${v}`);
    console.log(`\nrailwatch_kube_requests_total over the run: ${counts.join(', ')}`);
    console.log(`\npod attachments: ${NODES} nodes x ${PODS} pods, ${RAILS} rails (one NAD each); expected = pod GETs + NAD GETs`);
    console.log('phase                      seconds  pod GETs  NAD GETs  other  expected        result');
    for (const r of attachRows) {
      console.log(`${r.phase.padEnd(26)} ${r.seconds.toFixed(1).padStart(7)} ${String(r.podGets).padStart(9)} ${String(r.nadGets).padStart(9)} ${String(r.other).padStart(6)}  ${r.expected.padEnd(14)}  ${r.ok ? 'OK' : 'FAIL'}`);
    }
    const judgedOk = attachedOk === NODES * PODS;
    const failedReads = [...attachCounters.entries()].filter(([k]) => !k.endsWith('\t200')).reduce((a, [, v]) => a + v, 0);
    console.log(`pods judged with every VF attached: ${attachedOk} of ${NODES * PODS}${judgedOk ? '' : '  FAIL'}`);
    const attachCounts = [...attachCounters.entries()].sort().map(([k, v]) => `${k.replace('\t', ' ')}=${v}`);
    console.log(`attachment requests by verb and code: ${attachCounts.join(', ')}${failedReads === 0 ? '' : `  FAIL: ${failedReads} failed reads`}`);
    if (rows.some((r) => r.note.startsWith('FAIL')) || attachRows.some((r) => !r.ok) || !judgedOk || failedReads > 0) process.exitCode = 1;
  } finally {
    await Promise.all(syncs.map((s) => s.stop()));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
