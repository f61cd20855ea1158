import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { alertGroups, runbookAnchor, RUNBOOK_BASE_URL } from '../../alerts/rules.ts';
import { PLAIN_RULES_PATH, PROMETHEUS_RULE_PATH, toRuleGroups } from '../../alerts/render.ts';
import { generatedAlertFiles } from '../../scripts/gen-alerts.ts';

const execFileAsync = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const alertNames = alertGroups.flatMap((group) => group.rules.map((rule) => rule.alert));

async function promtool(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('promtool', args, { cwd: root });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool not found: install the Debian package "prometheus"');
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function unitTestFiles(): Promise<string[]> {
  const names = await readdir(join(root, 'test/alerts'));
  return names
    .filter((name) => name.endsWith('.test.yaml'))
    .sort()
    .map((name) => join('test/alerts', name));
}

test('the committed rule files are what scripts/gen-alerts.ts generates', async () => {
  const generated = generatedAlertFiles();
  assert.deepEqual([...generated.keys()].sort(), [PLAIN_RULES_PATH, PROMETHEUS_RULE_PATH].sort());
  for (const [path, content] of generated) {
    const committed = await readFile(join(root, path), 'utf8');
    assert.equal(committed, content, `${path} is stale: run node scripts/gen-alerts.ts`);
  }
});

test('the PrometheusRule carries the same groups as the plain rules file', async () => {
  const plain = parse(await readFile(join(root, PLAIN_RULES_PATH), 'utf8')) as { groups: unknown };
  const rule = parse(await readFile(join(root, PROMETHEUS_RULE_PATH), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(plain.groups, toRuleGroups(alertGroups));
  assert.deepEqual(rule, {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'railwatch',
      namespace: 'railwatch',
      labels: {
        'app.kubernetes.io/name': 'railwatch',
        'app.kubernetes.io/component': 'alerting',
        'app.kubernetes.io/part-of': 'railwatch',
      },
    },
    spec: { groups: plain.groups },
  });
});

test('promtool check rules passes on both rule files', async () => {
  const plain = await promtool(['check', 'rules', PLAIN_RULES_PATH]);
  assert.equal(plain.code, 0, plain.output);
  assert.match(plain.output, new RegExp(`SUCCESS: ${alertNames.length} rules found`));

  // promtool reads plain rule files only: check the PrometheusRule's spec as one.
  const dir = await mkdtemp(join(tmpdir(), 'railwatch-rules-'));
  try {
    const rule = parse(await readFile(join(root, PROMETHEUS_RULE_PATH), 'utf8')) as { spec: unknown };
    const specFile = join(dir, 'spec.rules.yaml');
    await writeFile(specFile, JSON.stringify(rule.spec));
    const spec = await promtool(['check', 'rules', specFile]);
    assert.equal(spec.code, 0, spec.output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('promtool test rules passes', async () => {
  const files = await unitTestFiles();
  assert.ok(files.length > 0);
  const result = await promtool(['test', 'rules', ...files]);
  assert.equal(result.code, 0, result.output);
  assert.doesNotMatch(result.output, /FAILED/);
});

interface UnitTestFile {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

test('every alert has a unit test where it fires and one where it stays quiet', async () => {
  const firing = new Set<string>();
  const quiet = new Set<string>();
  for (const file of await unitTestFiles()) {
    const doc = parse(await readFile(join(root, file), 'utf8')) as UnitTestFile;
    for (const unit of doc.tests) {
      for (const check of unit.alert_rule_test ?? []) {
        ((check.exp_alerts ?? []).length > 0 ? firing : quiet).add(check.alertname);
      }
    }
  }
  const all = [...alertNames].sort();
  assert.deepEqual(all.filter((name) => firing.has(name)), all, 'alerts without a firing test');
  assert.deepEqual(all.filter((name) => quiet.has(name)), all, 'alerts without a quiet test');
});

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

test('every alert has a summary, a description with labels and a runbook section', async () => {
  const doc = await readFile(join(root, 'docs/alerts.md'), 'utf8');
  const anchors = new Set(
    doc
      .split('\n')
      .filter((line) => line.startsWith('## '))
      .map((line) => headingAnchor(line.slice(3))),
  );
  const rendered = toRuleGroups(alertGroups).flatMap((group) => group.rules);
  const problems: string[] = [];
  for (const rule of rendered) {
    const { summary, description, runbook_url: url } = rule.annotations;
    if (!summary) problems.push(`${rule.alert}: no summary`);
    if (!description?.includes('{{ $labels.')) problems.push(`${rule.alert}: description names no label`);
    if (url !== `${RUNBOOK_BASE_URL}#${runbookAnchor(rule.alert)}`) problems.push(`${rule.alert}: runbook_url ${url}`);
    if (!anchors.has(runbookAnchor(rule.alert))) problems.push(`${rule.alert}: no section in docs/alerts.md`);
    if (!rule.labels['severity']) problems.push(`${rule.alert}: no severity`);
    if (!/^\d+[smh]$/.test(rule.for)) problems.push(`${rule.alert}: for ${rule.for}`);
  }
  assert.deepEqual(problems, []);
});

test('the required alerts exist', () => {
  const required = [
    'RailwatchVFsDisappeared',
    'RailwatchVFCountBelowDesired',
    'RailwatchRdmaPortDown',
    'RailwatchRdmaLinkFlapping',
    'RailwatchRdmaErrorsRising',
    'RailwatchPcieLinkDegraded',
    'RailwatchSetupStepFailing',
    'RailwatchRailCountMismatch',
    'RailwatchFirmwareMismatch',
    'RailwatchDown',
  ];
  assert.deepEqual(required.filter((name) => !alertNames.includes(name)), []);
});
