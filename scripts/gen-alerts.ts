// Writes the plain Prometheus rules file and the PrometheusRule from alerts/rules.ts.
// Usage: node scripts/gen-alerts.ts [repository root, default: the current directory]

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { alertGroups } from '../alerts/rules.ts';
import { PLAIN_RULES_PATH, PROMETHEUS_RULE_PATH, renderPrometheusRule, renderRulesFile } from '../alerts/render.ts';

export function generatedAlertFiles(): Map<string, string> {
  return new Map([
    [PLAIN_RULES_PATH, renderRulesFile(alertGroups)],
    [PROMETHEUS_RULE_PATH, renderPrometheusRule(alertGroups)],
  ]);
}

async function main(root: string): Promise<void> {
  for (const [path, content] of generatedAlertFiles()) {
    const target = resolve(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    process.stdout.write(JSON.stringify({ level: 'info', msg: 'wrote', path }) + '\n');
  }
}

if (import.meta.main) {
  await main(process.argv[2] ?? process.cwd());
}
