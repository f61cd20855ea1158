// What the scans skipped, counted in railwatch_scan_errors_total{scanner} and logged once per kind: the unreadable
// attributes of each snapshot (a counter the driver reports as unsupported counts only when it becomes so) and
// the gaps in the scan's VF netlink read.
import type { Logger } from '../log.ts';
import type { NodeSnapshot } from '../model.ts';
import type { VfInfoReading } from '../netlink/vf-info.ts';
import { UNSUPPORTED } from '../scan/infiniband.ts';
import { bump } from '../state.ts';

/** Distinct issues logged (each once), for the snapshots and the VF netlink reads each; beyond this only the counters grow. */
export const MAX_LOGGED_ISSUES = 500;

export class ScanIssueLog {
  readonly #errors: Map<string, number>;
  readonly #log: Logger;
  /** `scanner:path:code` of the snapshot issues logged so far. */
  readonly #logged = new Set<string>();
  /** `path:code` of the VF netlink issues logged so far. */
  readonly #loggedVf = new Set<string>();
  /** Counter files the driver reported as unsupported in the previous complete scan: counted again only after a change of state. */
  #unsupported = new Set<string>();

  /** `errors` is the agent's scanErrorsTotal, by scanner. */
  constructor(errors: Map<string, number>, log: Logger) {
    this.#errors = errors;
    this.#log = log;
  }

  /** Counts and logs what a scan skipped. */
  recordSnapshot(snapshot: Pick<NodeSnapshot, 'issues' | 'failedScanners'>): void {
    const nowUnsupported = new Set<string>();
    for (const issue of snapshot.issues) {
      const key = `${issue.scanner}:${issue.path}:${issue.code}`;
      if (issue.code === UNSUPPORTED) {
        nowUnsupported.add(key);
        if (this.#unsupported.has(key)) continue;
      }
      bump(this.#errors, issue.scanner);
      if (this.#logged.has(key) || this.#logged.size >= MAX_LOGGED_ISSUES) continue;
      this.#logged.add(key);
      this.#log.warn('skipped an unreadable attribute', { scanner: issue.scanner, path: issue.path, code: issue.code, detail: issue.detail });
    }
    // a failed scan may not have reached the counter files: their state is unchanged, not cleared
    if (snapshot.failedScanners.length === 0) this.#unsupported = nowUnsupported;
  }

  /** Counts (as scanner `vf-netlink`) and logs what the scan's VF netlink read skipped. */
  recordVfReading(reading: Pick<VfInfoReading, 'issues'>): void {
    for (const issue of reading.issues) {
      bump(this.#errors, 'vf-netlink');
      const key = `${issue.path}:${issue.code}`;
      if (this.#loggedVf.has(key) || this.#loggedVf.size >= MAX_LOGGED_ISSUES) continue;
      this.#loggedVf.add(key);
      this.#log.warn('VF netlink list incomplete', { path: issue.path, code: issue.code, detail: issue.detail });
    }
  }
}
