// The agent's live state: the latest snapshot and everything derived from it, shared by the HTTP server,
// the Kubernetes reconciler and the rescan loop. Replaced, never mutated in place (except the counters).
import type { Config } from './config/config.ts';
import type { AttachmentView } from './attach/judge.ts';
import type { CheckReport } from './checks/types.ts';
import type { NodeSnapshot } from './model.ts';
import type { VfInfoReading } from './netlink/vf-info.ts';
import type { DeviceOwner } from './topology/vf-owners.ts';
import type { NodeView } from './view/derive.ts';

export interface AllocationView {
  /** Device allocations from the kubelet; undefined when the kubelet could not be asked. */
  allocations?: readonly DeviceOwner[];
  /** Allocatable device ids per resource; undefined when unknown. */
  allocatable?: readonly { resourceName: string; deviceIds: readonly string[] }[];
  /** Why allocations are unknown (socket-absent, unavailable, timeout, protocol). */
  error?: string;
}

export interface AgentState {
  config: Config;
  version: string;
  /** The latest snapshot; undefined until the first scan completes. */
  snapshot?: NodeSnapshot;
  allocation: AllocationView;
  /** The facts derived once from snapshot, allocation, probes and config; set with the snapshot. */
  view?: NodeView;
  checks?: CheckReport;
  /** Pods holding VFs and their attachments (step 11), from the latest scan. */
  attachments?: AttachmentView;
  /** The PFs' netlink VF lists read with the latest scan (admin settings); counters are re-read at scrape time. */
  vfInfo?: VfInfoReading;
  /** Cumulative skipped attributes per scanner since start. */
  scanErrorsTotal: Map<string, number>;
  /** Cumulative Kubernetes API requests by `${verb}\t${code}`. */
  kubeRequests: Map<string, number>;
  /** Cumulative scans by trigger (interval, netlink, uevent, file, startup). */
  scansTotal: Map<string, number>;
}

export function createAgentState(config: Config, version: string): AgentState {
  return {
    config,
    version,
    allocation: {},
    scanErrorsTotal: new Map(),
    kubeRequests: new Map(),
    scansTotal: new Map(),
  };
}

export function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
