// AllocationRefresh alone, over a scripted pod-resources source: the view goes into the state on every read, a
// failed read counts as pod-resources, and the log says only what changed (a new reason, or reachable again).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AllocationRead, AllocationSource } from '../../agent/allocation/source.ts';
import { memoryLogger } from '../../agent/log.ts';
import { AllocationRefresh } from '../../agent/serve/allocation.ts';
import { createAgentState } from '../../agent/state.ts';
import { defaultConfig } from '../../agent/config/config.ts';

test('the allocation view follows every read; the log follows the changes', async () => {
  const reads: AllocationRead[] = [
    { view: { error: 'socket-absent' }, err: new Error('no socket') },
    { view: { error: 'socket-absent' }, err: new Error('no socket') },
    { view: { error: 'timeout' } },
    { view: { allocations: [], allocatable: [] } },
    { view: { allocations: [], allocatable: [] } },
    { view: { error: 'timeout' } },
  ];
  let closed = 0;
  const source: AllocationSource = {
    read: async () => reads.shift()!,
    close: () => void closed++,
  };
  const state = createAgentState(defaultConfig(), 'test');
  const log = memoryLogger();
  const refresh = new AllocationRefresh({ source, socketPath: '/run/kubelet.sock', state, log });
  const seen: unknown[] = [];
  for (let i = 0; i < 6; i++) {
    await refresh.refresh();
    seen.push(state.allocation);
  }
  assert.deepEqual(seen, [{ error: 'socket-absent' }, { error: 'socket-absent' }, { error: 'timeout' }, { allocations: [], allocatable: [] }, { allocations: [], allocatable: [] }, { error: 'timeout' }]);
  assert.equal(state.scanErrorsTotal.get('pod-resources'), 4, 'every failed read counts');
  assert.deepEqual(
    log.lines.map((l) => [l.level, l.msg, l.meta]),
    [
      ['warn', 'VF allocation unknown: cannot read the kubelet pod-resources API', { socket: '/run/kubelet.sock', reason: 'socket-absent', err: 'no socket' }],
      ['warn', 'VF allocation unknown: cannot read the kubelet pod-resources API', { socket: '/run/kubelet.sock', reason: 'timeout', err: undefined }],
      ['info', 'kubelet pod-resources reachable again', { socket: '/run/kubelet.sock' }],
      ['warn', 'VF allocation unknown: cannot read the kubelet pod-resources API', { socket: '/run/kubelet.sock', reason: 'timeout', err: undefined }],
    ],
  );
  refresh.close();
  assert.equal(closed, 1);
});

test('reachable from the start: nothing is logged', async () => {
  const state = createAgentState(defaultConfig(), 'test');
  const log = memoryLogger();
  const refresh = new AllocationRefresh({ source: { read: async () => ({ view: { allocations: [] } }), close() {} }, socketPath: 's', state, log });
  await refresh.refresh();
  await refresh.refresh();
  assert.deepEqual(log.lines, []);
  assert.equal(state.scanErrorsTotal.get('pod-resources'), undefined);
});
