// Judges one pod's attachments: what it asked Multus for (networks annotation), what each NAD says, and what
// Multus reports it attached (network-status), against the VFs the kubelet gave the pod. A pure function; the
// API reads are agent/attach/fetcher.ts.
//
// Which NADs are judged as VF networks: one with the resourceName annotation or a VF-carrying CNI type
// (VF_CNI_TYPES). A NAD with neither (a macvlan management network next to the rails) is not a VF network: it is
// named in the report and only checked for being attached.
import { parseNetworks, parseNetworkStatus, VF_CNI_TYPES, NETWORKS_ANNOTATION, NETWORK_STATUS_ANNOTATION, type NadInfo, type NetworkSelection, type NetworkStatusEntry } from './annotations.ts';

/** One VF the kubelet allocated to the pod. */
export interface PodVf {
  pci: string;
  resourceName: string;
  /** The PF's label (netdev, else PCI address). */
  pf: string;
  rail?: number;
}

/** The result of a GET that may not have happened yet. */
export type Fetched<T> =
  | { state: 'pending' }
  | { state: 'ok'; value: T }
  | { state: 'not-found' }
  | { state: 'forbidden'; message: string }
  | { state: 'error'; message: string };

/** What railwatch keeps of a Pod object. */
export interface PodObject {
  uid: string;
  annotations: Readonly<Record<string, string>>;
}

export interface PodFetch {
  fetch: Fetched<PodObject>;
  /** No further GET will come (network-status written, or the bounded retries are spent). */
  final: boolean;
}

/** The checks of step 11 a problem belongs to. */
export type AttachmentCheckId = 'pod-networks-defined' | 'nad-resource-name' | 'nad-vf-cni' | 'pod-vfs-attached' | 'pod-networks-attached';
export type PodEventReason = 'VFNotAttached' | 'NetworkAttachmentInvalid' | 'RailMisaligned';

export interface AttachmentProblem {
  check: AttachmentCheckId;
  reason: PodEventReason;
  /** Stable within the pod: `vf/<pci>`, `nad/<ns>/<name>/resource`, `network/<ns>/<name>`, ... */
  cause: string;
  message: string;
}

export interface PodInterface {
  interface?: string;
  /** network-status name (namespace/name of the NAD). */
  network: string;
  pci?: string;
  rail?: number;
  mac?: string;
}

export interface PodAttachmentReport {
  namespace: string;
  pod: string;
  uid?: string;
  /** judged: every check ran; pending: waiting for the API server or Multus; unknown: the pod could not be read. */
  state: 'judged' | 'pending' | 'unknown';
  /** Why the pod is pending or unknown. */
  why?: string;
  vfs: PodVf[];
  interfaces: PodInterface[];
  problems: AttachmentProblem[];
  /** What could not be verified, and networks that are not VF networks. */
  notes: string[];
}

/** Step 11's input: per pod holding VFs, or why none was judged. */
export interface AttachmentView {
  /** Set when the API side does not run (standalone, allocations unknown): the reason. */
  skipped?: string;
  pods: PodAttachmentReport[];
}

export interface JudgeInput {
  namespace: string;
  name: string;
  vfs: readonly PodVf[];
  pod: PodFetch;
  nad(namespace: string, name: string): Fetched<NadInfo>;
  /** Rail of a VF by PCI address (for interfaces whose VF the kubelet did not list for this pod). */
  railOf?(pci: string): number | undefined;
}

function railText(rail: number | undefined): string {
  return rail === undefined ? 'no rail' : `rail ${rail}`;
}

function vfText(vf: PodVf): string {
  return `VF ${vf.pci} (${railText(vf.rail)}, ${vf.pf}, resource ${vf.resourceName})`;
}

function selText(sel: NetworkSelection): string {
  return `${sel.namespace}/${sel.name}${sel.interface === undefined ? '' : `@${sel.interface}`}`;
}

function fetchWhy(f: Exclude<Fetched<unknown>, { state: 'ok' }>, what: string): string {
  switch (f.state) {
    case 'pending':
      return `${what} not read yet`;
    case 'not-found':
      return `${what} not found`;
    case 'forbidden':
      return `reading ${what} is forbidden: ${f.message}`;
    case 'error':
      return `reading ${what} failed: ${f.message}`;
  }
}

/** `net3 -> 0000:43:00.5 (rail 3)` */
export function interfaceLine(i: PodInterface): string {
  const name = i.interface ?? '(no interface)';
  if (i.pci === undefined) return `${name} -> ${i.network} (no VF)`;
  return `${name} -> ${i.pci} (${railText(i.rail)}) via ${i.network}`;
}

/** Whether a network-status entry is the one Multus wrote for a selection. */
function entryMatches(entry: NetworkStatusEntry, sel: NetworkSelection, podNamespace: string): boolean {
  if (entry.name === `${sel.namespace}/${sel.name}`) return sel.interface === undefined || entry.interface === undefined || entry.interface === sel.interface;
  // Multus before 4.0 wrote the bare name for a NAD in the pod's namespace
  return entry.name === sel.name && sel.namespace === podNamespace && (sel.interface === undefined || entry.interface === sel.interface);
}

export function judgePod(input: JudgeInput): PodAttachmentReport {
  const report: PodAttachmentReport = { namespace: input.namespace, pod: input.name, state: 'judged', vfs: [...input.vfs], interfaces: [], problems: [], notes: [] };
  const f = input.pod.fetch;
  if (f.state !== 'ok') {
    report.state = f.state === 'pending' || (!input.pod.final && f.state !== 'forbidden') ? 'pending' : 'unknown';
    report.why = fetchWhy(f, `pod ${input.namespace}/${input.name}`);
    return report;
  }
  report.uid = f.value.uid;
  const ann = f.value.annotations;
  const problem = (p: AttachmentProblem) => report.problems.push(p);

  // 1. what the pod asks for, and the NADs
  let selections: NetworkSelection[] = [];
  const rawNetworks = ann[NETWORKS_ANNOTATION];
  if (rawNetworks !== undefined) {
    const parsed = parseNetworks(rawNetworks, input.namespace);
    if ('error' in parsed) {
      problem({ check: 'pod-networks-defined', reason: 'NetworkAttachmentInvalid', cause: 'annotation/networks', message: `annotation ${NETWORKS_ANNOTATION} is malformed: ${parsed.error}` });
    } else selections = parsed.ok;
  } else {
    report.notes.push(`no ${NETWORKS_ANNOTATION} annotation: the pod asks Multus for no secondary network`);
  }
  const podResources = new Set(input.vfs.map((v) => v.resourceName));
  /** NADs per selection (undefined: unknown or missing). */
  const nadOf = new Map<NetworkSelection, NadInfo | undefined>();
  for (const sel of selections) {
    const nad = input.nad(sel.namespace, sel.name);
    const key = `${sel.namespace}/${sel.name}`;
    if (nad.state !== 'ok') {
      nadOf.set(sel, undefined);
      if (nad.state === 'not-found') {
        problem({ check: 'pod-networks-defined', reason: 'NetworkAttachmentInvalid', cause: `nad/${key}/missing`, message: `network ${selText(sel)}: no NetworkAttachmentDefinition ${key}` });
      } else {
        report.notes.push(`network ${selText(sel)}: ${fetchWhy(nad, `NetworkAttachmentDefinition ${key}`)}; not verified`);
      }
      continue;
    }
    const info = nad.value;
    nadOf.set(sel, info);
    const vfType = info.types.find((t) => VF_CNI_TYPES.includes(t));
    if (info.configError !== undefined) {
      problem({ check: 'nad-vf-cni', reason: 'NetworkAttachmentInvalid', cause: `nad/${key}/config`, message: `NetworkAttachmentDefinition ${key}: ${info.configError}` });
    } else if (info.configAbsent) {
      report.notes.push(`NetworkAttachmentDefinition ${key} has no spec.config (Multus reads a CNI config file of that name on the node): CNI type not verified`);
    } else if (vfType === undefined && info.resourceName !== undefined) {
      problem({
        check: 'nad-vf-cni',
        reason: 'NetworkAttachmentInvalid',
        cause: `nad/${key}/cni`,
        message: `NetworkAttachmentDefinition ${key} names resource ${info.resourceName} but its CNI config (${info.types.join(', ')}) has no ${VF_CNI_TYPES.join('/')} plugin to attach the VF`,
      });
    } else if (vfType === undefined) {
      report.notes.push(`network ${selText(sel)} is not a VF network (CNI ${info.types.join(', ')}, no resourceName)`);
      continue;
    }
    if (info.resourceName === undefined) {
      if (vfType !== undefined) {
        problem({
          check: 'nad-resource-name',
          reason: 'NetworkAttachmentInvalid',
          cause: `nad/${key}/resource`,
          message: `NetworkAttachmentDefinition ${key} (${vfType}) has no k8s.v1.cni.cncf.io/resourceName annotation: Multus passes no VF to the plugin`,
        });
      }
    } else if (!podResources.has(info.resourceName)) {
      problem({
        check: 'nad-resource-name',
        reason: 'NetworkAttachmentInvalid',
        cause: `nad/${key}/resource`,
        message: `NetworkAttachmentDefinition ${key} names resource ${info.resourceName}, but the pod's VFs came from ${[...podResources].sort().join(', ') || 'no resource'}`,
      });
    }
  }

  // 2. what Multus attached
  const rawStatus = ann[NETWORK_STATUS_ANNOTATION];
  if (rawStatus === undefined) {
    if (!input.pod.final) {
      report.state = 'pending';
      report.why = `waiting for Multus to write ${NETWORK_STATUS_ANNOTATION}`;
      return report;
    }
    for (const vf of input.vfs) {
      problem({ check: 'pod-vfs-attached', reason: 'VFNotAttached', cause: `vf/${vf.pci}`, message: `${vfText(vf)}: allocated, not attached (the pod has no ${NETWORK_STATUS_ANNOTATION})` });
    }
    return report;
  }
  const status = parseNetworkStatus(rawStatus);
  if ('error' in status) {
    problem({ check: 'pod-networks-attached', reason: 'NetworkAttachmentInvalid', cause: 'annotation/network-status', message: `annotation ${NETWORK_STATUS_ANNOTATION} is malformed: ${status.error}` });
    report.notes.push('the attached VFs could not be verified (network-status unreadable)');
    return report;
  }
  const entries = status.ok.filter((e) => !e.default);
  const used = new Set<NetworkStatusEntry>();
  const entryNad = new Map<NetworkStatusEntry, NadInfo | undefined>();
  for (const sel of selections) {
    const entry = entries.find((e) => !used.has(e) && entryMatches(e, sel, input.namespace));
    if (entry === undefined) {
      problem({
        check: 'pod-networks-attached',
        reason: 'NetworkAttachmentInvalid',
        cause: `network/${selText(sel)}`,
        message: `network ${selText(sel)} was asked for but is not in ${NETWORK_STATUS_ANNOTATION}`,
      });
      continue;
    }
    used.add(entry);
    entryNad.set(entry, nadOf.get(sel));
  }

  const vfByPci = new Map(input.vfs.map((v) => [v.pci, v]));
  const attached = new Set<string>();
  for (const e of entries) {
    const i: PodInterface = { network: e.name };
    if (e.interface !== undefined) i.interface = e.interface;
    if (e.mac !== undefined) i.mac = e.mac;
    if (e.pciAddress !== undefined) {
      i.pci = e.pciAddress;
      const vf = vfByPci.get(e.pciAddress);
      const rail = vf?.rail ?? input.railOf?.(e.pciAddress);
      if (rail !== undefined) i.rail = rail;
      if (vf !== undefined) attached.add(vf.pci);
      else report.notes.push(`${e.interface ?? e.name}: PCI ${e.pciAddress} is not among the VFs the kubelet lists for the pod`);
    }
    report.interfaces.push(i);
  }
  // Entries without device-info (plugins that do not publish it): a VF of the NAD's resource counts as attached.
  const byResource = new Map<string, number>();
  for (const e of entries) {
    if (e.pciAddress !== undefined) continue;
    const r = entryNad.get(e)?.resourceName;
    if (r !== undefined) byResource.set(r, (byResource.get(r) ?? 0) + 1);
  }
  for (const vf of input.vfs) {
    if (attached.has(vf.pci)) continue;
    const n = byResource.get(vf.resourceName) ?? 0;
    if (n > 0) {
      byResource.set(vf.resourceName, n - 1);
      report.notes.push(`${vfText(vf)}: attached by resource (network-status carries no PCI address)`);
      continue;
    }
    problem({ check: 'pod-vfs-attached', reason: 'VFNotAttached', cause: `vf/${vf.pci}`, message: `${vfText(vf)}: allocated, not attached (not in ${NETWORK_STATUS_ANNOTATION})` });
  }
  return report;
}
