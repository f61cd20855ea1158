import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckResult } from '../../agent/checks/types.ts';
import { conditionPatch, desiredCondition, heartbeatDueInMs, kubeTime } from '../../agent/kube/condition.ts';
import { report } from './harness.ts';

function result(id: string, step: number, status: CheckResult['status'], finding: string): CheckResult {
  return { id, step, stepLabel: `${step}-${id}`, title: id.replace(/-/g, ' '), status, finding };
}


const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);
const T1 = T0 + 60_000;

describe('desiredCondition', () => {
  it('is False with the first failing check as CamelCase reason and its finding as message', () => {
    const r = report([
      result('kernel-iommu', 1, 'pass', 'IOMMU on'),
      result('vf-netdevs-visible', 6, 'fail', '2 of 32 VF netdevs missing'),
      result('rail-count', 10, 'fail', '7 of 8 rails'),
    ]);
    assert.deepEqual(desiredCondition(r), {
      type: 'RdmaNetworkReady',
      status: 'False',
      reason: 'VfNetdevsVisible',
      message: 'vf netdevs visible: 2 of 32 VF netdevs missing',
    });
  });

  it('is True with AllChecksPassed, naming warnings', () => {
    const r = report([result('kernel-iommu', 1, 'pass', 'on'), result('pcie-link', 4, 'warn', 'x8'), result('hugepages', 3, 'skip', 'none wanted')]);
    assert.deepEqual(desiredCondition(r), { type: 'RdmaNetworkReady', status: 'True', reason: 'AllChecksPassed', message: '1 setup checks pass; warnings: pcie-link' });
  });
});

describe('conditionPatch', () => {
  const ready = { type: 'RdmaNetworkReady' as const, status: 'True' as const, reason: 'AllChecksPassed', message: 'ok' };
  const broken = { type: 'RdmaNetworkReady' as const, status: 'False' as const, reason: 'VfNetdevsVisible', message: 'missing' };

  it('adds the condition with both times at now', () => {
    assert.deepEqual(conditionPatch([{ type: 'Ready', status: 'True' }], ready, T0), {
      status: { conditions: [{ ...ready, lastHeartbeatTime: '2025-01-01T00:00:00Z', lastTransitionTime: '2025-01-01T00:00:00Z' }] },
    });
  });

  it('writes nothing when status, reason and message are the same', () => {
    const current = [{ ...ready, lastHeartbeatTime: kubeTime(T0), lastTransitionTime: kubeTime(T0) }];
    assert.equal(conditionPatch(current, ready, T1), undefined);
  });

  it('moves lastTransitionTime when the status changes', () => {
    const current = [{ ...ready, lastHeartbeatTime: kubeTime(T0), lastTransitionTime: kubeTime(T0) }];
    assert.deepEqual(conditionPatch(current, broken, T1), {
      status: { conditions: [{ ...broken, lastHeartbeatTime: '2025-01-01T00:01:00Z', lastTransitionTime: '2025-01-01T00:01:00Z' }] },
    });
  });

  it('keeps lastTransitionTime when only reason or message changes', () => {
    const current = [{ ...broken, lastHeartbeatTime: kubeTime(T0), lastTransitionTime: kubeTime(T0) }];
    const next = { ...broken, reason: 'RailCount', message: '7 of 8' };
    assert.deepEqual(conditionPatch(current, next, T1), {
      status: { conditions: [{ ...next, lastHeartbeatTime: '2025-01-01T00:01:00Z', lastTransitionTime: '2025-01-01T00:00:00Z' }] },
    });
  });

  it('refreshes only lastHeartbeatTime once the heartbeat period has passed', () => {
    const current = [{ ...broken, lastHeartbeatTime: kubeTime(T0), lastTransitionTime: kubeTime(T0 - 3_600_000) }];
    assert.equal(conditionPatch(current, broken, T0 + 599_000, 600_000), undefined);
    assert.deepEqual(conditionPatch(current, broken, T0 + 600_000, 600_000), {
      status: { conditions: [{ ...broken, lastHeartbeatTime: '2025-01-01T00:10:00Z', lastTransitionTime: '2024-12-31T23:00:00Z' }] },
    });
    // without a period the unchanged condition is never rewritten
    assert.equal(conditionPatch(current, broken, T0 + 86_400_000), undefined);
  });
});

describe('heartbeatDueInMs', () => {
  const c = (beat?: string) => [{ type: 'RdmaNetworkReady', status: 'True', ...(beat === undefined ? {} : { lastHeartbeatTime: beat }) }];
  it('counts down from the last heartbeat, 0 when due or unreadable, undefined without a period or a condition', () => {
    assert.equal(heartbeatDueInMs(c(kubeTime(T0)), 'RdmaNetworkReady', 600_000, T0 + 100_000), 500_000);
    assert.equal(heartbeatDueInMs(c(kubeTime(T0)), 'RdmaNetworkReady', 600_000, T0 + 700_000), 0);
    assert.equal(heartbeatDueInMs(c('yesterday'), 'RdmaNetworkReady', 600_000, T0), 0);
    assert.equal(heartbeatDueInMs(c(), 'RdmaNetworkReady', 600_000, T0), 0);
    assert.equal(heartbeatDueInMs(c(kubeTime(T0)), 'RdmaNetworkReady', undefined, T0), undefined);
    assert.equal(heartbeatDueInMs([], 'RdmaNetworkReady', 600_000, T0), undefined);
  });
});
