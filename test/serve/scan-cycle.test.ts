// The scan cycle alone: when a scan is full and when cheap (FullScanSchedule), and what one scan writes: the state,
// the structural metrics, the Node's desired state, the nextScan waiters; a snapshot with a failed scanner writes
// none of it. The Kubernetes sync, the renderer and the VF netlink source are recording fakes.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAttachments } from '../../agent/attach/agent.ts';
import { defaultConfig, type Config } from '../../agent/config/config.ts';
import { memoryLogger } from '../../agent/log.ts';
import type { VfInfoReading } from '../../agent/netlink/vf-info.ts';
import { SCANNERS, type Scanner } from '../../agent/scan/registry.ts';
import { FULL_SCAN_EVERY, FullScanSchedule, ScanCycle, type ScanCycleOptions } from '../../agent/serve/scan-cycle.ts';
import { ScanIssueLog } from '../../agent/serve/scan-issues.ts';
import { createAgentState, type AgentState } from '../../agent/state.ts';
import { HostFs } from '../../agent/sysfs/host-fs.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';

test('FullScanSchedule: full before the first snapshot, on every trigger but the interval, and every FULL_SCAN_EVERY-th interval', () => {
  const s = new FullScanSchedule();
  assert.equal(s.fullScanReason('startup', false), 'startup');
  assert.equal(s.fullScanReason('interval', false), 'interval', 'no snapshot yet: full');
  s.ran('full');
  assert.equal(s.sinceFull, 0);
  for (let i = 0; i < FULL_SCAN_EVERY; i++) {
    assert.equal(s.fullScanReason('interval', true), undefined, `interval scan ${i + 1} since the full one may be cheap`);
    for (const trigger of ['netlink', 'uevent', 'file', 'config', 'attachments', 'test']) assert.equal(s.fullScanReason(trigger, true), trigger);
    s.ran('cheap');
  }
  assert.equal(s.sinceFull, FULL_SCAN_EVERY);
  assert.equal(s.fullScanReason('interval', true), 'interval', 'the sixth cheap rescan in a row is the last');
  // a cheap attempt that met a structural change ran full: the count starts again
  s.ran('full');
  assert.equal(s.fullScanReason('interval', true), undefined);
  s.ran('cheap');
  s.failed();
  assert.equal(s.fullScanReason('interval', true), 'interval', 'after a failed scan the next one is full');
  const every2 = new FullScanSchedule(2);
  every2.ran('cheap');
  assert.equal(every2.fullScanReason('interval', true), undefined);
  every2.ran('cheap');
  assert.equal(every2.fullScanReason('interval', true), 'interval');
});

/** What the cycle hands the Kubernetes sync. */
type KubeDesired = Parameters<ScanCycleOptions['sync']['update']>[0];

const EMPTY_VF_READING: VfInfoReading = { links: [], takenAtMs: 0, durationMs: 0, issues: [] };

interface Rig {
  cycle: ScanCycle;
  state: AgentState;
  schedule: FullScanSchedule;
  updates: KubeDesired[];
  prepared: AgentState[];
  refreshes: () => number;
  vfReads: () => number;
  setConfig(c: Config): void;
  log: ReturnType<typeof memoryLogger>;
}

function rig(host: FixtureHost, opts: { scanners?: readonly Scanner[]; vfReading?: VfInfoReading } = {}): Rig {
  let config = defaultConfig();
  const state = createAgentState(config, 'test');
  const log = memoryLogger();
  const schedule = new FullScanSchedule();
  const updates: KubeDesired[] = [];
  const prepared: AgentState[] = [];
  let refreshes = 0;
  let vfReads = 0;
  const attachments = startAttachments({ mode: { kind: 'standalone', why: 'test' }, counters: state.kubeRequests, log });
  const cycle = new ScanCycle({
    state,
    config: () => config,
    target: { sysfsRoot: host.sys, procfsRoot: host.proc, ...(opts.scanners ? { scanners: opts.scanners } : {}) },
    sys: new HostFs(host.sys),
    host: new HostFs(host.root),
    schedule,
    issues: new ScanIssueLog(state.scanErrorsTotal, log),
    allocation: {
      async refresh() {
        refreshes++;
        state.allocation = { error: 'socket-absent' };
      },
    },
    vfInfo: {
      read: async () => {
        vfReads++;
        return opts.vfReading ?? EMPTY_VF_READING;
      },
    },
    attachments,
    renderer: { prepare: (s) => prepared.push(s) },
    sync: { update: (d) => updates.push(d) },
    log,
  });
  return { cycle, state, schedule, updates, prepared, refreshes: () => refreshes, vfReads: () => vfReads, setConfig: (c) => (config = c), log };
}

test('a complete scan writes the state, prepares the metrics and hands the Node its desired state; interval scans go cheap', async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
  t.after(() => host.cleanup());
  const r = rig(host);
  let released = false;
  const waiting = r.cycle.nextScan().then(() => (released = true));
  await r.cycle.run('startup');
  await waiting;
  assert.equal(released, true, 'nextScan resolves after the scan');
  assert.equal(r.state.snapshot?.rails.length, 2);
  assert.equal(r.state.view?.snapshot, r.state.snapshot);
  assert.ok(r.state.checks !== undefined && r.state.attachments !== undefined);
  assert.equal(r.state.vfInfo, EMPTY_VF_READING);
  assert.deepEqual(r.prepared, [r.state], 'the structural metrics are rendered right after the scan');
  assert.equal(r.updates.length, 1);
  assert.equal(r.updates[0]?.labels['railwatch.io/rails'], '2');
  assert.equal(r.refreshes(), 1);
  assert.equal(r.schedule.sinceFull, 0, 'the first scan is full');

  const first = r.state.snapshot;
  await r.cycle.run('interval');
  assert.equal(r.schedule.sinceFull, 1, 'an interval scan reuses the records: cheap');
  assert.notEqual(r.state.snapshot, first, 'a new snapshot all the same');
  assert.deepEqual(r.state.snapshot?.rails, first?.rails);
  await r.cycle.run('netlink');
  assert.equal(r.schedule.sinceFull, 0, 'a trigger forces a full scan');
  assert.deepEqual(Object.fromEntries(r.state.scansTotal), { startup: 1, interval: 1, netlink: 1 });
  assert.equal(r.updates.length, 3);
  assert.equal(r.prepared.length, 3);
});

test('the probes are re-read on full scans only; the config is read per scan', async (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 0 });
  t.after(() => host.cleanup());
  const r = rig(host);
  await r.cycle.run('startup');
  assert.equal(r.state.view?.probes.devicePlugins.entries, undefined, 'no device-plugins directory yet');
  mkdirSync(join(host.root, 'var/lib/kubelet/device-plugins'), { recursive: true });
  await r.cycle.run('interval');
  assert.equal(r.state.view?.probes.devicePlugins.entries, undefined, 'a cheap rescan keeps the probes');
  await r.cycle.run('file');
  assert.deepEqual(r.state.view?.probes.devicePlugins.entries, [], 'a full scan lists the directory');

  const next = { ...defaultConfig(), expectedRails: 4 };
  r.setConfig(next);
  await r.cycle.run('config');
  assert.equal(r.state.config, next);
  assert.deepEqual(r.state.view?.expectedRails, { count: 4, source: 'config' });
});

test('a snapshot with a failed scanner keeps the last complete one, writes nothing to the Node, and makes the next scan full', async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 0 });
  t.after(() => host.cleanup());
  let broken = true;
  const scanners: Scanner[] = SCANNERS.map((s) =>
    s.name !== 'net'
      ? s
      : {
          name: 'net',
          run(ctx, parts) {
            if (broken) throw new Error('simulated scanner failure');
            s.run(ctx, parts);
          },
        },
  );
  const r = rig(host, { scanners });
  const waiting = r.cycle.nextScan();
  await r.cycle.run('startup');
  await waiting;
  // read through a function: the assertion below would narrow r.state.snapshot to undefined for good
  const snapshot = () => r.state.snapshot;
  assert.equal(snapshot(), undefined, 'no complete snapshot yet');
  assert.deepEqual(r.updates, []);
  assert.deepEqual(r.prepared, []);
  assert.equal(r.refreshes(), 0, 'the kubelet is not asked about a partial picture');
  assert.equal(r.state.scansTotal.get('failed'), 1);
  assert.equal(r.state.scansTotal.get('startup'), undefined);
  const failed = r.log.lines.find((l) => l.msg === 'scanners failed; keeping the last complete snapshot');
  assert.deepEqual(failed?.meta, { scanners: ['net'], kept: false });

  broken = false;
  await r.cycle.run('interval');
  const complete = snapshot();
  assert.equal(complete?.rails.length, 2);
  assert.equal(r.updates.length, 1);
  broken = true;
  await r.cycle.run('interval');
  assert.equal(r.schedule.fullScanReason('interval', true), 'interval', 'after the failure the next interval scan is full');
  assert.equal(snapshot(), complete, 'the last complete snapshot is kept');
  assert.equal(r.updates.length, 1);
  assert.equal(r.state.scansTotal.get('failed'), 2);
  assert.equal(r.log.lines.filter((l) => l.msg === 'scanners failed; keeping the last complete snapshot').at(-1)?.meta?.['kept'], true);
});

test('what the scan met is counted: snapshot issues by scanner, VF netlink gaps as vf-netlink', async (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 1 });
  t.after(() => host.cleanup());
  host.write('class/infiniband/mlx5_0/ports/1/counters/port_rcv_errors', 'garbage');
  const r = rig(host, { vfReading: { ...EMPTY_VF_READING, issues: [{ path: 'ens1f0np0', code: 'TRUNCATED' }] } });
  await r.cycle.run('startup');
  await r.cycle.run('interval');
  assert.equal(r.state.scanErrorsTotal.get('infiniband'), 2, 'a PARSE issue counts on every scan');
  assert.equal(r.state.scanErrorsTotal.get('vf-netlink'), 2);
  assert.equal(r.log.lines.filter((l) => l.msg === 'skipped an unreadable attribute').length, 1, 'logged once');
  assert.equal(r.log.lines.filter((l) => l.msg === 'VF netlink list incomplete').length, 1, 'logged once');
});

test('the PFs\' netlink VF lists are read only while some PF has VFs (in the PCI tree or in sriov_numvfs)', async (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 0 });
  t.after(() => host.cleanup());
  const r = rig(host, { vfReading: { ...EMPTY_VF_READING, issues: [{ path: 'ip', code: 'ENOENT', detail: 'ip not found' }], error: 'ENOENT: ip not found' } });
  await r.cycle.run('startup');
  await r.cycle.run('interval');
  assert.equal(r.vfReads(), 0, 'no PF has VFs: no ip is spawned');
  assert.equal(r.state.vfInfo?.notRead, 'no PF has VFs');
  assert.equal(r.state.scanErrorsTotal.get('vf-netlink'), undefined, 'a missing ip is no scan error on such a host');
  assert.equal(r.log.lines.filter((l) => l.msg === 'VF netlink list incomplete').length, 0);
  // the classic failure: sriov_numvfs says 4, the VFs are not in the PCI tree; the PF's netlink list may still say
  host.write('bus/pci/devices/0000:16:00.0/sriov_numvfs', '4');
  await r.cycle.run('file');
  assert.equal(r.state.snapshot?.pfs.find((pf) => pf.pci === '0000:16:00.0')?.numVfs, 4);
  assert.equal(r.vfReads(), 1, 'a PF with a VF count is asked about');
  assert.equal(r.state.scanErrorsTotal.get('vf-netlink'), 1);
});
