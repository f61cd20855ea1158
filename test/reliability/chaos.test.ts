// Whole-tree chaos: a fixture host loses random subtrees between scans, grows symlink loops, a directory of
// 50,000 bogus entries, FIFOs and endless devices in place of attributes, and unreadable directories. Every scan
// must finish (a hang guard kills it after 10 s), count what it skipped, render an exposition without NaN/Inf,
// and the next scan of a repaired tree must give the same answer as before. Seeds are printed so a failure
// can be replayed: RAILWATCH_CHAOS_SEED=<seed>.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { defaultConfig } from '../../agent/config/config.ts';
import { renderMetricsText } from '../../agent/metrics/render.ts';
import type { NodeSnapshot } from '../../agent/model.ts';
import { runScan, scanNode, type Scan } from '../../agent/scan/registry.ts';
import { rescanNode } from '../../agent/scan/rescan.ts';
import { createAgentState } from '../../agent/state.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { mkfifoSync } from '../scan/fifo.ts';
import { expositionProblems, NODE, REPO, seeded } from './helpers.ts';

/** Hang guard for one scan (the requirement "the scan finishes within its budget"), not a performance bound. */
const HANG_GUARD_MS = 10_000;
const CHILD = join(REPO, 'test/reliability/scan-child.ts');

interface ChildSummary {
  scanMs: number[];
  renderMs: number;
  issues: number;
  codes: Record<string, number>;
  failedScanners: string[];
  pci: number;
  pfs: number;
  vfs: number;
  rails: number;
  netdevs: number;
  rdma: number;
  counters: number;
  metricLines: number;
  expositionProblems: string[];
}

/** Scans in a child process killed after the hang guard; `uid` runs it as another user (root ignores modes). */
function scanInChild(host: FixtureHost, repeat = 1, uid?: number): Promise<ChildSummary> {
  return new Promise((resolve, reject) => {
    execFile(
      NODE,
      [CHILD, host.sys, host.proc, String(repeat)],
      { timeout: HANG_GUARD_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 20, cwd: REPO, ...(uid === undefined ? {} : { uid, gid: uid }) },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`scan child failed (killed: ${err.killed}, hang guard ${HANG_GUARD_MS} ms): ${err.message} ${stderr}`));
        resolve(JSON.parse(stdout) as ChildSummary);
      },
    );
  });
}

/** The first directory from `path` up to `/` that others may not search (no o+x), or undefined. */
function closedAncestor(path: string): string | undefined {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return dir;
    if (dir === dirname(dir)) return undefined;
  }
}

/** What must be the same after a repair: the inventory, not the timings. */
function shape(s: ChildSummary): Omit<ChildSummary, 'scanMs' | 'renderMs'> {
  const { scanMs: _a, renderMs: _b, ...rest } = s;
  return rest;
}

function allPaths(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    out.push(p);
    if (e.isDirectory()) out.push(...allPaths(root, p));
  }
  return out;
}

function checkSnapshot(s: NodeSnapshot): void {
  assert.ok(Object.isFrozen(s));
  for (const issue of s.issues) {
    assert.equal(typeof issue.scanner, 'string');
    assert.equal(typeof issue.code, 'string');
    assert.ok(issue.code !== '', `issue without a code: ${JSON.stringify(issue)}`);
  }
}

describe('random deletions while scans run in a loop', () => {
  const seeds = process.env['RAILWATCH_CHAOS_SEED'] !== undefined ? [Number(process.env['RAILWATCH_CHAOS_SEED'])] : [1, 2, 3];
  for (const seed of seeds) {
    test(`seed ${seed}: 25 rounds of rm -rf, garbage writes and dangling links; every scan completes`, async (t) => {
      const host = buildDgxHost({ rails: 4, vfsPerPf: 4, extras: true });
      t.after(() => host.cleanup());
      const random = seeded(seed);
      const config = defaultConfig();
      let prev: Scan | undefined;
      let issues = 0;
      let worstMs = 0;
      const actions: string[] = [];
      for (let round = 0; round < 25; round++) {
        const paths = allPaths(host.sys);
        if (paths.length === 0) break;
        const victim = paths[Math.floor(random() * paths.length)]!;
        const abs = join(host.sys, victim);
        const kind = random();
        if (kind < 0.6) {
          rmSync(abs, { recursive: true, force: true });
          actions.push(`rm ${victim}`);
        } else if (kind < 0.8) {
          rmSync(abs, { recursive: true, force: true });
          writeFileSync(abs, ['', 'N/A', '\0\0\0', '-1', '99999999999999999999999', 'x'.repeat(70_000)][Math.floor(random() * 6)]!);
          actions.push(`garbage ${victim}`);
        } else {
          rmSync(abs, { recursive: true, force: true });
          symlinkSync(random() < 0.5 ? 'nowhere' : '../../../../../../../../../etc', abs);
          actions.push(`dangling/escaping link ${victim}`);
        }
        const started = performance.now();
        const fullScan = runScan({ sysfsRoot: host.sys, procfsRoot: host.proc, config });
        const full = fullScan.snapshot;
        const cheap = rescanNode(prev, { sysfsRoot: host.sys, procfsRoot: host.proc, config }).snapshot;
        worstMs = Math.max(worstMs, performance.now() - started);
        checkSnapshot(full);
        checkSnapshot(cheap);
        issues += full.issues.length;
        prev = fullScan;
        const state = createAgentState(config, 'test');
        state.snapshot = full;
        assert.deepEqual(expositionProblems(await renderMetricsText(state, { defaultMetrics: false })), [], `after: ${actions.join('; ')}`);
      }
      t.diagnostic(`seed ${seed}: ${actions.length} mutations, ${issues} counted skips, slowest scan+rescan ${worstMs.toFixed(1)} ms`);
      assert.ok(issues > 0, 'the damage was counted');
    });
  }
});

describe('hostile trees, each scan bounded by a hang guard in a child process', () => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 4 });
  after(() => host.cleanup());
  let baseline: ChildSummary;

  test('baseline', async () => {
    baseline = await scanInChild(host);
    assert.deepEqual([baseline.issues, baseline.pfs, baseline.vfs, baseline.expositionProblems], [0, 2, 8, []]);
  });

  test('symlink loops: self links, two-link cycles, a virtfn pointing back at its PF, a device link to its own dir', async (t) => {
    const pfPath = host.devPath('0000:16:00.0');
    const made = [
      ['bus/pci/devices/0000:ee:00.0', '0000:ee:00.0'],
      ['bus/pci/devices/0000:ee:00.1', '0000:ee:00.2'],
      ['bus/pci/devices/0000:ee:00.2', '0000:ee:00.1'],
      ['class/net/loopnet', 'loopnet'],
      ['class/infiniband/mlx5_99', '.'],
      [`${pfPath}/virtfn7`, '.'],
      [`${pfPath}/net/ens1f0np0/ports_loop`, '..'],
    ] as const;
    for (const [at, target] of made) symlinkSync(target, join(host.sys, at));
    const got = await scanInChild(host, 3);
    t.diagnostic(`loops: scans ${got.scanMs.join(', ')} ms, ${got.issues} skips ${JSON.stringify(got.codes)}`);
    assert.ok(got.issues > 0);
    assert.equal(got.pfs, 2);
    assert.deepEqual(got.expositionProblems, []);
    for (const [at] of made) rmSync(join(host.sys, at));
    assert.deepEqual(shape(await scanInChild(host)), shape(baseline));
  });

  test('a FIFO, /dev/zero and /dev/urandom in place of attributes and counters do not block', async (t) => {
    const pfPath = host.devPath('0000:16:00.0');
    const port = 'class/infiniband/mlx5_0/ports/1';
    const fifos = [`${port}/counters/port_xmit_data`, `${port}/state`, `${pfPath}/sriov_numvfs`, `${pfPath}/vendor`, 'class/net/ens1f0np0/operstate'];
    for (const f of fifos) {
      rmSync(join(host.sys, f), { force: true });
      mkfifoSync(join(host.sys, f));
    }
    rmSync(join(host.proc, 'meminfo'));
    mkfifoSync(join(host.proc, 'meminfo'));
    const devices = [
      [`${port}/counters/port_rcv_data`, '/dev/zero'],
      [`${port}/hw_counters/out_of_buffer`, '/dev/urandom'],
      [`${pfPath}/current_link_speed`, '/dev/zero'],
    ] as const;
    for (const [at, target] of devices) {
      rmSync(join(host.sys, at), { force: true });
      symlinkSync(target, join(host.sys, at));
    }
    // a writer that holds one FIFO open and never writes: a blocking read would wait forever
    const holder = spawn('sh', ['-c', 'exec 3>"$1"; exec sleep 30', 'sh', join(host.sys, fifos[0]!)], { stdio: 'ignore' });
    t.after(() => holder.kill('SIGKILL'));
    const got = await scanInChild(host, 3);
    t.diagnostic(`fifo/devices: scans ${got.scanMs.join(', ')} ms, ${got.issues} skips ${JSON.stringify(got.codes)}`);
    assert.ok(got.issues >= fifos.length, `each unreadable attribute counted (${got.issues})`);
    assert.deepEqual(got.expositionProblems, []);
    holder.kill('SIGKILL');
    for (const f of [...fifos, ...devices.map((d) => d[0])]) rmSync(join(host.sys, f), { force: true });
    rmSync(join(host.proc, 'meminfo'));
    // repair with the fixture's values
    const fresh = buildDgxHost({ rails: 2, vfsPerPf: 4 });
    t.after(() => fresh.cleanup());
    for (const f of [...fifos, ...devices.map((d) => d[0])]) {
      renameSync(join(fresh.sys, f.replace(pfPath, fresh.devPath('0000:16:00.0'))), join(host.sys, f));
    }
    renameSync(join(fresh.proc, 'meminfo'), join(host.proc, 'meminfo'));
    assert.deepEqual(shape(await scanInChild(host)), shape(baseline));
  });

  test('50,000 bogus entries in bus/pci/devices and 5,000 in a counters directory: the scan finishes and counts them', async (t) => {
    const port = 'class/infiniband/mlx5_0/ports/1/counters';
    // bogus names made in one batch (touch through xargs, fixed arguments) to keep the test fast
    const names = Array.from({ length: 50_000 }, (_, i) =>
      i % 2 === 0 ? `0000:${(0xa0 + (i % 64)).toString(16)}:${(i % 32).toString(16).padStart(2, '0')}.${i % 8}-bogus${i}` : `junk-${i}`,
    );
    execFileSync('xargs', ['-0', 'touch', '--'], { cwd: join(host.sys, 'bus/pci/devices'), input: names.join('\0') });
    assert.ok(readdirSync(join(host.sys, 'bus/pci/devices')).length >= 50_000);
    for (let i = 0; i < 5_000; i++) writeFileSync(join(host.sys, port, `bogus_counter_${i}`), i % 3 === 0 ? 'N/A' : String(i));
    const got = await scanInChild(host, 2);
    t.diagnostic(`50k entries: scans ${got.scanMs.join(', ')} ms, render ${got.renderMs} ms, ${got.issues} skips ${JSON.stringify(got.codes)}, ${got.metricLines} exposition lines`);
    assert.ok(got.issues >= 50_000, `bogus entries counted (${got.issues})`);
    assert.equal(got.pfs, 2);
    assert.deepEqual(got.expositionProblems, []);
    rmSync(join(host.sys, 'bus/pci/devices'), { recursive: true });
    mkdirSync(join(host.sys, 'bus/pci/devices'));
    for (const d of readdirSync(join(host.sys, port))) if (d.startsWith('bogus_counter_')) rmSync(join(host.sys, port, d));
    // bus/pci/devices rebuilt as the kernel has it: one link per function
    const fresh = buildDgxHost({ rails: 2, vfsPerPf: 4 });
    t.after(() => fresh.cleanup());
    for (const name of readdirSync(join(fresh.sys, 'bus/pci/devices'))) {
      const p = join(fresh.sys, 'bus/pci/devices', name);
      if (lstatSync(p).isSymbolicLink()) renameSync(p, join(host.sys, 'bus/pci/devices', name));
    }
    assert.deepEqual(shape(await scanInChild(host)), shape(baseline));
  });

  test('unreadable directories and attributes (mode 000, scanned as an unprivileged user)', async (t) => {
    const closed = closedAncestor(REPO);
    if (closed !== undefined) {
      t.skip(`the unprivileged user cannot reach the clone: ${closed} is not searchable by others (mode ${(statSync(closed).mode & 0o777).toString(8)})`);
      return;
    }
    const pfPath = host.devPath('0000:16:00.0');
    const denied = [`${pfPath}/sriov_totalvfs`, 'class/infiniband/mlx5_0/ports/1/counters', host.devPath('0000:1e:00.0'), 'class/net/ens2f0np0/mtu'];
    // mkdtemp makes the fixture root private to root; open it for the unprivileged user
    chmodSync(host.root, 0o755);
    for (const d of denied) chmodSync(join(host.sys, d), 0o000);
    t.after(() => {
      for (const d of denied) chmodSync(join(host.sys, d), 0o755);
    });
    const got = await scanInChild(host, 2, 65534);
    t.diagnostic(`mode 000: scans ${got.scanMs.join(', ')} ms, ${got.issues} skips ${JSON.stringify(got.codes)}`);
    assert.ok((got.codes['EACCES'] ?? 0) >= 2, `EACCES counted: ${JSON.stringify(got.codes)}`);
    assert.deepEqual(got.expositionProblems, []);
    for (const d of denied) chmodSync(join(host.sys, d), d.endsWith('mtu') || d.endsWith('totalvfs') ? 0o644 : 0o755);
    assert.deepEqual(shape(await scanInChild(host, 1, 65534)), shape(baseline));
  });
});
