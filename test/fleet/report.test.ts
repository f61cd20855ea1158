// The fleet report as a pure function: summary groups, failing steps, outliers, events, text, exit codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetEvent, FleetNode } from '../../agent/fleet/read.ts';
import { keepEvent, keepNode } from '../../agent/fleet/read.ts';
import { fleetExitCode, fleetReport, fleetText, stepOfReason, type FleetOptions } from '../../agent/fleet/report.ts';
import { parseDuration } from '../../agent/cli/fleet.ts';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString().replace('.000Z', 'Z');
const MIN = 60_000;

function node(name: string, status: 'True' | 'False' | undefined, opts: { reason?: string; beatAgo?: number; since?: number; type?: string; rails?: string; vfs?: string } = {}): FleetNode {
  const labels: Record<string, string> = { 'railwatch.io/rdma': 'true', 'node.kubernetes.io/instance-type': opts.type ?? 'p5.48xlarge' };
  if (opts.rails !== '-') labels['railwatch.io/rails'] = opts.rails ?? '8';
  labels['railwatch.io/vfs'] = opts.vfs ?? '64';
  const n: FleetNode = { name, labels };
  if (status !== undefined) {
    n.condition = {
      type: 'RdmaNetworkReady',
      status,
      reason: opts.reason ?? (status === 'True' ? 'AllChecksPassed' : 'VfNetdevsVisible'),
      message: 'm',
      lastHeartbeatTime: iso(opts.beatAgo ?? MIN),
      lastTransitionTime: iso(opts.since ?? 60 * MIN),
    };
  }
  return n;
}

const OPTS: FleetOptions = { nowMs: NOW, staleAfterMs: 30 * MIN, groupBy: ['node.kubernetes.io/instance-type'], labelPrefix: 'railwatch.io/', eventsSinceMs: 60 * MIN, selector: 'railwatch.io/rdma=true' };

function event(node: string, reason: string, agoMs: number, extra: Partial<FleetEvent> = {}): FleetEvent {
  return { namespace: 'default', name: `${node}.${reason}`, reason, type: 'Warning', note: 'n', node, regarding: { kind: 'Node', name: node }, count: 1, lastMs: NOW - agoMs, ...extra };
}

describe('fleet report', () => {
  const nodes = [
    node('gpu-001', 'True'),
    node('gpu-002', 'True'),
    node('gpu-003', 'False', { reason: 'VfNetdevsVisible', since: 10 * MIN }),
    node('gpu-004', 'False', { reason: 'VfNetdevsVisible', since: 90 * MIN }),
    node('gpu-005', 'False', { reason: 'KernelIommu', since: 5 * MIN }),
    node('gpu-006', 'True', { beatAgo: 31 * MIN }),
    node('gpu-007', undefined),
    node('gpu-008', 'True', { rails: '7', vfs: '56' }),
    node('gpu-009', 'False', { reason: 'SomethingNew', since: 200 * MIN }),
    node('cpu-001', 'True', { type: 'm5.large', rails: '0', vfs: '0' }),
  ];
  const events = [
    event('gpu-003', 'VFsDisappeared', 5 * MIN, { count: 3 }),
    event('gpu-004', 'VFsDisappeared', 20 * MIN),
    event('gpu-004', 'VFsDisappeared', 2 * 60 * MIN), // too old
    event('gpu-008', 'RailCountChanged', MIN, { type: 'Normal' }),
    event('gpu-003', 'RailMisaligned', MIN, { namespace: 'ml', regarding: { kind: 'Pod', name: 'trainer-0', namespace: 'ml' } }),
    event('not-selected', 'VFsDisappeared', MIN),
  ];

  it('puts every node in one group and groups not-ready nodes by step and reason, oldest first', () => {
    const r = fleetReport(nodes, events, OPTS);
    assert.deepEqual(r, {
      generatedAt: '2026-12-03T12:00:00Z',
      selector: 'railwatch.io/rdma=true',
      staleAfterSeconds: 1800,
      nodes: 10,
      summary: {
        ready: ['cpu-001', 'gpu-001', 'gpu-002', 'gpu-008'],
        notReady: ['gpu-003', 'gpu-004', 'gpu-005', 'gpu-009'],
        noCondition: ['gpu-007'],
        stale: ['gpu-006'],
      },
      failing: [
        { step: 'unknown', reason: 'SomethingNew', count: 1, since: '2026-12-03T08:40:00Z', nodes: ['gpu-009'] },
        { step: '5-nic-vfs', reason: 'VfNetdevsVisible', count: 2, since: '2026-12-03T10:30:00Z', nodes: ['gpu-004', 'gpu-003'] },
        { step: '2-kernel-iommu', reason: 'KernelIommu', count: 1, since: '2026-12-03T11:55:00Z', nodes: ['gpu-005'] },
      ],
      groupBy: ['node.kubernetes.io/instance-type'],
      outliers: [
        { group: { 'node.kubernetes.io/instance-type': 'p5.48xlarge' }, groupSize: 9, label: 'rails', majority: '8', majorityCount: 8, nodes: [{ name: 'gpu-008', value: '7' }] },
        { group: { 'node.kubernetes.io/instance-type': 'p5.48xlarge' }, groupSize: 9, label: 'vfs', majority: '64', majorityCount: 8, nodes: [{ name: 'gpu-008', value: '56' }] },
      ],
      eventsSinceSeconds: 3600,
      events: [
        { reason: 'VFsDisappeared', type: 'Warning', count: 4, nodes: ['gpu-003', 'gpu-004'], pods: [], last: '2026-12-03T11:55:00Z' },
        { reason: 'RailMisaligned', type: 'Warning', count: 1, nodes: ['gpu-003'], pods: ['ml/trainer-0'], last: '2026-12-03T11:59:00Z' },
        { reason: 'RailCountChanged', type: 'Normal', count: 1, nodes: ['gpu-008'], pods: [], last: '2026-12-03T11:59:00Z' },
      ],
    });
    assert.equal(fleetExitCode(r), 1);
  });

  it('maps condition reasons back to steps through the check catalogue', () => {
    assert.equal(stepOfReason('VfNetdevsVisible'), '5-nic-vfs');
    assert.equal(stepOfReason('AllChecksPassed'), 'unknown');
  });

  it('prints at most K names per group in text', () => {
    const text = fleetText(fleetReport(nodes, events, OPTS), 1);
    assert.equal(
      text,
      [
        'railwatch fleet: 10 nodes (selector railwatch.io/rdma=true) at 2026-12-03T12:00:00Z',
        '  ready             4: cpu-001, ... (3 more)',
        '  not ready         4: gpu-003, ... (3 more)',
        '  no condition      1: gpu-007',
        '  stale             1 (heartbeat older than 30m): gpu-006',
        '',
        'not ready, by failing step (oldest transition first):',
        '  unknown SomethingNew: 1 node since 2026-12-03T08:40:00Z: gpu-009',
        '  5-nic-vfs VfNetdevsVisible: 2 nodes since 2026-12-03T10:30:00Z: gpu-004, ... (1 more)',
        '  2-kernel-iommu KernelIommu: 1 node since 2026-12-03T11:55:00Z: gpu-005',
        '',
        'outliers (nodes grouped by node.kubernetes.io/instance-type):',
        '  p5.48xlarge: rails=8 on 8 of 9; 1 differ: gpu-008 (7)',
        '  p5.48xlarge: vfs=64 on 8 of 9; 1 differ: gpu-008 (56)',
        '',
        'railwatch events (last 1h):',
        '  VFsDisappeared (Warning): 4 on 2 nodes, last 2026-12-03T11:55:00Z: gpu-003, ... (1 more)',
        '  RailMisaligned (Warning): 1 on 1 node, last 2026-12-03T11:59:00Z: gpu-003; pods: ml/trainer-0',
        '  RailCountChanged (Normal): 1 on 1 node, last 2026-12-03T11:59:00Z: gpu-008',
        '',
      ].join('\n'),
    );
  });

  it('exits 0 when every node is ready, and for no nodes at all', () => {
    assert.equal(fleetExitCode(fleetReport([node('a', 'True'), node('b', 'True')], [], OPTS)), 0);
    const none = fleetReport([], [], OPTS);
    assert.equal(fleetExitCode(none), 0);
    assert.match(fleetText(none, 10), /no node matches the selector/);
  });

  it('finds no outlier in a pool without a strict majority or with fewer than three nodes', () => {
    const split = [node('a', 'True', { rails: '8' }), node('b', 'True', { rails: '8' }), node('c', 'True', { rails: '4' }), node('d', 'True', { rails: '4' })];
    assert.deepEqual(fleetReport(split, [], OPTS).outliers, []);
    assert.deepEqual(fleetReport([node('a', 'True', { rails: '8' }), node('b', 'True', { rails: '4' })], [], OPTS).outliers, []);
    // a missing label is a value of its own
    const missing = [node('a', 'True'), node('b', 'True'), node('c', 'True', { rails: '-' })];
    assert.deepEqual(fleetReport(missing, [], OPTS).outliers.map((o) => o.nodes), [[{ name: 'c', value: '(none)' }]]);
  });

  it('a condition without a readable heartbeat is stale', () => {
    const n = node('a', 'True');
    n.condition!.lastHeartbeatTime = 'garbage';
    assert.deepEqual(fleetReport([n], [], OPTS).summary.stale, ['a']);
  });
});

describe('fleet object reading', () => {
  it('keeps a Node\'s name, labels and RdmaNetworkReady condition, and skips what is not a Node', () => {
    assert.deepEqual(
      keepNode({
        metadata: { name: 'n1', labels: { a: 'b', bad: 3 } },
        status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'RdmaNetworkReady', status: 'False', reason: 'R', message: 'm', lastHeartbeatTime: 't1', lastTransitionTime: 't0' }] },
      }),
      { name: 'n1', labels: { a: 'b' }, condition: { type: 'RdmaNetworkReady', status: 'False', reason: 'R', message: 'm', lastHeartbeatTime: 't1', lastTransitionTime: 't0' } },
    );
    assert.deepEqual(keepNode({ metadata: { name: 'n2' }, status: 'odd' }), { name: 'n2', labels: {} });
    for (const bad of [null, 'x', {}, { metadata: { labels: {} } }]) assert.equal(keepNode(bad), undefined);
  });

  it('keeps railwatch Events, resolving the node of a Pod event from the reporting instance', () => {
    const pod = {
      metadata: { name: 'e1', namespace: 'ml' },
      reportingController: 'railwatch.io/agent',
      reportingInstance: 'gpu-1',
      reason: 'RailMisaligned',
      type: 'Warning',
      note: 'GPU on rail 3',
      regarding: { kind: 'Pod', name: 'p', namespace: 'ml' },
      eventTime: '2026-12-03T11:00:00.000000Z',
      series: { count: 4, lastObservedTime: '2026-12-03T11:30:00.000000Z' },
    };
    assert.deepEqual(keepEvent(pod), {
      namespace: 'ml',
      name: 'e1',
      reason: 'RailMisaligned',
      type: 'Warning',
      note: 'GPU on rail 3',
      node: 'gpu-1',
      regarding: { kind: 'Pod', name: 'p', namespace: 'ml' },
      count: 4,
      lastMs: Date.UTC(2026, 11, 3, 11, 30),
    });
    assert.equal(keepEvent({ ...pod, reportingController: 'kubelet' }), undefined);
    assert.equal(keepEvent({ ...pod, reportingInstance: undefined }), undefined);
  });

  it('parses durations and rejects bad ones with the flag named', () => {
    assert.equal(parseDuration('stale-after', '30m'), 1800);
    assert.equal(parseDuration('stale-after', '1h30m'), 5400);
    assert.equal(parseDuration('stale-after', '90'), 90);
    for (const bad of ['', 'm', '30 minutes', '-5', '0s']) assert.throws(() => parseDuration('stale-after', bad), /--stale-after/);
  });
});
