// What railwatch wants on its Node, from one observation and the one before it: the input of KubeSync.update().
import type { CheckReport } from '../checks/types.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { NodeSnapshot } from '../model.ts';
import type { AllocationView } from '../state.ts';
import { vfOwners } from '../topology/vf-owners.ts';
import { desiredCondition } from './condition.ts';
import { deriveEvents, type EventInput } from './events.ts';
import { desiredLabels } from './labels.ts';
import type { KubeDesired } from './reconciler.ts';

/** PCI addresses of the snapshot's VFs that the kubelet allocated to pods; undefined when allocations are unknown. */
export function allocatedVfs(snapshot: NodeSnapshot, allocation: AllocationView): Set<string> | undefined {
  if (allocation.allocations === undefined) return undefined;
  return new Set(vfOwners(snapshot, allocation.allocations).keys());
}

export function observation(snapshot: NodeSnapshot, checks: CheckReport | undefined, allocation: AllocationView): EventInput {
  const out: EventInput = { snapshot };
  if (checks !== undefined) out.checks = checks;
  const vfs = allocatedVfs(snapshot, allocation);
  if (vfs !== undefined) out.allocatedVfs = vfs;
  return out;
}

/** Labels, condition (when checks ran) and the events between the previous observation and this one. */
export function kubeDesired(prev: EventInput | undefined, cur: EventInput, config: Pick<Config, 'labelPrefix'>, log?: Logger): KubeDesired {
  const out: KubeDesired = { labels: desiredLabels(cur.snapshot, config, log), events: deriveEvents(prev, cur) };
  if (cur.checks !== undefined) out.condition = desiredCondition(cur.checks);
  return out;
}
