// docs/checks.md, rendered from the catalogue (scripts/gen-check-docs.ts writes it; a test keeps it fresh).
import { STEPS } from './catalogue.ts';
import { stepLabel } from './step.ts';
import { checkReason } from './types.ts';

export function renderChecksMarkdown(): string {
  const out: string[] = [];
  out.push('# Setup checks');
  out.push('');
  out.push('<!-- Generated from agent/checks/catalogue.ts by scripts/gen-check-docs.ts. Do not edit by hand. -->');
  out.push('');
  out.push(
    'railwatch checks the RDMA setup chain in the order it must be right: a broken link early in the chain explains the ' +
      'failures after it, so `railwatch doctor` names the **first failing step**. Every check gives `pass`, `warn`, `fail` or ' +
      '`skip` (its inputs are absent: no GPUs, no rails, kubelet directories not mounted, not root); a skip is never a failure.',
  );
  out.push('');
  out.push('- `railwatch doctor [--json]` prints the chain and exits 0 (all pass, skips allowed), 1 (a warning) or 2 (a failure).');
  out.push('- `railwatch serve` exports `railwatch_check_status{check, step}` (0 pass, 1 warn, 2 fail, -1 skip), `railwatch_drift_active{check}` and `railwatch_setup_ready`.');
  out.push('- The node condition reason of a check is its id in CamelCase (e.g. `vf-netdevs-visible` is `VfNetdevsVisible`).');
  out.push('');
  out.push('| Step | Check | Title |');
  out.push('| --- | --- | --- |');
  for (const s of STEPS) for (const c of s.checks) out.push(`| \`${stepLabel(s)}\` | [\`${c.id}\`](#${c.id}) | ${c.title} |`);
  for (const s of STEPS) {
    out.push('');
    out.push(`## ${s.step}. ${s.title} (\`${stepLabel(s)}\`)`);
    for (const c of s.checks) {
      out.push('');
      out.push(`### ${c.id}`);
      out.push('');
      out.push(`**${c.title}** (reason \`${checkReason(c.id)}\`)`);
      out.push('');
      out.push(`- **Reads:** ${c.reads.map((r) => `\`${r}\``).join(', ')}`);
      out.push(`- **Why it matters:** ${c.why}`);
      out.push(`- **How to fix:** ${c.fix}`);
    }
  }
  out.push('');
  return out.join('\n');
}
