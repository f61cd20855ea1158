// Node labels: stable facts about the node's rails, a pure function of the NodeView and the label prefix.
// Nothing here moves with pod allocation (VF netdevs in pods, allocated device counts): a label change is a
// change of the node, never churn. Applied as a JSON merge patch on the Node, only keys under the own prefix.
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { Pf } from '../model.ts';
import type { NodeView } from '../view/derive.ts';

const NAME_RE = /^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;
const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export type LabelProblem = 'key-prefix' | 'key-name' | 'value';

/** Why a label key/value pair is not a valid Kubernetes label, or undefined when it is valid. */
export function validateLabel(key: string, value: string): LabelProblem | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !prefix.split('.').every((part) => DNS_LABEL_RE.test(part))) return 'key-prefix';
  }
  if (name.length === 0 || name.length > 63 || !NAME_RE.test(name)) return 'key-name';
  if (value.length > 63 || (value !== '' && !NAME_RE.test(value))) return 'value';
  return undefined;
}

/** Configured VFs of a PF: `sriov_numvfs`, or the VFs found when it could not be read. */
function configuredVfs(pf: Pf): number {
  return pf.numVfs ?? pf.vfs.length;
}

/**
 * The labels railwatch wants on its Node. Invalid keys or values (e.g. from an odd prefix) are skipped and logged.
 * - `<p>rdma`: `true` when the node has at least one rail (an RDMA-capable PF)
 * - `<p>rails`: number of rails
 * - `<p>vfs`: VFs configured (`sriov_numvfs`) on the rail PFs, summed; `<p>rail-<k>.vfs` per rail
 * - `<p>link-layer`: Ethernet | InfiniBand | mixed over the rail PFs; absent without rails or when unknown
 * - `<p>gpus`: number of GPUs
 */
export function desiredLabels(view: Pick<NodeView, 'rails' | 'gpus'>, config: Pick<Config, 'labelPrefix'>, log?: Logger): Record<string, string> {
  const p = config.labelPrefix;
  const candidate: [string, string][] = [];
  const rails = view.rails;
  candidate.push([`${p}rdma`, String(rails.length > 0)]);
  candidate.push([`${p}rails`, String(rails.length)]);
  let total = 0;
  const linkLayers = new Set<string>();
  const perRail: [string, string][] = [];
  for (const { rail, pf: { pf } } of rails) {
    const n = configuredVfs(pf);
    total += n;
    perRail.push([`${p}rail-${rail.rail}.vfs`, String(n)]);
    if (pf.linkLayer === 'Ethernet' || pf.linkLayer === 'InfiniBand') linkLayers.add(pf.linkLayer);
  }
  candidate.push([`${p}vfs`, String(total)]);
  candidate.push(...perRail);
  if (linkLayers.size === 1) candidate.push([`${p}link-layer`, [...linkLayers][0]!]);
  else if (linkLayers.size > 1) candidate.push([`${p}link-layer`, 'mixed']);
  candidate.push([`${p}gpus`, String(view.gpus.length)]);
  const out: Record<string, string> = {};
  for (const [key, value] of candidate) {
    const problem = validateLabel(key, value);
    if (problem !== undefined) {
      log?.warn('skipping invalid node label', { key, value, problem });
      continue;
    }
    out[key] = value;
  }
  return out;
}

/** The body of a JSON merge patch (RFC 7386) on a Node's labels. */
export interface LabelPatch {
  metadata: { labels: Record<string, string | null> };
}

/**
 * The merge patch that takes the Node's current labels to the desired ones, or undefined when nothing changes.
 * Sets changed or missing keys, deletes (`null`) keys under `prefix` that are not desired, and never names a key
 * outside `prefix` (desired keys outside it are ignored). No resourceVersion: the patch only touches railwatch's
 * own keys and sets them to absolute values, so applying it over a newer Node is still right.
 */
export function labelPatch(
  current: Readonly<Record<string, string>> | undefined,
  desired: Readonly<Record<string, string>>,
  prefix: string,
): LabelPatch | undefined {
  const cur = current ?? {};
  const labels: Record<string, string | null> = {};
  for (const key of Object.keys(desired).sort()) {
    if (!key.startsWith(prefix)) continue;
    const value = desired[key]!;
    if (cur[key] !== value) labels[key] = value;
  }
  for (const key of Object.keys(cur).sort()) {
    if (key.startsWith(prefix) && !Object.hasOwn(desired, key)) labels[key] = null;
  }
  return Object.keys(labels).length === 0 ? undefined : { metadata: { labels } };
}
