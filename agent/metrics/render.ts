// A scrape, in three parts, every family written by the one writer (exposition.ts):
//  - the structural part: every family derived from (snapshot, allocation view, checks, config) (catalogue.ts),
//    rendered once per new input and cached with its gzip member, so a VF or port that vanished from the snapshot
//    leaves no stale series; `prepare` renders it right after a scan, before the next scrape asks;
//  - the fresh part: counter values read when the scrape comes (fresh.ts; the RDMA counter files of counters.ts and
//    any other FreshSource), shared by concurrent scrapes;
//  - the pod attachments (agent/attach/metrics.ts), cached per attachment view like the structural part;
//  - the live part: the agent's own cumulative counters (scans, scan errors, Kubernetes requests), build info, the
//    fresh reader's figures and the process metrics, collected on every scrape.
import { attachmentMetricsText } from '../attach/metrics.ts';
import type { Logger } from '../log.ts';
import { SCANNER_NAMES } from '../scan/registry.ts';
import { HostFs } from '../sysfs/host-fs.ts';
import type { AgentState } from '../state.ts';
import { STRUCTURAL_FAMILIES, structuralFacts, type StructuralInput } from './catalogue.ts';
import { createRdmaCounterSource } from './counters.ts';
import { FamiliesBytesWriter, writeFamilies, type MetricFamily } from './exposition.ts';
import { createFreshReader, type FreshReaderOptions, type FreshSource } from './fresh.ts';
import { compactPart, part, type RenderedPart } from './part.ts';
import { PROCESS_FAMILIES } from './process-metrics.ts';
import { WeakKeys } from '../weak-keys.ts';

export { part, type RenderedPart } from './part.ts';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsRenderer {
  /** The parts of one scrape, in order; their texts concatenated are the exposition. */
  render(state: AgentState): Promise<readonly RenderedPart[]>;
  /** Renders the structural part of `state` now (call right after a scan), so the next scrape finds it ready. */
  prepare?(state: AgentState): void;
}

export interface MetricsRendererOptions {
  /** The standard process_* and nodejs_* metrics (process-metrics.ts; default true). */
  defaultMetrics?: boolean;
  /** More fresh counter sources after the RDMA counter files (e.g. per-VF statistics). */
  freshSources?: readonly FreshSource[];
  /** Coalescing and deadline of the fresh read (fresh.ts defaults). */
  fresh?: Pick<FreshReaderOptions, 'reuseMs' | 'timeoutMs'>;
  log?: Logger;
}

/** The structural part's text. */
export function renderStructural(input: StructuralInput): string {
  return writeFamilies(STRUCTURAL_FAMILIES, structuralFacts(input));
}

function sameInput(a: StructuralInput, b: StructuralInput): boolean {
  return a.view === b.view && a.snapshot === b.snapshot && a.allocation === b.allocation && a.checks === b.checks && a.config === b.config;
}

/** The agent's own counters and build info, from the state being scraped. */
const AGENT_FAMILIES: readonly MetricFamily<AgentState>[] = [
  {
    name: 'railwatch_build_info',
    help: 'railwatch build, valued 1.',
    type: 'gauge',
    labels: ['version'],
    collect: (state) => [{ labels: [state.version], value: 1 }],
  },
  {
    name: 'railwatch_scans_total',
    help: 'Host scans completed, by trigger.',
    type: 'counter',
    labels: ['trigger'],
    *collect(state) {
      for (const [trigger, n] of state.scansTotal) yield { labels: [trigger], value: n };
    },
  },
  {
    name: 'railwatch_scan_errors_total',
    help: 'Attributes a scanner skipped and counted (unreadable or unparsable), by scanner.',
    type: 'counter',
    labels: ['scanner'],
    *collect(state) {
      const totals = state.scanErrorsTotal;
      for (const scanner of SCANNER_NAMES) yield { labels: [scanner], value: totals.get(scanner) ?? 0 };
      const extra = [...totals.keys()].filter((k) => !SCANNER_NAMES.includes(k)).sort();
      for (const scanner of extra) yield { labels: [scanner], value: totals.get(scanner) ?? 0 };
    },
  },
  {
    name: 'railwatch_kube_requests_total',
    help: 'Kubernetes API requests, by verb and HTTP status code.',
    type: 'counter',
    labels: ['verb', 'code'],
    *collect(state) {
      for (const [key, n] of state.kubeRequests) {
        const tab = key.indexOf('\t');
        if (tab >= 0) yield { labels: [key.slice(0, tab), key.slice(tab + 1)], value: n };
      }
    },
  },
];

export function createMetricsRenderer(options: MetricsRendererOptions = {}): Required<MetricsRenderer> {
  const fsByRoot = new Map<string, HostFs>();
  const fsFor = (root: string) => {
    let fs = fsByRoot.get(root);
    if (fs === undefined) {
      fs = new HostFs(root);
      fsByRoot.set(root, fs);
    }
    return fs;
  };
  const fresh = createFreshReader({
    sources: [createRdmaCounterSource(fsFor), ...(options.freshSources ?? [])],
    ...options.fresh,
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
  const ownFamilies: readonly MetricFamily<void>[] = [...fresh.families, ...(options.defaultMetrics ?? true ? PROCESS_FAMILIES : [])];
  let cached: { input: StructuralInput; part: RenderedPart } | undefined;
  const structuralWriter = new FamiliesBytesWriter(STRUCTURAL_FAMILIES);
  // keyed weakly, like the other caches of scan products (agent/weak-keys.ts): the previous scan's attachments go
  let attached: { keys: WeakKeys; part: RenderedPart } | undefined;
  const attachmentPart = (view: AgentState['attachments']): RenderedPart => {
    if (attached === undefined || !attached.keys.matches([view])) attached = { keys: new WeakKeys([view]), part: part(attachmentMetricsText(view)) };
    return attached.part;
  };

  function structural(state: AgentState): RenderedPart {
    const input: StructuralInput = { snapshot: state.snapshot, view: state.view, allocation: state.allocation, checks: state.checks, config: state.config };
    if (cached === undefined || !sameInput(cached.input, input)) {
      // written as bytes, like the fresh part: a list of ~5,000 row strings joined at the end outlives young
      // collections and is promoted with every scan; kept as its gzip member once prepare() made it
      cached = { input, part: compactPart(structuralWriter.write(structuralFacts(input))) };
    }
    return cached.part;
  }

  return {
    prepare(state) {
      const p = structural(state);
      // the gzip member of the large part too: the first gzip scrape after a scan then costs no compression
      p.gzip();
    },
    async render(state) {
      const first = structural(state);
      const counters = await fresh.read(state);
      const live = writeFamilies(AGENT_FAMILIES, state) + writeFamilies(ownFamilies, undefined);
      const pods = attachmentPart(state.attachments);
      // an empty gzip member ends some decoders' reading of a multi-member body: no empty part
      return [first, pods, ...counters, part(live)].filter((p) => !p.empty);
    },
  };
}

/** The exposition text of rendered parts. */
export function partsText(parts: readonly RenderedPart[]): string {
  let out = '';
  for (const p of parts) out += p.text;
  return out;
}

/** Renders the whole exposition text of a state once (for tests and one-shot commands). */
export async function renderMetricsText(state: AgentState, options: MetricsRendererOptions = {}): Promise<string> {
  return partsText(await createMetricsRenderer({ defaultMetrics: false, ...options }).render(state));
}
