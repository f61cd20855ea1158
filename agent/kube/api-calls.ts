// Every Kubernetes API call railwatch makes, as (API group, resource, verb).
// The single source of truth for RBAC: manifests/base/clusterrole.yaml must grant exactly these, no more and no
// fewer (test/manifests/manifests.test.ts checks both directions). Add a call here before the code makes it.
import { compareText } from '../parse/values.ts';

/**
 * RBAC verbs railwatch uses. A PATCH request is the `patch` verb; a GET with `watch=true` is `watch`; a GET on a
 * collection is `list`.
 */
export type KubeVerb = 'get' | 'list' | 'watch' | 'patch' | 'create';

export interface KubeApiCall {
  /** API group: '' is the core group. */
  readonly group: string;
  /** Resource, with `/subresource` where the call targets one. */
  readonly resource: string;
  readonly verb: KubeVerb;
}

export const KUBE_API_CALLS = [
  // The agent's own Node: read it, watch it (field selector metadata.name=<node>), merge-patch its labels.
  { group: '', resource: 'nodes', verb: 'get' },
  { group: '', resource: 'nodes', verb: 'watch' },
  { group: '', resource: 'nodes', verb: 'patch' },
  // The RdmaNetworkReady condition.
  { group: '', resource: 'nodes/status', verb: 'patch' },
  // Events about the Node (events.k8s.io/v1 only; a recurring event is patched to bump its series count).
  { group: 'events.k8s.io', resource: 'events', verb: 'create' },
  { group: 'events.k8s.io', resource: 'events', verb: 'patch' },
  // A pod that holds VFs, read by name when it first appears in the kubelet's allocation (and again, bounded,
  // until Multus has written network-status): its networks and network-status annotations. Never listed or watched.
  { group: '', resource: 'pods', verb: 'get' },
  // Each NetworkAttachmentDefinition such a pod names, by name, cached: its resourceName and CNI config.
  { group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', verb: 'get' },
] as const satisfies readonly KubeApiCall[];

/**
 * Every call `railwatch fleet` makes: read-only, for a person or a CI job, not the agent.
 * manifests/fleet-reader/clusterrole.yaml grants exactly these (test/manifests/manifests.test.ts).
 */
export const FLEET_API_CALLS = [
  // Nodes by label selector, paginated with limit/continue: labels and the RdmaNetworkReady condition.
  { group: '', resource: 'nodes', verb: 'list' },
  // railwatch's Events in every namespace (Node events in `default`, Pod events in the pods' namespaces).
  { group: 'events.k8s.io', resource: 'events', verb: 'list' },
] as const satisfies readonly KubeApiCall[];

/** One RBAC PolicyRule, the shape a ClusterRole holds. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Groups calls into PolicyRules, one per (group, resource), verbs sorted: the ClusterRole these calls need. */
export function policyRulesFor(calls: readonly KubeApiCall[]): PolicyRule[] {
  const byKey = new Map<string, { group: string; resource: string; verbs: Set<string> }>();
  for (const call of calls) {
    const key = `${call.group}\u0000${call.resource}`;
    const entry = byKey.get(key) ?? { group: call.group, resource: call.resource, verbs: new Set<string>() };
    entry.verbs.add(call.verb);
    byKey.set(key, entry);
  }
  return [...byKey.values()]
    .sort((a, b) => (a.group === b.group ? compareText(a.resource, b.resource) : compareText(a.group, b.group)))
    .map((e) => ({ apiGroups: [e.group], resources: [e.resource], verbs: [...e.verbs].sort() }));
}
