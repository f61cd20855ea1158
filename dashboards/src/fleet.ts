// railwatch fleet overview: every node's rails, setup state, VF capacity and the worst ports.

import { TableSortByFieldStateBuilder } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  NODE,
  RAIL,
  TARGET,
  PORT_ERROR_COUNTERS,
  oneOf,
  organize,
  queries,
  thresholds,
  valueText,
  railwatchDashboard,
} from './common.ts';
import type { Placed } from './common.ts';

export const FLEET_UID = 'railwatch-fleet';
export const FLEET_FILE = 'dashboards/railwatch-fleet.json';

function stat(title: string, description: string, expr: string, red: number | null, green: number | null): Placed {
  const steps: { value: number | null; color: string }[] = [{ value: null, color: green === null ? 'red' : 'green' }];
  if (red !== null) steps.push({ value: red, color: 'red' });
  return {
    panel: new StatPanel().title(title).description(description).withTarget(queries([{ expr }])[0]!)
      .thresholds(thresholds(steps)),
    w: 4,
    h: 4,
  };
}

/** VFs of rail PFs, per node and rail. */
const railPf = `${NODE}, ${RAIL}, rail!=""`;

export function buildFleetDashboard(): Dashboard {
  const panels: Placed[] = [
    stat('Nodes', 'Nodes with a railwatch target reporting.', `count(railwatch_build_info{${NODE}})`, null, 0),
    stat('Rails', 'Rails over all selected nodes.', `sum(railwatch_rails{${NODE}})`, null, 0),
    stat(
      'Nodes not setup-ready',
      'Nodes where a step of the setup chain fails (railwatch_setup_ready == 0).',
      `count(railwatch_setup_ready{${NODE}} == 0) or vector(0)`,
      1,
      0,
    ),
    stat(
      'Nodes with drift',
      'Nodes where at least one check is drifting (railwatch_drift_active).',
      `count(max by (node) (railwatch_drift_active{${NODE}}) > 0) or vector(0)`,
      1,
      0,
    ),
    stat(
      'Rail ports down',
      'RDMA ports of rail NICs that are not ACTIVE/LinkUp.',
      `count((railwatch_rdma_port_up{${NODE}} == 0) * on (${TARGET}, device, port) railwatch_rdma_port_info{${NODE}, rail!=""}) or vector(0)`,
      1,
      0,
    ),
    stat(
      'Targets down',
      'railwatch targets Prometheus fails to scrape.',
      `count(up{job="railwatch", ${NODE}} == 0) or vector(0)`,
      1,
      0,
    ),
    {
      panel: new TablePanel()
        .title('Node setup')
        .description('Rails, GPUs and setup state per node; failing steps counts railwatch_check_status == 2.')
        .targets(
          queries([
            { expr: `max by (node) (railwatch_rails{${NODE}})`, table: true },
            { expr: `max by (node) (railwatch_gpus{${NODE}})`, table: true },
            { expr: `max by (node) (railwatch_setup_ready{${NODE}})`, table: true },
            {
              expr: `count by (node) (railwatch_check_status{${NODE}} == 2) or max by (node) (railwatch_setup_ready{${NODE}}) * 0`,
              table: true,
            },
            { expr: `max by (node) (up{job="railwatch", ${NODE}})`, table: true },
          ]),
        )
        .withTransformation({ id: 'merge', options: {} })
        .withTransformation(
          organize(['node', 'Value #A', 'Value #B', 'Value #C', 'Value #D', 'Value #E'], {
            'Value #A': 'rails',
            'Value #B': 'GPUs',
            'Value #C': 'setup ready',
            'Value #D': 'failing steps',
            'Value #E': 'scraped',
          }),
        )
        .overrideByName('setup ready', [
          { id: 'mappings', value: valueText({ '1': { text: 'ready', color: 'green' }, '0': { text: 'not ready', color: 'red' } }) },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ]),
      w: 12,
      h: 9,
    },
    {
      panel: new TablePanel()
        .title('Failing setup steps')
        .description('Checks failing now, per node (railwatch_check_status == 2). Run `railwatch doctor` on the node.')
        .targets(queries([{ expr: `railwatch_check_status{${NODE}} == 2`, table: true }]))
        .withTransformation(organize(['node', 'step', 'check'], { Value: 'status' }))
        .overrideByName('status', [
          { id: 'mappings', value: valueText({ '2': { text: 'fail', color: 'red' } }) },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ]),
      w: 12,
      h: 9,
    },
    {
      panel: new TablePanel()
        .title('VFs per rail')
        .description('VFs configured (sriov_numvfs), allocated to pods by the kubelet, and free (present - allocated).')
        .targets(
          queries([
            { expr: `sum by (node, rail) (railwatch_pf_vfs_configured{${railPf}})`, table: true },
            {
              expr: `sum by (node, rail) (railwatch_pf_vfs_allocated{${railPf}}) or sum by (node, rail) (railwatch_pf_vfs_present{${railPf}}) * 0`,
              table: true,
            },
            {
              expr: `sum by (node, rail) (railwatch_pf_vfs_present{${railPf}}) - (sum by (node, rail) (railwatch_pf_vfs_allocated{${railPf}}) or sum by (node, rail) (railwatch_pf_vfs_present{${railPf}}) * 0)`,
              table: true,
            },
          ]),
        )
        .withTransformation({ id: 'merge', options: {} })
        .withTransformation(
          organize(['node', 'rail', 'Value #A', 'Value #B', 'Value #C'], {
            'Value #A': 'configured',
            'Value #B': 'allocated',
            'Value #C': 'free',
          }),
        ),
      w: 12,
      h: 10,
    },
    {
      panel: new TimeseriesPanel()
        .title('Free VFs per rail')
        .description('VFs present and not allocated to pods, per node and rail.')
        .targets(
          queries([
            {
              expr: `sum by (node, rail) (railwatch_pf_vfs_present{${railPf}}) - (sum by (node, rail) (railwatch_pf_vfs_allocated{${railPf}}) or sum by (node, rail) (railwatch_pf_vfs_present{${railPf}}) * 0)`,
              legend: '{{node}} rail {{rail}}',
            },
          ]),
        )
        .min(0),
      w: 12,
      h: 10,
    },
    {
      panel: new TablePanel()
        .title('Top error ports')
        .description('Rail ports with the most physical and link errors over the dashboard range.')
        .targets(
          queries([
            {
              expr: `topk(10, sum by (node, device, port) (increase(railwatch_rdma_port_stat_total{${NODE}, stat=~"${oneOf(PORT_ERROR_COUNTERS)}"}[$__range])) * on (node, device, port) group_left (rail) max by (node, device, port, rail) (railwatch_rdma_port_info{${NODE}, ${RAIL}, rail!=""}))`,
              table: true,
            },
          ]),
        )
        .withTransformation(organize(['node', 'rail', 'device', 'port'], { Value: 'errors' }))
        .sortBy([new TableSortByFieldStateBuilder().displayName('errors').desc(true)]),
      w: 12,
      h: 9,
    },
    {
      panel: new TablePanel()
        .title('Rail NIC firmware')
        .description('Firmware versions of rail NICs per node; more than one per node fires RailwatchFirmwareMismatch.')
        .targets(
          queries([{ expr: `count by (node, fw_version) (railwatch_rdma_port_info{${NODE}, ${RAIL}, rail!=""})`, table: true }]),
        )
        .withTransformation(organize(['node', 'fw_version'], { Value: 'ports' })),
      w: 12,
      h: 9,
    },
  ];

  return railwatchDashboard(
    {
      title: 'railwatch / Fleet',
      uid: FLEET_UID,
      description: 'SR-IOV and RDMA rails of every GPU node, from railwatch.',
      from: 'now-6h',
      multiNode: true,
      link: { title: 'Node detail', includeVars: true },
    },
    panels,
  );
}
