// One scan of `serve`, as the rescan loop runs it: a cheap rescan or a full scan (FullScanSchedule), the snapshot's
// issues counted, then for a complete snapshot the allocations, probes and VF netlink lists, the derived view and
// checks into the agent state, the structural metrics rendered, and the Node's desired state handed to the
// Kubernetes sync. A snapshot with a failed scanner changes nothing but the counters.
import type { Attachments } from '../attach/agent.ts';
import { gatherProbes, type Probes } from '../checks/probe.ts';
import { runChecks } from '../checks/run.ts';
import type { Config } from '../config/config.ts';
import { kubeDesired, observation } from '../kube/desired.ts';
import type { KubeSync } from '../kube/reconciler.ts';
import type { Logger } from '../log.ts';
import type { VfInfoSource } from '../netlink/vf-info.ts';
import { readVfListsFor } from '../netlink/vf-info.ts';
import type { Scan, ScanOptions } from '../scan/registry.ts';
import { rescanNodeYielding, type RescanResult } from '../scan/rescan.ts';
import type { HostFs } from '../sysfs/host-fs.ts';
import { bump, type AgentState } from '../state.ts';
import { derive } from '../view/derive.ts';
import type { AllocationRefresh } from './allocation.ts';
import type { ScanIssueLog } from './scan-issues.ts';

/** A full scan at least every this many interval scans, even when the cheap rescan sees no structural change. */
export const FULL_SCAN_EVERY = 6;

/**
 * When a scan must be full: on every trigger but the interval, before the first complete snapshot, after a failed
 * scan, and on the FULL_SCAN_EVERY-th interval scan since the last full one. Otherwise the cheap rescan runs (which
 * turns into a full scan itself on a structural change).
 */
export class FullScanSchedule {
  readonly #every: number;
  /** Scans since the last full one. */
  #sinceFull = 0;

  constructor(every = FULL_SCAN_EVERY) {
    this.#every = every;
  }

  get sinceFull(): number {
    return this.#sinceFull;
  }

  /** The reason to force a full scan (the trigger itself), or undefined when a cheap rescan may do. */
  fullScanReason(trigger: string, haveSnapshot: boolean): string | undefined {
    return trigger !== 'interval' || this.#sinceFull >= this.#every || !haveSnapshot ? trigger : undefined;
  }

  /** Counts a scan that ran as `mode`. */
  ran(mode: RescanResult['mode']): void {
    this.#sinceFull = mode === 'full' ? 0 : this.#sinceFull + 1;
  }

  /** A scanner failed: the next scan is full, whatever triggers it. */
  failed(): void {
    this.#sinceFull = this.#every;
  }
}

export interface ScanCycleOptions {
  /** Written by each complete scan; its counters by every scan. */
  state: AgentState;
  /** The config in force; a reload may replace it at any await of a scan. */
  config: () => Config;
  /** What to scan and how (everything of ScanOptions but the config, which is read per scan). */
  target: Omit<ScanOptions, 'config'>;
  /** The scanned sysfs root and the host root of the kubelet and CNI directories, for the probes. */
  sys: HostFs;
  host: HostFs;
  schedule: FullScanSchedule;
  issues: ScanIssueLog;
  allocation: Pick<AllocationRefresh, 'refresh'>;
  vfInfo: VfInfoSource;
  attachments: Pick<Attachments, 'observe' | 'events'>;
  renderer: { prepare(state: AgentState): void };
  sync: Pick<KubeSync, 'update'>;
  log: Logger;
}

export class ScanCycle {
  readonly #o: ScanCycleOptions;
  /** The latest complete scan: its records are what the next cheap rescan reuses. */
  #lastScan: Scan | undefined;
  /** Re-read on full scans only (see run()). */
  #probes: Probes | undefined;
  /** The observation the Node was last given, for the events of the next one. */
  #prevObs: ReturnType<typeof observation> | undefined;
  /** Callers of nextScan(). */
  #waiters: (() => void)[] = [];

  constructor(opts: ScanCycleOptions) {
    this.#o = opts;
  }

  /** Resolves after the next scan, complete or failed (or on releaseWaiters()). */
  nextScan(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves every nextScan() waiting now. */
  releaseWaiters(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const resolve of w) resolve();
  }

  /** One scan; `trigger` is the rescan loop's (`startup`, `interval`, or the reason a trigger gave). */
  async run(trigger: string): Promise<void> {
    const { state, schedule, log } = this.#o;
    const scanOpts: ScanOptions = { ...this.#o.target, config: this.#o.config() };
    const full = schedule.fullScanReason(trigger, state.snapshot !== undefined);
    // the scan yields to the event loop every ~2 ms of work, so a scrape waits for a slice, never a whole scan
    // (docs/metrics.md: a worker thread measured as well and cost ~30 MiB RSS)
    const res = await rescanNodeYielding(this.#lastScan, scanOpts, full);
    schedule.ran(res.mode);
    const snapshot = res.snapshot;
    this.#o.issues.recordSnapshot(snapshot);
    if (snapshot.failedScanners.length > 0) {
      // A scanner threw: its part of this snapshot is empty, not zero. Keep serving the last complete snapshot
      // (railwatch_last_scan_timestamp_seconds shows its age, railwatch_scan_errors_total{scanner} the failure)
      // and write nothing to the Node from a partial picture; before any complete scan /readyz stays 503.
      log.error('scanners failed; keeping the last complete snapshot', { scanners: snapshot.failedScanners, kept: state.snapshot !== undefined });
      schedule.failed();
      bump(state.scansTotal, 'failed');
    } else {
      await this.#complete(trigger, res);
    }
    this.releaseWaiters();
  }

  /** The rest of a scan whose snapshot is complete. */
  async #complete(trigger: string, res: RescanResult): Promise<void> {
    const { state, log } = this.#o;
    const snapshot = res.snapshot;
    await this.#o.allocation.refresh();
    // probes (PCI config space for ACS, kubelet and CNI directories) change rarely: re-read on full scans, which
    // every trigger (including the directory watchers) and every sixth interval causes
    if (res.mode === 'full' || this.#probes === undefined) {
      this.#probes = gatherProbes({ snapshot, config: this.#o.config(), sys: this.#o.sys, host: this.#o.host });
    }
    const probes = this.#probes;
    const vfReading = await readVfListsFor(this.#o.vfInfo, snapshot.pfs);
    // what the scan's read skipped counts as scan errors; the scrapes' skips count in railwatch_scrape_read_errors_total
    this.#o.issues.recordVfReading(vfReading);
    // no await from here on: one config for the view, the state and the Node
    const config = this.#o.config();
    const view = derive(snapshot, state.allocation, probes, config, vfReading);
    const attached = this.#o.attachments.observe(view);
    const checks = runChecks({ ...view, attachments: attached });
    state.vfInfo = vfReading;
    this.#lastScan = res;
    state.snapshot = snapshot;
    state.view = view;
    state.attachments = attached;
    state.checks = checks;
    state.config = config;
    // the structural part of /metrics is rendered now, not by the first scrape after the scan
    this.#o.renderer.prepare(state);
    bump(state.scansTotal, trigger);
    const obs = observation(view, checks);
    const desired = kubeDesired(this.#prevObs, obs, config, log);
    // Pod events: step 11's problems, and RailMisaligned from the GPU/VF alignment of each pod (view.pods)
    const alignment = (view.pods ?? []).map((p) => ({ namespace: p.namespace, pod: p.pod, aligned: p.aligned, message: p.misaligned.join('; ') }));
    this.#o.sync.update({ ...desired, events: [...(desired.events ?? []), ...this.#o.attachments.events(attached, alignment)] });
    this.#prevObs = obs;
  }
}
