// The setup chain's check results: a pure function of (snapshot, config, probes).

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable kebab-case id, e.g. `kernel-iommu`, `vf-netdevs-visible`. The node condition reason is its CamelCase. */
  id: string;
  /** Position in the setup chain, 1-based (1 hardware IOMMU ... 10 rail count). */
  step: number;
  /** Step label as exported in metrics: `<n>-<slug>`, e.g. `5-nic-vfs`. */
  stepLabel: string;
  title: string;
  status: CheckStatus;
  /** One line: what was found. */
  finding: string;
  /** What to do about it (for warn and fail). */
  remediation?: string;
  /** Per-item details (which PF, which VF, which GPU). */
  details?: string[];
}

export interface CheckReport {
  results: CheckResult[];
  /** The first failing check in chain order, if any. */
  firstFailing?: CheckResult;
  /** No check fails. */
  ready: boolean;
}

export const STATUS_VALUE: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2, skip: -1 };

/** `vf-netdevs-visible` -> `VfNetdevsVisible` */
export function checkReason(id: string): string {
  return id
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}
