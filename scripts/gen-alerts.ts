// Writes the plain Prometheus rules file and the PrometheusRule from alerts/rules.ts.
// Usage: node scripts/gen-alerts.ts [repository root, default: the current directory]

import { writeGenerated } from './write-generated.ts';
import { alertGroups } from '../alerts/rules.ts';
import { PLAIN_RULES_PATH, PROMETHEUS_RULE_PATH, renderPrometheusRule, renderRulesFile } from '../alerts/render.ts';

export function generatedAlertFiles(): Map<string, string> {
  return new Map([
    [PLAIN_RULES_PATH, renderRulesFile(alertGroups)],
    [PROMETHEUS_RULE_PATH, renderPrometheusRule(alertGroups)],
  ]);
}

if (import.meta.main) {
  await writeGenerated(process.argv[2] ?? process.cwd(), generatedAlertFiles());
}
