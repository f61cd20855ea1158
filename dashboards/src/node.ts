// railwatch node detail: one node's rails: throughput, errors, congestion, port states, VFs and the setup chain.

import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  CONGESTION_COUNTERS,
  NODE,
  PORT_ERROR_COUNTERS,
  RAIL,
  TARGET,
  TRANSPORT_ERROR_COUNTERS,
  oneOf,
  organize,
  queries,
  thresholds,
  valueText,
  withRail,
  railwatchDashboard,
} from './common.ts';
import type { Placed, QuerySpec } from './common.ts';

export const NODE_UID = 'railwatch-node';
export const NODE_FILE = 'dashboards/railwatch-node.json';

function stat(title: string, description: string, spec: QuerySpec): Placed {
  return {
    panel: new StatPanel().title(title).description(description).withTarget(queries([spec])[0]!),
    w: 4,
    h: 4,
  };
}

function timeseries(title: string, description: string, unit: string, specs: QuerySpec[]): Placed {
  return {
    panel: new TimeseriesPanel().title(title).description(description).unit(unit).min(0).targets(queries(specs)),
    w: 12,
    h: 8,
  };
}

/** Per-rail rate of a per-port counter family, optionally restricted to some `stat` label values. */
function railRate(metric: string, counters?: readonly string[], by = 'rail'): string {
  const selector = counters === undefined ? NODE : `${NODE}, stat=~"${oneOf(counters)}"`;
  return `sum by (${by}) (\n  ${withRail(`rate(${metric}{${selector}}[$__rate_interval])`)}\n)`;
}

/** Per pod and rail rate of a per-VF counter, joined to the pod holding the VF through railwatch_vf_info. */
function vfPodRate(metric: string): string {
  return `sum by (namespace, pod, rail) (\n  rate(${metric}{${NODE}, ${RAIL}}[$__rate_interval])\n  * on (${TARGET}, pf, vf) group_left (namespace, pod)\n  railwatch_vf_info{${NODE}, ${RAIL}, pod!=""}\n)`;
}

const STATUS_TEXT = valueText({
  '0': { text: 'pass', color: 'green' },
  '1': { text: 'warn', color: 'yellow' },
  '2': { text: 'fail', color: 'red' },
  '-1': { text: 'skip', color: 'text' },
});

export function buildNodeDashboard(): Dashboard {
  const ready = stat('Setup ready', 'No step of the setup chain fails (railwatch_setup_ready).', {
    expr: `railwatch_setup_ready{${NODE}}`,
    legend: '{{node}}',
  });
  (ready.panel as StatPanel)
    .mappings(valueText({ '1': { text: 'ready', color: 'green' }, '0': { text: 'not ready', color: 'red' } }))
    .thresholds(thresholds([{ value: null, color: 'red' }, { value: 1, color: 'green' }]));

  const panels: Placed[] = [
    ready,
    stat('Rails', 'Rails found on the node.', { expr: `railwatch_rails{${NODE}}`, legend: '{{node}}' }),
    stat('Expected rails', 'From the config, else the GPU count.', {
      expr: `railwatch_expected_rails{${NODE}}`,
      legend: '{{node}}',
    }),
    stat('GPUs', 'GPUs found on the node.', { expr: `railwatch_gpus{${NODE}}`, legend: '{{node}}' }),
    stat('VFs allocated', 'VFs of rail PFs the kubelet assigned to pods.', {
      expr: `sum(railwatch_pf_vfs_allocated{${NODE}, ${RAIL}, rail!=""})`,
    }),
    stat('VFs configured', 'sriov_numvfs summed over rail PFs.', {
      expr: `sum(railwatch_pf_vfs_configured{${NODE}, ${RAIL}, rail!=""})`,
    }),
    timeseries('Throughput per rail', 'RDMA port data transmitted and received, bits per second.', 'bps', [
      { expr: `${railRate('railwatch_rdma_port_transmit_bytes_total')} * 8`, legend: 'rail {{rail}} tx' },
      { expr: `${railRate('railwatch_rdma_port_receive_bytes_total')} * 8`, legend: 'rail {{rail}} rx' },
      {
        expr: `max by (rail) (\n  ${withRail(`railwatch_rdma_port_rate_bytes_per_second{${NODE}}`)}\n) * 8`,
        legend: 'rail {{rail}} link rate',
      },
    ]),
    timeseries(
      'VF traffic per pod',
      'Bytes received and transmitted by the VFs each pod holds (IFLA_VF_STATS, read at scrape time), per rail, bits per second. VFs of PF drivers without VF statistics (bnxt_en) have none.',
      'bps',
      [
        { expr: `${vfPodRate('railwatch_vf_receive_bytes_total')} * 8`, legend: '{{namespace}}/{{pod}} rail {{rail}} rx' },
        { expr: `${vfPodRate('railwatch_vf_transmit_bytes_total')} * 8`, legend: '{{namespace}}/{{pod}} rail {{rail}} tx' },
      ],
    ),
    timeseries(
      'VF drops per pod',
      "Packets the VFs each pod holds dropped on receive and transmit (IFLA_VF_STATS rx_dropped/tx_dropped), per rail, per second. Receive drops on a VF usually mean the pod's queues are full or the VF is rate-limited; absent for PF drivers without VF statistics.",
      'pps',
      [
        { expr: vfPodRate('railwatch_vf_receive_dropped_total'), legend: '{{namespace}}/{{pod}} rail {{rail}} rx dropped' },
        { expr: vfPodRate('railwatch_vf_transmit_dropped_total'), legend: '{{namespace}}/{{pod}} rail {{rail}} tx dropped' },
      ],
    ),
    timeseries('Packets per rail', 'RDMA port packets transmitted and received per second.', 'pps', [
      { expr: railRate('railwatch_rdma_port_transmit_packets_total'), legend: 'rail {{rail}} tx' },
      { expr: railRate('railwatch_rdma_port_receive_packets_total'), legend: 'rail {{rail}} rx' },
    ]),
    timeseries('Link errors', 'Physical and link-layer error counters (counters/) per rail, per second.', 'short', [
      {
        expr: railRate('railwatch_rdma_port_stat_total', PORT_ERROR_COUNTERS, 'rail, stat'),
        legend: 'rail {{rail}} {{stat}}',
      },
    ]),
    timeseries('Transport errors and retransmits', 'hw_counters/ errors and retries per rail, per second.', 'short', [
      {
        expr: railRate('railwatch_rdma_hw_stat_total', TRANSPORT_ERROR_COUNTERS, 'rail, stat'),
        legend: 'rail {{rail}} {{stat}}',
      },
    ]),
    timeseries(
      'Congestion: CNP and ECN',
      'RoCE congestion notifications sent and handled, and ECN-marked packets, per rail, per second.',
      'pps',
      [
        {
          expr: railRate('railwatch_rdma_hw_stat_total', CONGESTION_COUNTERS, 'rail, stat'),
          legend: 'rail {{rail}} {{stat}}',
        },
      ],
    ),
    {
      panel: new StateTimelinePanel()
        .title('Port state')
        .description('1 when the RDMA port is ACTIVE and LinkUp.')
        .targets(
          queries([
            {
              expr: `max by (rail, device, port) (\n  ${withRail(`railwatch_rdma_port_up{${NODE}}`)}\n)`,
              legend: 'rail {{rail}} {{device}}/{{port}}',
            },
          ]),
        )
        .mappings(valueText({ '1': { text: 'up', color: 'green' }, '0': { text: 'down', color: 'red' } }))
        .thresholds(thresholds([{ value: null, color: 'red' }, { value: 1, color: 'green' }])),
      w: 12,
      h: 8,
    },
    {
      panel: new TablePanel()
        .title('Setup chain')
        .description('railwatch_check_status per step: pass, warn, fail, skip. `railwatch doctor` explains each.')
        .targets(queries([{ expr: `railwatch_check_status{${NODE}}`, table: true }]))
        .withTransformation(organize(['node', 'step', 'check', 'Value'], { Value: 'status' }))
        .overrideByName('status', [
          { id: 'mappings', value: STATUS_TEXT },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ]),
      w: 12,
      h: 10,
    },
    {
      panel: new TablePanel()
        .title('Physical functions')
        .description('Per PF: sriov_totalvfs, sriov_numvfs, VF PCI functions present, host netdevs, allocated to pods.')
        .targets(
          queries([
            { expr: `railwatch_pf_vfs_supported{${NODE}, ${RAIL}}`, table: true },
            { expr: `railwatch_pf_vfs_configured{${NODE}, ${RAIL}}`, table: true },
            { expr: `railwatch_pf_vfs_present{${NODE}, ${RAIL}}`, table: true },
            { expr: `railwatch_pf_vf_netdevs{${NODE}, ${RAIL}}`, table: true },
            {
              expr: `sum without (resource) (railwatch_pf_vfs_allocated{${NODE}, ${RAIL}}) or railwatch_pf_vfs_present{${NODE}, ${RAIL}} * 0`,
              table: true,
            },
          ]),
        )
        .withTransformation({ id: 'merge', options: {} })
        .withTransformation(
          organize(['node', 'rail', 'pf', 'Value #A', 'Value #B', 'Value #C', 'Value #D', 'Value #E'], {
            'Value #A': 'total',
            'Value #B': 'configured',
            'Value #C': 'present',
            'Value #D': 'host netdevs',
            'Value #E': 'allocated',
          }),
        ),
      w: 12,
      h: 10,
    },
    {
      panel: new TablePanel()
        .title('VFs and pods')
        .description('Every VF with its driver, host netdev, and the pod the kubelet assigned it to (empty when free).')
        .targets(queries([{ expr: `railwatch_vf_info{${NODE}, ${RAIL}}`, table: true }]))
        .withTransformation(
          organize(['node', 'rail', 'pf', 'vf', 'pci', 'driver', 'netdev', 'namespace', 'pod'], {}, ['Value']),
        ),
      w: 24,
      h: 10,
    },
    {
      panel: new TablePanel()
        .title('Pods on rails')
        .description(
          "Each pod's VF interfaces from its Multus network-status: interface -> VF -> rail; the VFs the kubelet gave the pod that are not attached (step 11 of the doctor; needs the API server); the pod's GPUs and whether they sit on the rails of its VFs (step 12: aligned when every GPU's rail has one of the pod's VFs and every VF's rail one of its GPUs; a pod with only GPUs or only VFs counts as aligned).",
        )
        .targets(
          queries([
            { expr: `railwatch_pod_attachment_info{${NODE}, ${RAIL}}`, table: true },
            { expr: `railwatch_pod_vfs_not_attached{${NODE}}`, table: true },
            { expr: `railwatch_pod_gpus{${NODE}}`, table: true },
            { expr: `railwatch_pod_rail_aligned{${NODE}}`, table: true },
          ]),
        )
        .withTransformation({ id: 'merge', options: {} })
        .withTransformation(
          organize(
            ['node', 'namespace', 'pod', 'interface', 'pci', 'rail', 'network', 'Value #B', 'Value #C', 'Value #D'],
            { 'Value #B': 'VFs not attached', 'Value #C': 'GPUs', 'Value #D': 'GPUs on its rails' },
            ['Value #A'],
          ),
        )
        .overrideByName('VFs not attached', [
          { id: 'mappings', value: valueText({ '0': { text: 'none', color: 'green' }, '1': { text: '1', color: 'red' }, '2': { text: '2', color: 'red' } }) },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ])
        .overrideByName('GPUs on its rails', [
          { id: 'mappings', value: valueText({ '0': { text: 'misaligned', color: 'red' }, '1': { text: 'aligned', color: 'green' } }) },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ]),
      w: 24,
      h: 10,
    },
    {
      panel: new TablePanel()
        .title('RDMA ports')
        .description('RDMA devices and ports of the node with PF, rail, link layer and firmware.')
        .targets(queries([{ expr: `railwatch_rdma_port_info{${NODE}, ${RAIL}}`, table: true }]))
        .withTransformation(
          organize(['node', 'rail', 'pf', 'device', 'port', 'pci', 'link_layer', 'fw_version', 'node_guid'], {}, ['Value']),
        ),
      w: 12,
      h: 8,
    },
    {
      panel: new TablePanel()
        .title('PCIe links')
        .description('1 when the link of a rail NIC (pf) or GPU runs below its maximum speed or width.')
        .targets(queries([{ expr: `railwatch_pcie_link_degraded{${NODE}}`, table: true }]))
        .withTransformation(organize(['node', 'role', 'pci', 'Value'], { Value: 'degraded' }))
        .overrideByName('degraded', [
          {
            id: 'mappings',
            value: valueText({ '0': { text: 'full', color: 'green' }, '1': { text: 'degraded', color: 'red' } }),
          },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ]),
      w: 12,
      h: 8,
    },
    timeseries('Scan duration', 'How long railwatch takes to rescan the host.', 's', [
      { expr: `railwatch_scan_duration_seconds{${NODE}}`, legend: '{{node}}' },
    ]),
    timeseries('Scan and API errors', 'Scanner errors and Kubernetes API requests by code, per second.', 'short', [
      {
        expr: `sum by (scanner) (rate(railwatch_scan_errors_total{${NODE}}[$__rate_interval]))`,
        legend: 'scan {{scanner}}',
      },
      {
        expr: `sum by (verb, code) (rate(railwatch_kube_requests_total{${NODE}}[$__rate_interval]))`,
        legend: 'kube {{verb}} {{code}}',
      },
    ]),
  ];

  return railwatchDashboard(
    {
      title: 'railwatch / Node',
      uid: NODE_UID,
      description: "One GPU node's SR-IOV and RDMA rails, from railwatch.",
      from: 'now-3h',
      multiNode: false,
      link: { title: 'Fleet', includeVars: false },
    },
    panels,
  );
}
