// Shared pieces of railwatch's Grafana dashboards, on top of @grafana/grafana-foundation-sdk.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dashboard, DataSourceRef, GridPos, Panel, ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';

export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Label selectors every panel query uses, so the node and rail variables filter everything. */
export const NODE = 'node=~"$node"';
export const RAIL = 'rail=~"$rail"';
/** Labels of one scrape target; joins between railwatch series match on them. */
export const TARGET = 'node, instance, job';

/** Port counters that count physical and link-layer errors (counters/ files). */
export const PORT_ERROR_COUNTERS = [
  'symbol_error',
  'port_rcv_errors',
  'port_rcv_remote_physical_errors',
  'port_xmit_discards',
  'link_downed',
  'link_error_recovery',
  'local_link_integrity_errors',
  'excessive_buffer_overrun_errors',
];
/** Transport-level error and retry counters (hw_counters/ files). */
export const TRANSPORT_ERROR_COUNTERS = [
  'out_of_buffer',
  'out_of_sequence',
  'local_ack_timeout_err',
  'req_transport_retries_exceeded',
  'packet_seq_err',
  'roce_adp_retrans',
  'roce_slow_restart',
];
/** Congestion-control signals of RoCE (hw_counters/ files). */
export const CONGESTION_COUNTERS = ['np_cnp_sent', 'rp_cnp_handled', 'np_ecn_marked_roce_packets', 'rp_cnp_ignored'];

export function oneOf(values: readonly string[]): string {
  return values.join('|');
}

/**
 * Attaches `rail` (and `pf`) from railwatch_rdma_port_info to a per-port expression, keeping the ports of rails in
 * $rail (VF RDMA devices and NICs that are not rails have rail="" and drop out).
 */
export function withRail(expr: string): string {
  return `${expr}\n  * on (${TARGET}, device, port) group_left (pf, rail)\n  railwatch_rdma_port_info{${NODE}, ${RAIL}, rail!=""}`;
}

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

export function nodeVariable(multi: boolean): QueryVariableBuilder {
  return new QueryVariableBuilder('node')
    .label('Node')
    .datasource(DATASOURCE)
    .query({ query: 'label_values(railwatch_build_info, node)', refId: 'node' })
    .definition('label_values(railwatch_build_info, node)')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.NaturalAsc)
    .multi(multi)
    .includeAll(multi)
    .allValue('.*');
}

export function railVariable(): QueryVariableBuilder {
  return new QueryVariableBuilder('rail')
    .label('Rail')
    .datasource(DATASOURCE)
    .query({ query: 'label_values(railwatch_pf_info{node=~"$node"}, rail)', refId: 'rail' })
    .definition('label_values(railwatch_pf_info{node=~"$node"}, rail)')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.NaturalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

export interface QuerySpec {
  expr: string;
  legend?: string;
  /** Instant table query (tables, stats of current state) instead of a range time series. */
  table?: boolean;
}

export function queries(specs: readonly QuerySpec[]): DataqueryBuilder[] {
  return specs.map((spec, index) => {
    const query = new DataqueryBuilder()
      .datasource(DATASOURCE)
      .refId(String.fromCharCode(65 + index))
      .expr(spec.expr);
    if (spec.legend !== undefined) query.legendFormat(spec.legend);
    if (spec.table === true) query.instant().format(PromQueryFormat.Table);
    return query;
  });
}

/** Every panel builder of the SDK has gridPos; the layout needs nothing else. */
export interface PanelLike extends cog.Builder<Panel> {
  gridPos(gridPos: GridPos): unknown;
}

export interface Placed {
  panel: PanelLike;
  /** Width in grid columns (24 per row). */
  w: number;
  h: number;
}

/**
 * Lays out panels left to right in rows of 24 columns, starting a new row when one does not fit.
 */
export function layout(panels: readonly Placed[]): cog.Builder<Panel>[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((placed) => {
    if (x + placed.w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    placed.panel.gridPos({ x, y, w: placed.w, h: placed.h });
    x += placed.w;
    rowHeight = Math.max(rowHeight, placed.h);
    return placed.panel;
  });
}

export function valueText(entries: Record<string, { text: string; color: string }>): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  Object.entries(entries).forEach(([value, result], index) => {
    options[value] = { ...result, index };
  });
  return [{ type: MappingType.ValueToText, options }];
}

export function thresholds(steps: { value: number | null; color: string }[]): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps);
}

/** Hides the bookkeeping columns of an instant table query and orders the rest. */
export function organize(order: readonly string[], rename: Record<string, string> = {}, hide: readonly string[] = []) {
  const hidden = ['Time', '__name__', 'instance', 'job', ...hide];
  return {
    id: 'organize',
    options: {
      excludeByName: Object.fromEntries(hidden.map((name) => [name, true])),
      indexByName: Object.fromEntries(order.map((name, index) => [name, index])),
      renameByName: rename,
    },
  };
}

export function dashboardJson(dashboard: Dashboard): string {
  return JSON.stringify(dashboard, null, 2) + '\n';
}

export interface DashboardSpec {
  title: string;
  uid: string;
  description: string;
  /** Default time range start, e.g. now-6h. */
  from: string;
  /** Whether the node variable takes several nodes (fleet) or one (node detail). */
  multiNode: boolean;
  /** A link to the other railwatch dashboard. */
  link: { title: string; includeVars: boolean };
}

/** A railwatch dashboard: the shared header (tags, refresh, variables, cross-link) and the laid-out panels. */
export function railwatchDashboard(spec: DashboardSpec, panels: readonly Placed[]): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['railwatch', 'rdma', 'sriov'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: spec.from, to: 'now' })
    .withVariable(datasourceVariable())
    .withVariable(nodeVariable(spec.multiNode))
    .withVariable(railVariable())
    .link(
      new DashboardLinkBuilder(spec.link.title)
        .type(DashboardLinkType.Dashboards)
        .tags(['railwatch'])
        .includeVars(spec.link.includeVars)
        .keepTime(true),
    );
  for (const panel of layout(panels)) builder.withPanel(panel);
  return builder.build();
}
