// Step 5's VF admin checks from the PFs' netlink VF lists: a disabled VF held by a pod, an InfiniBand VF held by a pod
// with a zero GUID, two VFs of one PF with the same MAC.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runChecks } from '../../agent/checks/run.ts';
import { derive } from '../../agent/view/derive.ts';
import type { AllocationView } from '../../agent/state.ts';
import { buildBroadcomHost, buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { check, configWith, probesFor, resultOf, scan, UNKNOWN_ALLOCATION } from './helpers.ts';

const config = configWith(undefined);

function heldBy(host: FixtureHost, pf: string, n: number, pod = 'trainer-0'): AllocationView {
  return { allocations: [{ resourceName: 'nvidia.com/rail0_vfs', deviceId: host.vfAddress(pf, n), pod, namespace: 'ml', container: 'main' }], allocatable: [] };
}

describe('vf-link-state', () => {
  test('fails for a VF held by a pod with link-state disable; an idle disabled VF passes, named; unknown allocation warns', (t) => {
    const host = buildDgxHost({ rails: 1, vfsPerPf: 4 });
    t.after(() => host.cleanup());
    const pf = '0000:16:00.0';
    assert.equal(resultOf(check(host, config, heldBy(host, pf, 1)), 'vf-link-state').status, 'pass');
    host.ipLink('ens1f0np0').vfs[1] = { linkState: 'disable' };
    host.writeIpLink();
    const held = resultOf(check(host, config, heldBy(host, pf, 1)), 'vf-link-state');
    assert.equal(held.status, 'fail');
    assert.deepEqual(held.details, [`${host.vfAddress(pf, 1)} (vf1 of ens1f0np0): link-state disable, held by ml/trainer-0`]);
    const idle = resultOf(check(host, config, heldBy(host, pf, 2)), 'vf-link-state');
    assert.equal(idle.status, 'pass');
    assert.match(idle.finding, /1 idle VF\(s\) disabled/);
    assert.equal(resultOf(check(host, config, UNKNOWN_ALLOCATION), 'vf-link-state').status, 'warn');
  });

  test('skips with the reason when the VF lists were not read or the read failed', (t) => {
    const host = buildDgxHost({ rails: 1, vfsPerPf: 2 });
    t.after(() => host.cleanup());
    const snapshot = scan(host, config);
    const probes = probesFor(host, config, snapshot);
    assert.match(resultOf(runChecks(derive(snapshot, UNKNOWN_ALLOCATION, probes, config)), 'vf-link-state').finding, /were not read/);
    const failed = runChecks(derive(snapshot, UNKNOWN_ALLOCATION, probes, config, { links: [], issues: [], takenAtMs: 0, durationMs: 0, error: 'ENOENT: ip not found' }));
    assert.deepEqual([resultOf(failed, 'vf-mac-unique').status, resultOf(failed, 'vf-mac-unique').finding], ['skip', "the PFs' netlink VF lists could not be read (ENOENT: ip not found)"]);
  });
});

describe('vf-ib-guid', () => {
  test('fails for an InfiniBand VF held by a pod with a zero node or port GUID', (t) => {
    const host = buildDgxHost({ rails: 1, vfsPerPf: 3, linkLayer: 'InfiniBand' });
    t.after(() => host.cleanup());
    const pf = '0000:16:00.0';
    assert.equal(resultOf(check(host, config, heldBy(host, pf, 2)), 'vf-ib-guid').status, 'pass');
    host.ipLink('ibp16s0').vfs[2] = { portGuid: '00:00:00:00:00:00:00:00' };
    host.writeIpLink();
    const r = resultOf(check(host, config, heldBy(host, pf, 2)), 'vf-ib-guid');
    assert.equal(r.status, 'fail');
    assert.deepEqual(r.details, [`${host.vfAddress(pf, 2)} (vf2 of ibp16s0): port GUID zero, held by ml/trainer-0`]);
    assert.equal(resultOf(check(host, config, heldBy(host, pf, 0)), 'vf-ib-guid').status, 'pass');
    // MACs of InfiniBand VFs (all zero) are not judged
    assert.equal(resultOf(check(host, config, heldBy(host, pf, 0)), 'vf-mac-unique').status, 'skip');
  });
});

describe('vf-mac-unique', () => {
  test('fails for two VFs of one PF with the same MAC; zero MACs are unset, not duplicates', (t) => {
    const host = buildDgxHost({ rails: 2, vfsPerPf: 3 });
    t.after(() => host.cleanup());
    assert.equal(resultOf(check(host, config), 'vf-mac-unique').status, 'pass');
    const link = host.ipLink('ens1f0np0');
    link.vfs[0] = { mac: '00:00:00:00:00:00' };
    link.vfs[1] = { mac: '00:00:00:00:00:00' };
    host.writeIpLink();
    assert.equal(resultOf(check(host, config), 'vf-mac-unique').status, 'pass');
    link.vfs[2] = { mac: '02:aa:bb:cc:dd:ee' };
    host.ipLink('ens2f0np0').vfs[0] = { mac: '02:aa:bb:cc:dd:ee' };
    host.writeIpLink();
    // the same MAC on two different PFs is not this check's business
    assert.equal(resultOf(check(host, config), 'vf-mac-unique').status, 'pass');
    link.vfs[0] = { mac: '02:AA:BB:CC:DD:EE' };
    host.writeIpLink();
    const r = resultOf(check(host, config), 'vf-mac-unique');
    assert.equal(r.status, 'fail');
    assert.deepEqual(r.details, ['ens1f0np0: 02:aa:bb:cc:dd:ee on vf0, vf2']);
  });

  test('bnxt: settings are judged although its stats are not counters', (t) => {
    const host = buildBroadcomHost();
    t.after(() => host.cleanup());
    host.ipLink('ens3f0np0').vfs[0] = { linkState: 'disable' };
    host.writeIpLink();
    assert.equal(resultOf(check(host, config, heldBy(host, '0000:41:00.0', 0)), 'vf-link-state').status, 'fail');
  });
});
