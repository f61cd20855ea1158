// What railwatch wants on its Node, from one observation and the one before it: the input of KubeSync.update().
import type { CheckReport } from '../checks/types.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { allocatedVfs, type NodeView } from '../view/derive.ts';
import { desiredCondition } from './condition.ts';
import { deriveEvents, type EventInput } from './events.ts';
import { desiredLabels } from './labels.ts';
import type { KubeDesired } from './reconciler.ts';

/** One observation for the events: the view's snapshot, its checks and the VFs it found allocated to pods. */
export interface Observation extends EventInput {
  view: NodeView;
}

export function observation(view: NodeView, checks: CheckReport | undefined): Observation {
  const out: Observation = { snapshot: view.snapshot, view };
  if (checks !== undefined) out.checks = checks;
  const vfs = allocatedVfs(view);
  if (vfs !== undefined) out.allocatedVfs = vfs;
  return out;
}

/** Labels, condition (when checks ran) and the events between the previous observation and this one. */
export function kubeDesired(prev: EventInput | undefined, cur: Observation, config: Pick<Config, 'labelPrefix'>, log?: Logger): KubeDesired {
  const out: KubeDesired = { labels: desiredLabels(cur.view, config, log), events: deriveEvents(prev, cur) };
  if (cur.checks !== undefined) out.condition = desiredCondition(cur.checks);
  return out;
}
