import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dashboards, renderDashboards } from '../../dashboards/src/registry.ts';
import { startPrometheus } from '../helpers/prometheus.ts';
import type { QueryResult, RunningPrometheus } from '../helpers/prometheus.ts';
import { startAgentFleet, type AgentFleet } from './agent-fleet.ts';

const root = resolve(import.meta.dirname, '../..');
const NODES = ['gpu-node-1', 'gpu-node-2'];

interface PanelJson {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }[];
}

interface VariableJson {
  name: string;
  type: string;
  query?: string | { query: string };
}

interface DashboardJson {
  uid?: string;
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
}

interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

function builtDashboards(): { file: string; json: DashboardJson }[] {
  return dashboards.map((entry) => ({ file: entry.file, json: JSON.parse(JSON.stringify(entry.build())) }));
}

function panelQueries(): PanelQuery[] {
  return builtDashboards().flatMap(({ file, json }) =>
    (json.panels ?? []).flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({
        dashboard: file,
        panel: panel.title ?? '?',
        refId: target.refId ?? '?',
        expr: target.expr ?? '',
      })),
    ),
  );
}

/** Grafana's variable substitution, with the values a real fleet of NODES would give. */
export function substitute(expr: string, nodes: readonly string[]): string {
  return expr
    .replaceAll('${datasource}', 'prometheus')
    .replaceAll('$datasource', 'prometheus')
    .replaceAll('$node', nodes.join('|'))
    .replaceAll('$rail', '.*')
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1m');
}

/** label_values(selector, label) of a Grafana query variable as a PromQL query returning one series per value. */
export function labelValuesQuery(definition: string): string {
  const match = /^label_values\((.*),\s*(\w+)\)$/.exec(definition.trim());
  if (match === null) throw new Error(`not a label_values() query: ${definition}`);
  return `group by (${match[2]}) (${match[1]})`;
}

function resultSize(result: QueryResult): number {
  if (result.resultType === 'vector' || result.resultType === 'matrix') return result.result.length;
  return 1;
}

test('the committed dashboards are what scripts/gen-dashboards.ts generates', async () => {
  for (const [file, content] of renderDashboards()) {
    const committed = await readFile(join(root, file), 'utf8');
    assert.equal(committed, content, `${file} is stale: run node scripts/gen-dashboards.ts`);
  }
  assert.deepEqual(
    [...renderDashboards().keys()].sort(),
    ['dashboards/railwatch-fleet.json', 'dashboards/railwatch-node.json'],
  );
});

test('every dashboard has the datasource, node and rail variables and panels bound to $datasource', () => {
  for (const { file, json } of builtDashboards()) {
    const variables = (json.templating?.list ?? []).map((variable) => ({
      name: variable.name,
      type: variable.type,
      query: typeof variable.query === 'string' ? variable.query : variable.query?.query,
    }));
    assert.deepEqual(
      variables,
      [
        { name: 'datasource', type: 'datasource', query: 'prometheus' },
        { name: 'node', type: 'query', query: 'label_values(railwatch_build_info, node)' },
        { name: 'rail', type: 'query', query: 'label_values(railwatch_pf_info{node=~"$node"}, rail)' },
      ],
      file,
    );
    const problems: string[] = [];
    const titles = new Set<string>();
    for (const panel of json.panels ?? []) {
      const name = `${file}: ${panel.title ?? '(untitled)'}`;
      if (panel.title === undefined || titles.has(panel.title)) problems.push(`${name}: missing or repeated title`);
      titles.add(panel.title ?? '');
      if ((panel.targets ?? []).length === 0) problems.push(`${name}: no query`);
      for (const target of panel.targets ?? []) {
        if (target.datasource?.uid !== '${datasource}') problems.push(`${name}: query not on $datasource`);
        if (!target.expr?.includes('$node') && !target.expr?.includes('up{')) problems.push(`${name}: ignores $node`);
      }
      const pos = panel.gridPos;
      if (pos === undefined || pos.x + pos.w > 24) problems.push(`${name}: bad gridPos`);
    }
    assert.deepEqual(problems, []);
  }
});

test('variable substitution leaves no Grafana variable behind', () => {
  const leftovers = panelQueries()
    .map((query) => substitute(query.expr, NODES))
    .filter((expr) => expr.includes('$'));
  assert.deepEqual(leftovers, []);
  assert.equal(
    substitute('rate(x{node=~"$node", rail=~"$rail"}[$__rate_interval])', NODES),
    'rate(x{node=~"gpu-node-1|gpu-node-2", rail=~".*"}[1m])',
  );
  assert.equal(labelValuesQuery('label_values(railwatch_pf_info{node=~"$node"}, rail)'), 'group by (rail) (railwatch_pf_info{node=~"$node"})');
});

// A real Prometheus scraping two real railwatch agents serving fixture hosts.
let fleet: AgentFleet | undefined;
let prometheus: RunningPrometheus | undefined;

before(async () => {
  fleet = await startAgentFleet(NODES);
  prometheus = await startPrometheus({
    scrapeTargets: fleet.nodes.map((n) => ({ url: n.url, labels: { node: n.node, job: 'railwatch' } })),
    scrapeIntervalS: 1,
  });
  // every target up, then enough scrapes that rate() over 1m has several samples
  await prometheus.waitFor('count(up{job="railwatch"} == 1)', (r) => sampleValue(r) === NODES.length);
  await prometheus.waitFor('min(count_over_time(up{job="railwatch"}[1m]))', (r) => (sampleValue(r) ?? 0) >= 4);
});

after(async () => {
  await prometheus?.stop();
  await fleet?.close();
});

function sampleValue(result: QueryResult): number | undefined {
  if (result.resultType !== 'vector') return undefined;
  const first = result.result[0];
  return first?.value !== undefined ? Number(first.value[1]) : undefined;
}

test('every panel query, variables substituted, runs on a real Prometheus and returns data', async () => {
  assert.ok(prometheus);
  const all = panelQueries();
  assert.ok(all.length > 20, `only ${all.length} queries`);
  const problems: string[] = [];
  for (const query of all) {
    const expr = substitute(query.expr, NODES);
    try {
      const result = await prometheus.query(expr);
      if (resultSize(result) === 0) problems.push(`${query.dashboard} / ${query.panel} / ${query.refId}: no data: ${expr}`);
    } catch (err) {
      problems.push(`${query.dashboard} / ${query.panel} / ${query.refId}: ${(err as Error).message}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the node and rail variables list the fleet', async () => {
  assert.ok(prometheus);
  const found: Record<string, string[]> = {};
  for (const variable of builtDashboards()[0]?.json.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const definition = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    const result = await prometheus.query(substitute(labelValuesQuery(definition), NODES));
    assert.equal(result.resultType, 'vector');
    if (result.resultType !== 'vector') continue;
    found[variable.name] = result.result
      .map((series) => series.metric[variable.name] ?? '')
      .filter((value) => value !== '') // Grafana lists no empty value
      .sort();
  }
  assert.deepEqual(found, { node: NODES, rail: ['0', '1'] });
});

test('the fleet is two real agents, one ready and one with a failing setup step', async () => {
  assert.ok(prometheus);
  const ready = await prometheus.query('railwatch_setup_ready');
  assert.equal(ready.resultType, 'vector');
  if (ready.resultType !== 'vector') return;
  assert.deepEqual(ready.result.map((r) => [r.metric['node'], r.value?.[1]]).sort(), [['gpu-node-1', '1'], ['gpu-node-2', '0']]);
});
