import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { CheckResult } from '../../agent/checks/types.ts';
import { createTokenBucket, deriveEvents, eventName, eventObject, microTime, type EventInput } from '../../agent/kube/events.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { report } from './harness.ts';
import { viewOf } from '../helpers/view.ts';

const hosts: FixtureHost[] = [];
after(() => hosts.forEach((h) => h.cleanup()));

function host(): FixtureHost {
  const h = buildDgxHost({ rails: 2, vfsPerPf: 4, gpus: false });
  hosts.push(h);
  return h;
}

function scan(h: FixtureHost) {
  return scanNode({ sysfsRoot: h.sys, procfsRoot: h.proc, config: { rails: {} }, now: () => 0 });
}

function check(id: string, status: CheckResult['status'], finding: string): CheckResult {
  return { id, step: 6, stepLabel: '6-vf-netdevs', title: id, status, finding };
}

describe('deriveEvents', () => {
  it('emits nothing for the first observation', () => {
    const h = host();
    assert.deepEqual(deriveEvents(undefined, { snapshot: scan(h) }), []);
  });

  it('emits nothing when nothing changed', () => {
    const h = host();
    const a = scan(h);
    assert.deepEqual(deriveEvents({ snapshot: a }, { snapshot: scan(h) }), []);
  });

  it('reports VFs that disappeared, naming the PF and the VFs, and their return', () => {
    const h = host();
    const before = scan(h);
    const pf = before.rails[0]!.pf;
    const gone = [h.vfAddress(pf, 2), h.vfAddress(pf, 3)];
    h.removeVf(pf, 2);
    h.removeVf(pf, 3);
    const afterScan = scan(h);
    assert.deepEqual(deriveEvents({ snapshot: before }, { snapshot: afterScan }), [
      {
        reason: 'VFsDisappeared',
        type: 'Warning',
        subject: `pf/${pf}`,
        action: 'Scan',
        note: `PF ens1f0np0 (${pf}), rail 0: 2 VFs disappeared (4 -> 2): ${gone[0]} (ens1f0np0v2), ${gone[1]} (ens1f0np0v3)`,
      },
    ]);
    assert.deepEqual(deriveEvents({ snapshot: afterScan }, { snapshot: before }), [
      {
        reason: 'VFsRestored',
        type: 'Normal',
        subject: `pf/${pf}`,
        action: 'Scan',
        note: `PF ens1f0np0 (${pf}), rail 0: 2 VFs appeared (2 -> 4): ${gone[0]} (ens1f0np0v2), ${gone[1]} (ens1f0np0v3)`,
      },
    ]);
  });

  it('reports a VF netdev leaving the host unless its VF is allocated to a pod', () => {
    const h = host();
    const before = scan(h);
    const pf = before.rails[1]!.pf;
    const vf = h.vfAddress(pf, 0);
    h.moveVfNetdevToPod(vf);
    const now = scan(h);
    const allocated: EventInput = { snapshot: now, allocatedVfs: new Set([vf]) };
    assert.deepEqual(deriveEvents({ snapshot: before, allocatedVfs: new Set() }, allocated), []);
    assert.deepEqual(deriveEvents({ snapshot: before, allocatedVfs: new Set() }, { snapshot: now, allocatedVfs: new Set() }), [
      {
        reason: 'VFsDisappeared',
        type: 'Warning',
        subject: `pf/${pf}`,
        action: 'Scan',
        note: `PF ens2f0np0 (${pf}), rail 1: 1 VF netdevs left the host namespace (not allocated to a pod): ${vf} (ens2f0np0v0)`,
      },
    ]);
    assert.match(deriveEvents({ snapshot: before }, { snapshot: now })[0]!.note, /allocation unknown/);
    // the pod goes away: allocation released first, netdev back later -> neither step is a disappearance
    assert.deepEqual(deriveEvents(allocated, { snapshot: now, allocatedVfs: new Set() }), []);
    assert.deepEqual(deriveEvents(allocated, { snapshot: before, allocatedVfs: new Set() }), []);
  });

  it('reports a rail count change', () => {
    const h = host();
    const before = scan(h);
    h.remove(`class/infiniband/mlx5_1`);
    const now = scan(h);
    const events = deriveEvents({ snapshot: before }, { snapshot: now });
    assert.deepEqual(
      events.filter((e) => e.reason === 'RailCountChanged'),
      [{ reason: 'RailCountChanged', type: 'Warning', subject: 'rails', action: 'Scan', note: 'rails 2 -> 1' }],
    );
  });

  it('reports drift per check: turning fail and back', () => {
    const h = host();
    const snapshot = scan(h);
    const ok = report([check('vf-netdevs-visible', 'pass', 'all 8 visible'), check('rail-count', 'pass', '2 rails')]);
    const bad = report([check('vf-netdevs-visible', 'fail', '1 of 8 missing'), check('rail-count', 'pass', '2 rails')]);
    assert.deepEqual(deriveEvents({ snapshot, checks: ok }, { snapshot, checks: bad }), [
      { reason: 'DriftDetected', type: 'Warning', subject: 'check/vf-netdevs-visible', action: 'Check', note: '6-vf-netdevs vf-netdevs-visible: 1 of 8 missing' },
    ]);
    assert.deepEqual(deriveEvents({ snapshot, checks: bad }, { snapshot, checks: ok }), [
      { reason: 'DriftResolved', type: 'Normal', subject: 'check/vf-netdevs-visible', action: 'Check', note: '6-vf-netdevs vf-netdevs-visible: all 8 visible' },
    ]);
    assert.deepEqual(deriveEvents({ snapshot, checks: bad }, { snapshot, checks: bad }), []);
  });
});

describe('event objects', () => {
  it('builds an events.k8s.io/v1 Event about the Node', () => {
    const spec = { reason: 'VFsDisappeared' as const, type: 'Warning' as const, subject: 'pf/x', action: 'Scan', note: 'n' };
    const t = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    assert.deepEqual(eventObject(spec, { name: 'node-a', uid: 'u1' }, 'node-a.1', t), {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'node-a.1', namespace: 'default' },
      eventTime: '2025-01-02T03:04:05.678000Z',
      reportingController: 'railwatch.io/agent',
      reportingInstance: 'node-a',
      action: 'Scan',
      reason: 'VFsDisappeared',
      note: 'n',
      type: 'Warning',
      regarding: { apiVersion: 'v1', kind: 'Node', name: 'node-a', uid: 'u1' },
    });
    assert.equal(microTime(t + 0.25), '2025-01-02T03:04:05.678250Z');
    assert.equal(eventName('node-a', 1, 2), 'node-a.f4242');
  });

  it('token bucket: burst, then one per refill period', () => {
    const b = createTokenBucket(2, 1000, 0);
    assert.deepEqual([b.take(0), b.take(0), b.take(0)], [true, true, false]);
    assert.equal(b.waitMs(0), 1000);
    assert.deepEqual([b.take(999), b.take(1000), b.take(1000)], [false, true, false]);
  });
});

describe('kubeDesired', () => {
  it('joins labels, condition and events, with allocations from the kubelet', async () => {
    const { kubeDesired, observation } = await import('../../agent/kube/desired.ts');
    const h = host();
    const before = scan(h);
    const pf = before.rails[0]!.pf;
    const vf = h.vfAddress(pf, 1);
    h.moveVfNetdevToPod(vf);
    const now = scan(h);
    const checks = report([check('vf-netdevs-visible', 'pass', 'ok')]);
    const alloc = { allocations: [{ resourceName: 'nvidia.com/rdma_vf', deviceId: vf, pod: 'p', namespace: 'ns', container: 'c' }] };
    const d = kubeDesired(observation(viewOf(before, { allocation: alloc }), checks), observation(viewOf(now, { allocation: alloc }), checks), { labelPrefix: 'railwatch.io/' });
    assert.deepEqual(d.events, []);
    assert.equal(d.condition?.status, 'True');
    assert.equal(d.labels['railwatch.io/rails'], '2');
    const unknown = kubeDesired(observation(viewOf(before), checks), observation(viewOf(now), checks), { labelPrefix: 'railwatch.io/' });
    assert.deepEqual(unknown.events?.map((e) => e.reason), ['VFsDisappeared']);
  });
});
