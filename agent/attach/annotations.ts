// Parsers for what Multus reads and writes on a pod, and for a NetworkAttachmentDefinition (the Network Plumbing
// Working Group's "Kubernetes Network Custom Resource Definition De-facto Standard", v1.2):
// - `k8s.v1.cni.cncf.io/networks` on the pod: the networks it asks for, as a comma-separated list
//   (`[namespace/]name[@interface]`) or a JSON list of network selection elements;
// - `k8s.v1.cni.cncf.io/network-status`, written by Multus once the sandbox is up: one entry per attached network
//   (`name` as namespace/name, `interface`, `mac`, `device-info` with the VF's PCI address);
// - a NAD: the `k8s.v1.cni.cncf.io/resourceName` annotation (the device-plugin resource Multus takes the VF from)
//   and `spec.config`, a CNI config that is one plugin or a `plugins` list.
// Every parser returns a value or an error text; none throws on bad input.

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';

/** One network a pod asks for. */
export interface NetworkSelection {
  namespace: string;
  name: string;
  /** The interface name asked for (`@net3`, or `interface` in the JSON form). */
  interface?: string;
}

/** One entry of network-status. */
export interface NetworkStatusEntry {
  /** As Multus writes it: `namespace/name` for a NAD, the cluster network's name for the default one. */
  name: string;
  interface?: string;
  mac?: string;
  default: boolean;
  /** `device-info.pci.pci-address` when `device-info.type` is `pci`, lower case. */
  pciAddress?: string;
}

export type Parsed<T> = { ok: T } | { error: string };

/** DNS-1123 subdomain, as Kubernetes object names and namespaces are. */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Linux interface names: up to 15 bytes, no `/`, no whitespace. */
const IFNAME = /^[^\s/:]{1,15}$/;

function describe(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v;
}

function clipText(text: string, max = 80): string {
  return text.length <= max ? text : text.slice(0, max - 3) + '...';
}

function checkSelection(sel: NetworkSelection, where: string): string | undefined {
  if (!NAME.test(sel.namespace)) return `${where}: namespace "${clipText(sel.namespace)}" is not a valid namespace name`;
  if (!NAME.test(sel.name)) return `${where}: "${clipText(sel.name)}" is not a valid NetworkAttachmentDefinition name`;
  if (sel.interface !== undefined && !IFNAME.test(sel.interface)) return `${where}: interface "${clipText(sel.interface)}" is not a valid interface name`;
  return undefined;
}

/** Both forms of the networks annotation; a namespace left out is the pod's own. */
export function parseNetworks(value: string, podNamespace: string): Parsed<NetworkSelection[]> {
  const text = value.trim();
  if (text === '') return { ok: [] };
  const out: NetworkSelection[] = [];
  if (text.startsWith('[') || text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return { error: `not valid JSON: ${(err as Error).message}` };
    }
    if (!Array.isArray(json)) return { error: `the JSON form must be a list of network selection elements, found ${describe(json)}` };
    for (const [i, el] of json.entries()) {
      if (typeof el !== 'object' || el === null || Array.isArray(el)) return { error: `element ${i} is ${describe(el)}, not an object` };
      const e = el as { name?: unknown; namespace?: unknown; interface?: unknown };
      if (typeof e.name !== 'string' || e.name === '') return { error: `element ${i} has no "name"` };
      if (e.namespace !== undefined && typeof e.namespace !== 'string') return { error: `element ${i}: "namespace" is ${describe(e.namespace)}, not a string` };
      if (e.interface !== undefined && typeof e.interface !== 'string') return { error: `element ${i}: "interface" is ${describe(e.interface)}, not a string` };
      const sel: NetworkSelection = { namespace: e.namespace === undefined || e.namespace === '' ? podNamespace : e.namespace, name: e.name };
      if (e.interface !== undefined && e.interface !== '') sel.interface = e.interface;
      const bad = checkSelection(sel, `element ${i}`);
      if (bad !== undefined) return { error: bad };
      out.push(sel);
    }
    return { ok: out };
  }
  for (const [i, raw] of text.split(',').entries()) {
    const item = raw.trim();
    if (item === '') return { error: `item ${i + 1} of the comma-separated list is empty` };
    const at = item.indexOf('@');
    const ref = at >= 0 ? item.slice(0, at) : item;
    const ifname = at >= 0 ? item.slice(at + 1) : undefined;
    const parts = ref.split('/');
    if (parts.length > 2) return { error: `"${clipText(item)}" is not [namespace/]name[@interface]` };
    const sel: NetworkSelection = parts.length === 2 ? { namespace: parts[0]!, name: parts[1]! } : { namespace: podNamespace, name: parts[0]! };
    if (ifname !== undefined) sel.interface = ifname;
    const bad = checkSelection(sel, `"${clipText(item)}"`);
    if (bad !== undefined) return { error: bad };
    out.push(sel);
  }
  return { ok: out };
}

/** The network-status annotation: a JSON list of entries with at least a name. */
export function parseNetworkStatus(value: string): Parsed<NetworkStatusEntry[]> {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (err) {
    return { error: `not valid JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(json)) return { error: `must be a JSON list, found ${describe(json)}` };
  const out: NetworkStatusEntry[] = [];
  for (const [i, el] of json.entries()) {
    if (typeof el !== 'object' || el === null || Array.isArray(el)) return { error: `entry ${i} is ${describe(el)}, not an object` };
    const e = el as Record<string, unknown>;
    if (typeof e['name'] !== 'string' || e['name'] === '') return { error: `entry ${i} has no "name"` };
    const entry: NetworkStatusEntry = { name: e['name'], default: e['default'] === true };
    if (typeof e['interface'] === 'string' && e['interface'] !== '') entry.interface = e['interface'];
    if (typeof e['mac'] === 'string' && e['mac'] !== '') entry.mac = e['mac'].toLowerCase();
    const info = e['device-info'];
    if (typeof info === 'object' && info !== null && !Array.isArray(info)) {
      const d = info as Record<string, unknown>;
      const pci = d['pci'];
      if (d['type'] === 'pci' && typeof pci === 'object' && pci !== null) {
        const addr = (pci as Record<string, unknown>)['pci-address'];
        if (typeof addr === 'string' && addr !== '') entry.pciAddress = addr.toLowerCase();
      }
    }
    out.push(entry);
  }
  return { ok: out };
}

/** What railwatch needs of a NetworkAttachmentDefinition. */
export interface NadInfo {
  namespace: string;
  name: string;
  /** The resourceName annotation, undefined when absent or empty. */
  resourceName?: string;
  /** Plugin types of spec.config in order (one for a single plugin, several for a `plugins` list). */
  types: string[];
  /** spec.config is absent: Multus then reads a CNI config file of that name on the node. */
  configAbsent: boolean;
  /** Why spec.config could not be read, when it could not. */
  configError?: string;
}

/** Reads a NAD object (the API server's JSON); a body that is not a NAD is an error. */
export function parseNad(obj: unknown, namespace: string, name: string): Parsed<NadInfo> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { error: `the API server answered ${describe(obj)}, not a NetworkAttachmentDefinition` };
  const o = obj as { metadata?: unknown; spec?: unknown };
  if (typeof o.metadata !== 'object' || o.metadata === null) return { error: 'the object has no metadata' };
  const annotations = (o.metadata as { annotations?: unknown }).annotations;
  const info: NadInfo = { namespace, name, types: [], configAbsent: false };
  if (typeof annotations === 'object' && annotations !== null) {
    const r = (annotations as Record<string, unknown>)[RESOURCE_NAME_ANNOTATION];
    if (typeof r === 'string' && r.trim() !== '') info.resourceName = r.trim();
  }
  const config = typeof o.spec === 'object' && o.spec !== null ? (o.spec as { config?: unknown }).config : undefined;
  if (config === undefined || config === '') {
    info.configAbsent = true;
    return { ok: info };
  }
  if (typeof config !== 'string') {
    info.configError = `spec.config is ${describe(config)}, not a string of JSON`;
    return { ok: info };
  }
  const types = cniTypes(config);
  if ('error' in types) info.configError = types.error;
  else info.types = types.ok;
  return { ok: info };
}

/** Plugin types of a CNI config: `type` of a single plugin, or each `plugins[].type` of a list. */
export function cniTypes(config: string): Parsed<string[]> {
  let json: unknown;
  try {
    json = JSON.parse(config);
  } catch (err) {
    return { error: `spec.config is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { error: `spec.config is ${describe(json)}, not a CNI config object` };
  const c = json as { type?: unknown; plugins?: unknown };
  if (c.plugins !== undefined) {
    if (!Array.isArray(c.plugins)) return { error: `spec.config "plugins" is ${describe(c.plugins)}, not a list` };
    const types: string[] = [];
    for (const [i, p] of c.plugins.entries()) {
      const t = typeof p === 'object' && p !== null ? (p as { type?: unknown }).type : undefined;
      if (typeof t !== 'string' || t === '') return { error: `spec.config plugins[${i}] has no "type"` };
      types.push(t);
    }
    if (types.length === 0) return { error: 'spec.config "plugins" is empty' };
    return { ok: types };
  }
  if (typeof c.type !== 'string' || c.type === '') return { error: 'spec.config has neither "type" nor "plugins"' };
  return { ok: [c.type] };
}

/**
 * CNI plugins that put the allocated VF itself into the pod: `sriov` and `ib-sriov` (the SR-IOV CNIs), and
 * `host-device`, which moves the device Multus passes as runtimeConfig.deviceID (the device plugin's PCI address)
 * into the pod, as DPDK and some RDMA setups use. Others that may follow in a `plugins` list (`rdma`, `tuning`,
 * `sbr`, IPAM) configure that interface and are fine; macvlan, ipvlan or bridge never carry a VF.
 */
export const VF_CNI_TYPES: readonly string[] = ['sriov', 'ib-sriov', 'host-device'];
