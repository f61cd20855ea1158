// The shape every setup-chain step shares: a catalogue entry per check and a pure run function of
// the NodeView (snapshot, config, probes, allocation view and derived facts) that returns exactly one result per declared check.
import type { AttachmentView } from '../attach/judge.ts';
import type { NodeView } from '../view/derive.ts';
import type { CheckResult, CheckStatus } from './types.ts';
import { flat } from '../parse/values.ts';

/**
 * A step reads the NodeView: the snapshot, config, probes, allocation view and the facts derived from them once;
 * step 11 also the pods holding VFs and their attachments (undefined when not gathered).
 */
export type CheckInput = NodeView & { readonly attachments?: AttachmentView };

/** One check of the catalogue: what it reads, why it matters, how to fix it (docs/checks.md is made from these). */
export interface CheckDefinition {
  /** Stable kebab-case id, unique across the catalogue. */
  id: string;
  title: string;
  /** Files and settings it reads. */
  reads: readonly string[];
  why: string;
  /** General remediation; a result may give a more specific one. */
  fix: string;
}

export interface Step {
  /** 1-based position in the setup chain. */
  step: number;
  /** kebab-case slug; the step label is `<step>-<slug>`. */
  slug: string;
  title: string;
  checks: readonly CheckDefinition[];
  run(input: CheckInput): CheckResult[];
}

export function stepLabel(step: { step: number; slug: string }): string {
  return `${step.step}-${step.slug}`;
}

export interface ResultExtras {
  remediation?: string;
  details?: readonly string[];
}

export type ResultMaker = (def: CheckDefinition, finding: string, extras?: ResultExtras) => CheckResult;

export interface ResultMakers {
  pass: ResultMaker;
  warn: ResultMaker;
  fail: ResultMaker;
  skip: ResultMaker;
}

/** Result constructors for one step. warn and fail carry the check's general fix unless a specific one is given. */
export function resultsFor(step: { step: number; slug: string }): ResultMakers {
  function make(status: CheckStatus): ResultMaker {
    return (def, finding, extras = {}) => {
      const out: CheckResult = { id: def.id, step: step.step, stepLabel: stepLabel(step), title: def.title, status, finding };
      const remediation = extras.remediation ?? (status === 'warn' || status === 'fail' ? def.fix : undefined);
      if (remediation !== undefined) out.remediation = remediation;
      if (extras.details !== undefined && extras.details.length > 0) out.details = extras.details.map(flat);
      return out;
    };
  }
  return { pass: make('pass'), warn: make('warn'), fail: make('fail'), skip: make('skip') };
}

/** Names a snapshot scanner that failed outright among `names`, so a check can skip instead of misjudging. */
export function failedScanner(input: CheckInput, ...names: string[]): string | undefined {
  return names.find((n) => input.snapshot.failedScanners.includes(n));
}

/** `a, b, c` with at most `max` items and `(+N more)`. */
export function listText(items: readonly string[], max = 8): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} (+${items.length - max} more)`;
}

export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}
