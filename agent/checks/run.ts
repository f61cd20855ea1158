// Runs the setup chain: every step in order, one result per catalogue check, then the first failing check.
import type { CheckReport, CheckResult, CheckStatus } from './types.ts';
import { STEPS } from './catalogue.ts';
import { resultsFor, stepLabel, type CheckInput, type Step } from './step.ts';

/** Runs one step; a step that throws gives `fail` results naming the error instead of aborting the chain. */
function runStep(step: Step, input: CheckInput): CheckResult[] {
  let results: CheckResult[];
  try {
    results = step.run(input);
  } catch (err) {
    const r = resultsFor(step);
    const msg = (err as Error).message;
    return step.checks.map((c) => r.fail(c, `check crashed: ${msg}`, { remediation: 'Report this as a railwatch bug with the output of railwatch inventory --json.' }));
  }
  // exactly one result per declared check, in catalogue order
  const byId = new Map(results.map((res) => [res.id, res]));
  const r = resultsFor(step);
  return step.checks.map((c) => byId.get(c.id) ?? r.skip(c, `no result from step ${stepLabel(step)}`));
}

export function runChecks(input: CheckInput, steps: readonly Step[] = STEPS): CheckReport {
  const results = steps.flatMap((s) => runStep(s, input));
  const firstFailing = results.find((r) => r.status === 'fail');
  const report: CheckReport = { results, ready: firstFailing === undefined };
  if (firstFailing) report.firstFailing = firstFailing;
  return report;
}

export type CheckSummary = Record<CheckStatus, number>;

export function summarize(report: CheckReport): CheckSummary {
  const out: CheckSummary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of report.results) out[r.status]++;
  return out;
}

/** Doctor exit code: 0 when everything passes (skips allowed), 1 with a warning, 2 with a failure. */
export function exitCodeFor(report: CheckReport): 0 | 1 | 2 {
  if (report.results.some((r) => r.status === 'fail')) return 2;
  if (report.results.some((r) => r.status === 'warn')) return 1;
  return 0;
}
