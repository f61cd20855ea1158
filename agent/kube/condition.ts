// The RdmaNetworkReady node condition: a pure function of the check report, patched on nodes/status only when
// its status, reason or message changes.
//
// Patch type: `application/strategic-merge-patch+json`. Node.status.conditions is a list with the patch merge
// key `type`, so a strategic merge patch that names one condition merges it into the list by type and leaves the
// kubelet's conditions (Ready, MemoryPressure, ...) alone. A JSON merge patch (RFC 7386) would replace the whole
// array and wipe them; a JSON patch (RFC 6902) would address the condition by array index, which races with the
// kubelet. So strategic merge it is.
//
// lastHeartbeatTime is the time of the last write, refreshed on a slow period (conditionHeartbeatSeconds, default
// 600 s) even when nothing changed: without it a dead agent's condition looks alive forever, and `railwatch fleet`
// calls a condition stale when its heartbeat is older than three periods. A write every scan interval would be
// churn (10,000 nodes x 360 writes/h at 10 s); every 10 min it is 10,000 / 600 s = about 17 writes/s for the whole
// cluster. lastTransitionTime changes only when status changes (a new reason or message with the same status keeps
// the old transition time).
import type { CheckReport } from '../checks/types.ts';
import { checkReason } from '../checks/types.ts';

export const CONDITION_TYPE = 'RdmaNetworkReady';
export const READY_REASON = 'AllChecksPassed';
const MAX_MESSAGE = 1024;

export interface DesiredCondition {
  type: typeof CONDITION_TYPE;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** A NodeCondition as it appears in Node.status.conditions. */
export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export interface ConditionPatch {
  status: { conditions: NodeCondition[] };
}

function clip(text: string): string {
  return text.length <= MAX_MESSAGE ? text : text.slice(0, MAX_MESSAGE - 3) + '...';
}

export function desiredCondition(report: CheckReport): DesiredCondition {
  const failing = report.firstFailing ?? (report.ready ? undefined : report.results.find((r) => r.status === 'fail'));
  if (failing !== undefined) {
    return { type: CONDITION_TYPE, status: 'False', reason: checkReason(failing.id), message: clip(`${failing.title}: ${failing.finding}`) };
  }
  const passed = report.results.filter((r) => r.status === 'pass').length;
  const warnings = report.results.filter((r) => r.status === 'warn').map((r) => r.id);
  const message = `${passed} setup checks pass` + (warnings.length > 0 ? `; warnings: ${warnings.join(', ')}` : '');
  return { type: CONDITION_TYPE, status: 'True', reason: READY_REASON, message: clip(message) };
}

/** Kubernetes Time: RFC 3339 in UTC with second precision. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Milliseconds until the condition's heartbeat is due (0: due now), or undefined without a heartbeat period or
 * without a condition of the type to refresh.
 */
export function heartbeatDueInMs(current: readonly NodeCondition[] | undefined, type: string, heartbeatMs: number | undefined, nowMs: number): number | undefined {
  if (heartbeatMs === undefined) return undefined;
  const existing = current?.find((c) => c.type === type);
  if (existing === undefined) return undefined;
  const beat = existing.lastHeartbeatTime === undefined ? NaN : Date.parse(existing.lastHeartbeatTime);
  if (Number.isNaN(beat)) return 0;
  return Math.max(0, beat + heartbeatMs - nowMs);
}

/**
 * The strategic merge patch body for nodes/status, or undefined when the Node already carries the desired
 * condition (same status, reason and message) and, with a heartbeat period, its heartbeat is not yet due.
 */
export function conditionPatch(
  current: readonly NodeCondition[] | undefined,
  desired: DesiredCondition,
  nowMs: number,
  heartbeatMs?: number,
): ConditionPatch | undefined {
  const existing = current?.find((c) => c.type === desired.type);
  if (existing !== undefined && existing.status === desired.status && existing.reason === desired.reason && existing.message === desired.message) {
    if (heartbeatDueInMs(current, desired.type, heartbeatMs, nowMs) !== 0) return undefined;
  }
  const now = kubeTime(nowMs);
  const transition = existing !== undefined && existing.status === desired.status && existing.lastTransitionTime !== undefined ? existing.lastTransitionTime : now;
  return {
    status: {
      conditions: [
        {
          type: desired.type,
          status: desired.status,
          reason: desired.reason,
          message: desired.message,
          lastHeartbeatTime: now,
          lastTransitionTime: transition,
        },
      ],
    },
  };
}
