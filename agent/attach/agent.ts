// The attachment side of `serve` and `doctor`: a fetcher for the pods holding VFs and their NADs when the API
// server is reachable, the AttachmentView of each observation, and the Pod events. Standalone (--no-kube, no
// kubeconfig), nothing is read and step 11 skips with the reason.
import { createKubeClient, loadKubeConfig, type ApiConnection, type KubeMode } from '../kube/client.ts';
import type { NodeEventSpec } from '../kube/events.ts';
import type { Logger } from '../log.ts';
import type { NodeView } from '../view/derive.ts';
import { createAttachmentFetcher, type AttachmentFetcher, type RetryOptions } from './fetcher.ts';
import type { AttachmentView } from './judge.ts';
import { createPodEventTracker, type PodAlignment } from './pod-events.ts';
import { attachmentView, podsWithVfs } from './view.ts';

export interface AttachmentsOptions {
  mode: KubeMode;
  counters: Map<string, number>;
  log: Logger;
  /** Overrides the mode's connection (tests, the fleet benchmark); also makes a standalone mode talk to it. */
  loadConfig?: () => Promise<ApiConnection>;
  requestTimeoutMs?: number;
  onChange?: () => void;
  tuning?: { retry?: Partial<RetryOptions>; nadMaxAgeMs?: number };
}

export interface Attachments {
  /** Syncs the fetcher with the pods holding VFs and judges them from what has been read. */
  observe(view: NodeView): AttachmentView;
  /** Pod events for the problems (and misalignments) not reported before. */
  events(view: AttachmentView, alignment?: readonly PodAlignment[]): NodeEventSpec[];
  /** Resolves once no read is in flight or scheduled. */
  idle(): Promise<void>;
  readonly fetcher: AttachmentFetcher | undefined;
  stop(): void;
}

export function startAttachments(opts: AttachmentsOptions): Attachments {
  const mode = opts.mode;
  const standalone = mode.kind === 'standalone' && opts.loadConfig === undefined;
  const skip = mode.kind === 'standalone' && standalone ? `no API access (${mode.why}): pod attachments not read` : undefined;
  let fetcher: AttachmentFetcher | undefined;
  if (!standalone) {
    const loadConfig = opts.loadConfig ?? (() => (mode.kind === 'standalone' ? Promise.reject(new Error('standalone')) : loadKubeConfig(mode)));
    const client = createKubeClient({ loadConfig, counters: opts.counters, ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}) });
    fetcher = createAttachmentFetcher({
      client,
      log: opts.log,
      ...(opts.onChange ? { onChange: opts.onChange } : {}),
      ...(opts.tuning?.retry ? { retry: opts.tuning.retry } : {}),
      ...(opts.tuning?.nadMaxAgeMs !== undefined ? { nadMaxAgeMs: opts.tuning.nadMaxAgeMs } : {}),
    });
  }
  const tracker = createPodEventTracker();
  return {
    observe(view) {
      if (fetcher !== undefined && view.vfOwners !== undefined) fetcher.sync(podsWithVfs(view));
      return attachmentView(view, fetcher, skip);
    },
    events: (view, alignment) => tracker.derive(view, alignment),
    idle: () => fetcher?.idle() ?? Promise.resolve(),
    fetcher,
    stop() {
      fetcher?.stop();
    },
  };
}
