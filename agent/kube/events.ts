// Events about the Node (events.k8s.io/v1): derived from two consecutive observations, as plain specs; the
// reconciler turns them into Event objects, updates a recurring one's series instead of re-creating it, and rate
// limits a flapping source. Derivation is a pure function; nothing is emitted for the first observation (a restart
// of railwatch writes no events: the condition carries the current state).
import type { CheckReport, CheckResult } from '../checks/types.ts';
import type { NodeSnapshot, Pf, Vf } from '../model.ts';
import type { PodEventReason } from '../attach/judge.ts';
import { pfTitle } from '../view/derive.ts';

export type NodeEventReason = 'VFsDisappeared' | 'VFsRestored' | 'DriftDetected' | 'DriftResolved' | 'RailCountChanged' | PodEventReason;
export type NodeEventType = 'Normal' | 'Warning';

export const REPORTING_CONTROLLER = 'railwatch.io/agent';
/** Node is cluster-scoped; its events live in `default`, as the kubelet's do. */
export const EVENT_NAMESPACE = 'default';
const MAX_NOTE = 1024;

export interface NodeEventSpec {
  reason: NodeEventReason;
  type: NodeEventType;
  /** What the event is about within the node (`pf/<pci>`, `check/<id>`, `rails`); with reason, the series key. */
  subject: string;
  action: string;
  note: string;
  /** A Pod the event regards instead of the Node (agent/attach/pod-events.ts); the event lives in its namespace. */
  pod?: PodRef;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** The namespace an event is written to: the Pod's, or `default` for the Node. */
export function eventNamespace(spec: Pick<NodeEventSpec, 'pod'>): string {
  return spec.pod?.namespace ?? EVENT_NAMESPACE;
}

/** One observation: the snapshot, the checks on it, and the VFs allocated to pods (undefined: unknown). */
export interface EventInput {
  snapshot: NodeSnapshot;
  checks?: CheckReport;
  /** PCI addresses of VFs the kubelet has allocated to pods; undefined when allocations are unknown. */
  allocatedVfs?: ReadonlySet<string>;
}

export function seriesKey(spec: Pick<NodeEventSpec, 'reason' | 'subject'>): string {
  return `${spec.reason}\t${spec.subject}`;
}

function pfLabel(pf: Pf): string {
  return `PF ${pfTitle(pf)}${pf.rail === undefined ? '' : `, rail ${pf.rail}`}`;
}

function vfName(vf: Vf): string {
  return vf.netdev === undefined ? vf.pci : `${vf.pci} (${vf.netdev})`;
}

function listShort(items: readonly string[], max = 16): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function clip(text: string): string {
  return text.length <= MAX_NOTE ? text : text.slice(0, MAX_NOTE - 3) + '...';
}

/** VFs whose netdev is visible in the host, by PCI address. */
function vfsByPci(pf: Pf): Map<string, Vf> {
  return new Map(pf.vfs.map((v) => [v.pci, v]));
}

function vfEvents(prev: EventInput, cur: EventInput): NodeEventSpec[] {
  const out: NodeEventSpec[] = [];
  const prevPfs = new Map(prev.snapshot.pfs.map((p) => [p.pci, p]));
  for (const pf of cur.snapshot.pfs) {
    const before = prevPfs.get(pf.pci);
    if (before === undefined) continue;
    const was = vfsByPci(before);
    const now = vfsByPci(pf);
    const gone = [...was.values()].filter((v) => !now.has(v.pci));
    const came = [...now.values()].filter((v) => !was.has(v.pci));
    // A VF netdev that leaves the host namespace while its VF is not allocated to a pod is not explained by
    // allocation. Requiring the netdev to have been visible before keeps a pod's teardown (allocation released
    // before the netdev is back) from reading as a disappearance.
    const netdevGone: Vf[] = [];
    const netdevBack: Vf[] = [];
    for (const v of now.values()) {
      const old = was.get(v.pci);
      if (old === undefined) continue;
      if (old.netdev !== undefined && v.netdev === undefined && !(cur.allocatedVfs?.has(v.pci) ?? false)) netdevGone.push(old);
      if (old.netdev === undefined && v.netdev !== undefined && !(prev.allocatedVfs?.has(v.pci) ?? false)) netdevBack.push(v);
    }
    if (gone.length > 0 || netdevGone.length > 0) {
      const parts: string[] = [];
      if (gone.length > 0) parts.push(`${gone.length} VFs disappeared (${was.size} -> ${now.size}): ${listShort(gone.map(vfName))}`);
      if (netdevGone.length > 0) {
        const why = cur.allocatedVfs === undefined ? 'allocation unknown' : 'not allocated to a pod';
        parts.push(`${netdevGone.length} VF netdevs left the host namespace (${why}): ${listShort(netdevGone.map(vfName))}`);
      }
      out.push({ reason: 'VFsDisappeared', type: 'Warning', subject: `pf/${pf.pci}`, action: 'Scan', note: clip(`${pfLabel(pf)}: ${parts.join('; ')}`) });
    }
    if (came.length > 0 || netdevBack.length > 0) {
      const parts: string[] = [];
      if (came.length > 0) parts.push(`${came.length} VFs appeared (${was.size} -> ${now.size}): ${listShort(came.map(vfName))}`);
      if (netdevBack.length > 0) parts.push(`${netdevBack.length} VF netdevs back in the host namespace: ${listShort(netdevBack.map(vfName))}`);
      out.push({ reason: 'VFsRestored', type: 'Normal', subject: `pf/${pf.pci}`, action: 'Scan', note: clip(`${pfLabel(pf)}: ${parts.join('; ')}`) });
    }
  }
  return out;
}

function driftEvents(prev: CheckReport | undefined, cur: CheckReport | undefined): NodeEventSpec[] {
  if (prev === undefined || cur === undefined) return [];
  const before = new Map(prev.results.map((r) => [r.id, r]));
  const out: NodeEventSpec[] = [];
  const failed = (r: CheckResult | undefined) => r?.status === 'fail';
  for (const r of cur.results) {
    const old = before.get(r.id);
    if (failed(r) && !failed(old)) {
      out.push({ reason: 'DriftDetected', type: 'Warning', subject: `check/${r.id}`, action: 'Check', note: clip(`${r.stepLabel} ${r.id}: ${r.finding}`) });
    } else if (!failed(r) && failed(old)) {
      out.push({ reason: 'DriftResolved', type: 'Normal', subject: `check/${r.id}`, action: 'Check', note: clip(`${r.stepLabel} ${r.id}: ${r.finding}`) });
    }
  }
  return out;
}

/** Events between two observations; none without a previous one. */
export function deriveEvents(prev: EventInput | undefined, cur: EventInput): NodeEventSpec[] {
  if (prev === undefined) return [];
  const out = vfEvents(prev, cur);
  const railsBefore = prev.snapshot.rails.length;
  const railsNow = cur.snapshot.rails.length;
  if (railsBefore !== railsNow) {
    out.push({
      reason: 'RailCountChanged',
      type: railsNow < railsBefore ? 'Warning' : 'Normal',
      subject: 'rails',
      action: 'Scan',
      note: `rails ${railsBefore} -> ${railsNow}`,
    });
  }
  out.push(...driftEvents(prev.checks, cur.checks));
  return out;
}

/** Kubernetes MicroTime: RFC 3339 with six fractional digits, UTC. */
export function microTime(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  const micros = String(Math.floor((ms % 1) * 1000)).padStart(3, '0');
  return iso.slice(0, -1) + micros + 'Z';
}

export interface NodeRef {
  name: string;
  uid: string;
}

/** An events.k8s.io/v1 Event (the fields railwatch sets). */
export interface KubeEvent {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  note: string;
  type: NodeEventType;
  regarding: { apiVersion: 'v1'; kind: 'Node' | 'Pod'; name: string; uid: string; namespace?: string };
  series?: { count: number; lastObservedTime: string };
}

export function eventObject(spec: NodeEventSpec, node: NodeRef, name: string, nowMs: number): KubeEvent {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name, namespace: eventNamespace(spec) },
    eventTime: microTime(nowMs),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: node.name,
    action: spec.action,
    reason: spec.reason,
    note: spec.note,
    type: spec.type,
    regarding:
      spec.pod === undefined
        ? { apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid }
        : { apiVersion: 'v1', kind: 'Pod', namespace: spec.pod.namespace, name: spec.pod.name, uid: spec.pod.uid },
  };
}

/** Event name as client-go makes it: `<object name>.<hex nanoseconds>`, with a sequence to keep it unique. */
export function eventName(nodeName: string, nowMs: number, seq: number): string {
  const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(seq % 1_000_000);
  return `${nodeName}.${nanos.toString(16)}`;
}

/** A token bucket: `burst` tokens, one more every `refillMs`. */
export interface TokenBucket {
  take(nowMs: number): boolean;
  /** ms until a token is available (0 when one is). */
  waitMs(nowMs: number): number;
}

export function createTokenBucket(burst: number, refillMs: number, startMs: number): TokenBucket {
  let tokens = burst;
  let last = startMs;
  function refill(now: number): void {
    if (now <= last) return;
    tokens = Math.min(burst, tokens + (now - last) / refillMs);
    last = now;
  }
  return {
    take(now) {
      refill(now);
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      return false;
    },
    waitMs(now) {
      refill(now);
      return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * refillMs);
    },
  };
}
