import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../agent/config/config.ts';
import { viewOf } from '../helpers/view.ts';
import { desiredLabels, labelPatch, validateLabel } from '../../agent/kube/labels.ts';
import { memoryLogger } from '../../agent/log.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';

const hosts: FixtureHost[] = [];
after(() => hosts.forEach((h) => h.cleanup()));

function scan(host: FixtureHost) {
  hosts.push(host);
  return scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} }, now: () => 0 });
}

describe('desiredLabels', () => {
  it('describes an 8-rail RoCE node', () => {
    const snap = scan(buildDgxHost({ rails: 8, vfsPerPf: 4 }));
    const want: Record<string, string> = {
      'railwatch.io/rdma': 'true',
      'railwatch.io/rails': '8',
      'railwatch.io/vfs': '32',
      'railwatch.io/link-layer': 'Ethernet',
      'railwatch.io/gpus': '8',
    };
    for (let k = 0; k < 8; k++) want[`railwatch.io/rail-${k}.vfs`] = '4';
    assert.deepEqual(desiredLabels(viewOf(snap), defaultConfig()), want);
  });

  it('says InfiniBand for an IB node and uses the configured prefix', () => {
    const snap = scan(buildDgxHost({ rails: 2, vfsPerPf: 3, linkLayer: 'InfiniBand', gpus: false }));
    assert.deepEqual(desiredLabels(viewOf(snap), { labelPrefix: 'example.com/' }), {
      'example.com/rdma': 'true',
      'example.com/rails': '2',
      'example.com/vfs': '6',
      'example.com/rail-0.vfs': '3',
      'example.com/rail-1.vfs': '3',
      'example.com/link-layer': 'InfiniBand',
      'example.com/gpus': '0',
    });
  });

  it('omits link-layer and says rdma=false without rails', () => {
    const snap = scan(buildDgxHost({ rails: 0 }));
    assert.deepEqual(desiredLabels(viewOf(snap), defaultConfig()), {
      'railwatch.io/rdma': 'false',
      'railwatch.io/rails': '0',
      'railwatch.io/vfs': '0',
      'railwatch.io/gpus': '0',
    });
  });

  it('does not move when a VF netdev goes into a pod (allocation is not a node fact)', () => {
    const host = buildDgxHost({ rails: 2, vfsPerPf: 4 });
    const before = desiredLabels(viewOf(scan(host)), defaultConfig());
    const snap = scan(host);
    const pf = snap.rails[0]!.pf;
    host.moveVfNetdevToPod(host.vfAddress(pf, 1));
    assert.deepEqual(desiredLabels(viewOf(scan(host)), defaultConfig()), before);
  });

  it('changes the VF count when a VF is removed', () => {
    const host = buildDgxHost({ rails: 2, vfsPerPf: 4 });
    const pf = scan(host).rails[1]!.pf;
    host.removeVf(pf, 3);
    host.replace(`${host.devPath(pf)}/sriov_numvfs`, '3');
    const labels = desiredLabels(viewOf(scan(host)), defaultConfig());
    assert.equal(labels['railwatch.io/rail-1.vfs'], '3');
    assert.equal(labels['railwatch.io/vfs'], '7');
  });

  it('skips invalid labels with a log line', () => {
    const snap = scan(buildDgxHost({ rails: 1, vfsPerPf: 1, gpus: false }));
    const log = memoryLogger();
    const prefix = 'x'.repeat(60) + '.' + 'y'.repeat(5) + '/';
    const labels = desiredLabels(viewOf(snap), { labelPrefix: prefix }, log);
    // a long but valid prefix: all six labels kept, nothing logged
    assert.equal(Object.keys(labels).length, 6);
    const bad = desiredLabels(viewOf(snap), { labelPrefix: 'Bad_Prefix/' }, log);
    assert.deepEqual(bad, {});
    assert.equal(log.lines.filter((l) => l.msg === 'skipping invalid node label').length, 6);
    assert.deepEqual(log.lines[0], { level: 'warn', msg: 'skipping invalid node label', meta: { key: 'Bad_Prefix/rdma', value: 'true', problem: 'key-prefix' } });
  });
});

describe('validateLabel', () => {
  const cases: [string, string, ReturnType<typeof validateLabel>][] = [
    ['railwatch.io/rails', '8', undefined],
    ['railwatch.io/rail-0.vfs', '16', undefined],
    ['rails', '', undefined],
    ['railwatch.io/' + 'a'.repeat(63), 'x', undefined],
    ['railwatch.io/' + 'a'.repeat(64), 'x', 'key-name'],
    ['railwatch.io/-bad', 'x', 'key-name'],
    ['railwatch.io/', 'x', 'key-name'],
    ['Railwatch.io/x', 'x', 'key-prefix'],
    ['/x', 'x', 'key-prefix'],
    [`${'a'.repeat(254)}/x`, 'x', 'key-prefix'],
    ['railwatch.io/x', 'a'.repeat(63), undefined],
    ['railwatch.io/x', 'a'.repeat(64), 'value'],
    ['railwatch.io/x', 'has space', 'value'],
    ['railwatch.io/x', '-lead', 'value'],
    ['railwatch.io/x', 'trail.', 'value'],
    ['railwatch.io/x', 'Mixed_case-1.2', undefined],
  ];
  for (const [key, value, want] of cases) {
    it(`${key.slice(0, 40)}=${value.slice(0, 20)} -> ${want ?? 'valid'}`, () => assert.equal(validateLabel(key, value), want));
  }
});

describe('labelPatch', () => {
  it('is undefined when nothing changes', () => {
    assert.equal(labelPatch({ 'railwatch.io/rails': '8', other: 'x' }, { 'railwatch.io/rails': '8' }, 'railwatch.io/'), undefined);
  });

  it('sets changed keys, nulls stale own keys, leaves other prefixes alone', () => {
    const current = {
      'railwatch.io/rails': '7',
      'railwatch.io/rail-7.vfs': '4',
      'railwatch.io/gpus': '8',
      'nvidia.com/gpu.count': '8',
      'railwatch.iox/other': 'keep',
      'kubernetes.io/hostname': 'n1',
    };
    const desired = { 'railwatch.io/rails': '8', 'railwatch.io/gpus': '8', 'railwatch.io/vfs': '32', 'nvidia.com/gpu.count': '0' };
    assert.deepEqual(labelPatch(current, desired, 'railwatch.io/'), {
      metadata: { labels: { 'railwatch.io/rails': '8', 'railwatch.io/vfs': '32', 'railwatch.io/rail-7.vfs': null } },
    });
  });

  it('creates every key on a Node without labels', () => {
    assert.deepEqual(labelPatch(undefined, { 'railwatch.io/rdma': 'false' }, 'railwatch.io/'), { metadata: { labels: { 'railwatch.io/rdma': 'false' } } });
  });
});
