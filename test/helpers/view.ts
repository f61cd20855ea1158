// The NodeView of a snapshot for tests: derive() with the probes found empty unless given.
import { emptyProbes, type Probes } from '../../agent/checks/probe.ts';
import { defaultConfig, type Config } from '../../agent/config/config.ts';
import type { NodeSnapshot } from '../../agent/model.ts';
import type { AllocationView } from '../../agent/state.ts';
import { derive, type NodeView } from '../../agent/view/derive.ts';

export function viewOf(snapshot: NodeSnapshot, opts: { config?: Config; allocation?: AllocationView; probes?: Probes } = {}): NodeView {
  const config = opts.config ?? defaultConfig();
  return derive(snapshot, opts.allocation ?? {}, opts.probes ?? emptyProbes(config), config);
}
