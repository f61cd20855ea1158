// Fleet simulation: 1,000 railwatch reconcilers (one per fake node) in one process against one fake API server
// (test/helpers/fake-apiserver.ts). Checks that the steady state makes 0 writes and that a change on one node
// makes exactly 1 label patch for that node, and reports requests per node per hour.
//   node bench/fleet.ts [--nodes 1000] [--window 10]
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
    if (rows.some((r) => r.note.startsWith('FAIL'))) process.exitCode = 1;
  } finally {
    await Promise.all(syncs.map((s) => s.stop()));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
