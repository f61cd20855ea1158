// The fleet report: a pure function of the Nodes, the Events and the options. Every node lands in exactly one
// summary group: stale (it has the condition but its heartbeat is older than the threshold: the agent stopped
// writing, so what the condition says can no longer be trusted), else ready (status True), not ready (False or
// Unknown) or no condition. Not-ready nodes are grouped by failing step and reason: the condition's reason is the
// CamelCase id of the first failing check (agent/kube/condition.ts), which the check catalogue maps back to its step.
import { CATALOGUE } from '../checks/catalogue.ts';
import { checkReason } from '../checks/types.ts';
import { kubeTime } from '../kube/condition.ts';
import { compareText } from '../parse/values.ts';
import type { FleetEvent, FleetNode } from './read.ts';

export interface FleetOptions {
  nowMs: number;
  /** A condition whose lastHeartbeatTime is older than this is stale. */
  staleAfterMs: number;
  /** Labels whose values group nodes for outliers (instance type, node pool). */
  groupBy: readonly string[];
  labelPrefix: string;
  /** Events last seen within this window are shown. */
  eventsSinceMs: number;
  selector: string;
}

export type NodeState = 'ready' | 'notReady' | 'noCondition' | 'stale';

export interface FailingGroup {
  /** Step label (`5-nic-vfs`), `unknown` for a reason this version's catalogue does not know. */
  step: string;
  reason: string;
  count: number;
  /** The oldest lastTransitionTime in the group (RFC 3339), if any. */
  since?: string;
  /** Oldest transition first. */
  nodes: string[];
}

export interface Outlier {
  /** The grouping labels and their values, e.g. { 'node.kubernetes.io/instance-type': 'p5.48xlarge' }. */
  group: Record<string, string>;
  groupSize: number;
  /** `rails` or `vfs` (the label under the prefix). */
  label: string;
  /** The value most nodes of the group have, and how many do. */
  majority: string;
  majorityCount: number;
  /** The nodes that differ, with their value (`(none)` when the label is absent). */
  nodes: { name: string; value: string }[];
}

export interface EventGroup {
  reason: string;
  type: string;
  /** Occurrences (series counts summed). */
  count: number;
  nodes: string[];
  /** `namespace/name` of the pods the events are about (pod events only). */
  pods: string[];
  last?: string;
}

export interface FleetReport {
  generatedAt: string;
  selector: string;
  staleAfterSeconds: number;
  nodes: number;
  summary: Record<NodeState, string[]>;
  failing: FailingGroup[];
  outliers: Outlier[];
  groupBy: string[];
  eventsSinceSeconds: number;
  events: EventGroup[];
}

const STEP_BY_REASON: ReadonlyMap<string, string> = new Map(CATALOGUE.map((c) => [checkReason(c.id), c.stepLabel]));

/** The setup-chain step a condition reason names (`VfNetdevsVisible` -> `5-nic-vfs`), or `unknown`. */
export function stepOfReason(reason: string): string {
  return STEP_BY_REASON.get(reason) ?? 'unknown';
}

function parseMs(t: string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

export function nodeState(node: FleetNode, nowMs: number, staleAfterMs: number): NodeState {
  const c = node.condition;
  if (c === undefined) return 'noCondition';
  const beat = parseMs(c.lastHeartbeatTime);
  if (beat === undefined || nowMs - beat > staleAfterMs) return 'stale';
  return c.status === 'True' ? 'ready' : 'notReady';
}

function failingGroups(nodes: readonly FleetNode[]): FailingGroup[] {
  const groups = new Map<string, { step: string; reason: string; members: { name: string; t: number }[] }>();
  for (const n of nodes) {
    const reason = n.condition?.reason ?? '(no reason)';
    const step = stepOfReason(reason);
    const key = `${step}\t${reason}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { step, reason, members: [] }));
    g.members.push({ name: n.name, t: parseMs(n.condition?.lastTransitionTime) ?? Number.POSITIVE_INFINITY });
  }
  const out = [...groups.values()].map((g) => {
    g.members.sort((a, b) => a.t - b.t || compareText(a.name, b.name));
    const oldest = g.members[0]!.t;
    const fg: FailingGroup = { step: g.step, reason: g.reason, count: g.members.length, nodes: g.members.map((m) => m.name) };
    if (Number.isFinite(oldest)) fg.since = kubeTime(oldest);
    return { fg, oldest };
  });
  out.sort((a, b) => a.oldest - b.oldest || b.fg.count - a.fg.count || compareText(a.fg.step, b.fg.step) || compareText(a.fg.reason, b.fg.reason));
  return out.map((o) => o.fg);
}

function outliers(nodes: readonly FleetNode[], groupBy: readonly string[], prefix: string): Outlier[] {
  const groups = new Map<string, { group: Record<string, string>; members: FleetNode[] }>();
  for (const n of nodes) {
    const group: Record<string, string> = {};
    for (const l of groupBy) if (n.labels[l] !== undefined) group[l] = n.labels[l]!;
    if (Object.keys(group).length === 0) continue; // a node without any grouping label belongs to no pool
    const key = JSON.stringify(groupBy.map((l) => n.labels[l] ?? null));
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { group, members: [] }));
    g.members.push(n);
  }
  const out: Outlier[] = [];
  for (const g of [...groups.values()].sort((a, b) => compareText(JSON.stringify(a.group), JSON.stringify(b.group)))) {
    if (g.members.length < 3) continue; // "most nodes" needs at least three
    for (const label of ['rails', 'vfs']) {
      const values = g.members.map((n) => n.labels[`${prefix}${label}`] ?? '(none)');
      const counts = new Map<string, number>();
      for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
      const [majority, majorityCount] = [...counts.entries()].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]))[0]!;
      // a strict majority only: a pool split in half has no "most nodes" to differ from
      if (majorityCount === g.members.length || majorityCount * 2 <= g.members.length) continue;
      const differ = g.members.map((n, i) => ({ name: n.name, value: values[i]! })).filter((x) => x.value !== majority);
      differ.sort((a, b) => compareText(a.name, b.name));
      out.push({ group: g.group, groupSize: g.members.length, label, majority, majorityCount, nodes: differ });
    }
  }
  return out;
}

function eventGroups(events: readonly FleetEvent[], nodeNames: ReadonlySet<string>, sinceMs: number): EventGroup[] {
  const groups = new Map<string, { reason: string; type: string; count: number; nodes: Set<string>; pods: Set<string>; last: number }>();
  for (const e of events) {
    if (!nodeNames.has(e.node)) continue;
    if (e.lastMs === undefined || e.lastMs < sinceMs) continue;
    const key = `${e.reason}\t${e.type}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { reason: e.reason, type: e.type, count: 0, nodes: new Set(), pods: new Set(), last: 0 }));
    g.count += e.count;
    g.nodes.add(e.node);
    if (e.regarding.kind === 'Pod') g.pods.add(`${e.regarding.namespace ?? e.namespace}/${e.regarding.name}`);
    g.last = Math.max(g.last, e.lastMs);
  }
  return [...groups.values()]
    .sort((a, b) => (a.type === b.type ? 0 : a.type === 'Warning' ? -1 : 1) || b.count - a.count || compareText(a.reason, b.reason))
    .map((g) => ({ reason: g.reason, type: g.type, count: g.count, nodes: [...g.nodes].sort(compareText), pods: [...g.pods].sort(compareText), last: kubeTime(g.last) }));
}

export function fleetReport(nodes: readonly FleetNode[], events: readonly FleetEvent[], opts: FleetOptions): FleetReport {
  const sorted = [...nodes].sort((a, b) => compareText(a.name, b.name));
  const summary: Record<NodeState, string[]> = { ready: [], notReady: [], noCondition: [], stale: [] };
  const notReady: FleetNode[] = [];
  for (const n of sorted) {
    const s = nodeState(n, opts.nowMs, opts.staleAfterMs);
    summary[s].push(n.name);
    if (s === 'notReady') notReady.push(n);
  }
  return {
    generatedAt: kubeTime(opts.nowMs),
    selector: opts.selector,
    staleAfterSeconds: Math.round(opts.staleAfterMs / 1000),
    nodes: sorted.length,
    summary,
    failing: failingGroups(notReady),
    groupBy: [...opts.groupBy],
    outliers: outliers(sorted, opts.groupBy, opts.labelPrefix),
    eventsSinceSeconds: Math.round(opts.eventsSinceMs / 1000),
    events: eventGroups(events, new Set(sorted.map((n) => n.name)), opts.nowMs - opts.eventsSinceMs),
  };
}

/** 0 every node ready (or none selected), 1 otherwise. */
export function fleetExitCode(r: FleetReport): number {
  return r.summary.ready.length === r.nodes ? 0 : 1;
}

/** `2h30m`, `30m`, `45s` */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', s > 0 || seconds === 0 ? `${s}s` : ''].join('');
}

function names(list: readonly string[], max: number): string {
  if (list.length === 0) return '';
  const shown = list.slice(0, max).join(', ');
  return list.length > max ? `${shown}, ... (${list.length - max} more)` : shown;
}

/** The report as text for a person; at most `maxNames` node names per line. */
export function fleetText(r: FleetReport, maxNames: number): string {
  const lines: string[] = [];
  lines.push(`railwatch fleet: ${r.nodes} nodes (selector ${r.selector}) at ${r.generatedAt}`);
  if (r.nodes === 0) lines.push('  no node matches the selector');
  const row = (label: string, list: readonly string[], extra = '') => {
    lines.push(`  ${label.padEnd(13)}${String(list.length).padStart(6)}${extra}${list.length > 0 && maxNames > 0 ? `: ${names(list, maxNames)}` : ''}`);
  };
  row('ready', r.summary.ready);
  row('not ready', r.summary.notReady);
  row('no condition', r.summary.noCondition);
  row('stale', r.summary.stale, ` (heartbeat older than ${formatDuration(r.staleAfterSeconds)})`);
  if (r.failing.length > 0) {
    lines.push('', 'not ready, by failing step (oldest transition first):');
    for (const g of r.failing) {
      const since = g.since === undefined ? '' : ` since ${g.since}`;
      lines.push(`  ${g.step} ${g.reason}: ${g.count} ${g.count === 1 ? 'node' : 'nodes'}${since}${maxNames > 0 ? `: ${names(g.nodes, maxNames)}` : ''}`);
    }
  }
  if (r.outliers.length > 0) {
    lines.push('', `outliers (nodes grouped by ${r.groupBy.join(', ')}):`);
    for (const o of r.outliers) {
      const group = Object.values(o.group).join(' ');
      const differ = o.nodes.slice(0, maxNames).map((n) => `${n.name} (${n.value})`);
      const more = o.nodes.length > maxNames ? `, ... (${o.nodes.length - maxNames} more)` : '';
      lines.push(`  ${group}: ${o.label}=${o.majority} on ${o.majorityCount} of ${o.groupSize}; ${o.nodes.length} differ${differ.length > 0 ? `: ${differ.join(', ')}${more}` : ''}`);
    }
  }
  if (r.events.length > 0) {
    lines.push('', `railwatch events (last ${formatDuration(r.eventsSinceSeconds)}):`);
    for (const e of r.events) {
      const pods = e.pods.length > 0 ? `; pods: ${names(e.pods, maxNames)}` : '';
      lines.push(`  ${e.reason} (${e.type}): ${e.count} on ${e.nodes.length} ${e.nodes.length === 1 ? 'node' : 'nodes'}, last ${e.last}${maxNames > 0 ? `: ${names(e.nodes, maxNames)}` : ''}${pods}`);
    }
  }
  return lines.join('\n') + '\n';
}
