// The single source of railwatch's Prometheus alert rules. scripts/gen-alerts.ts renders it into the plain rules file
// (alerts/railwatch.rules.yaml) and the prometheus-operator PrometheusRule; test/alerts checks both are current.
//
// Every series railwatch exports carries `node`, `instance` and `job` once scraped (the scrape config adds `node`),
// so joins between railwatch series match on those target labels plus the series' own keys.
import { USERSPACE_VF_DRIVERS } from '../agent/topology/vf-drivers.ts';

export type Severity = 'critical' | 'warning' | 'info';

export interface AlertRule {
  /** Alert name; also the runbook heading in docs/alerts.md. */
  alert: string;
  expr: string;
  /** Prometheus duration the expression must hold before the alert fires. */
  for: string;
  severity: Severity;
  summary: string;
  description: string;
}

export interface AlertGroup {
  name: string;
  rules: AlertRule[];
}

/** Where docs/alerts.md is published; runbook_url = RUNBOOK_BASE_URL + '#' + anchor. */
export const RUNBOOK_BASE_URL = 'https://github.com/railwatch/railwatch/blob/main/docs/alerts.md';

/** The scrape job railwatch's targets carry (the plain scrape config and the ServiceMonitor both use it). */
export const RAILWATCH_JOB = 'railwatch';

/** Labels that identify one scrape target; every join between railwatch series matches on them. */
const TARGET = 'node, instance, job';

/** VF drivers that give no kernel netdev (userspace drivers): a free VF bound to one of them is not "missing". */
export { USERSPACE_VF_DRIVERS };

/** Thresholds of RailwatchRdmaErrorsRising, per second, averaged over ERROR_RATE_WINDOW. */
export const ERROR_THRESHOLDS = {
  /** Physical layer: symbol errors, receive errors (bad CRC, malformed packets). 3 per minute is a failing link. */
  linkErrors: 0.05,
  /** Receive WQEs exhausted: packets dropped because the application did not post receive buffers fast enough. */
  outOfBuffer: 100,
  /** Transport retries and timeouts: lossy or congested fabric. */
  retransmits: 10,
} as const;

export const ERROR_RATE_WINDOW = '10m';

/** The physical-layer counters under counters/ and the transport counters under hw_counters/ the errors alert reads. */
export const LINK_ERROR_COUNTERS = ['symbol_error', 'port_rcv_errors'];
export const RETRANSMIT_COUNTERS = ['local_ack_timeout_err', 'req_transport_retries_exceeded', 'roce_adp_retrans'];

/** RailwatchRdmaLinkFlapping: more than this many link_downed increments within FLAP_WINDOW. */
export const FLAP_THRESHOLD = 2;
export const FLAP_WINDOW = '1h';

function regexAlternatives(values: readonly string[]): string {
  return values.join('|');
}

/** Adds a constant `reason` label so one alert can say which of its conditions holds. */
function withReason(expr: string, reason: string): string {
  return `label_replace(\n  ${indent(expr, 2)},\n  "reason", "${reason}", "", ""\n)`;
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text.split('\n').join('\n' + pad);
}

/**
 * VFs of a PF that are accounted for: netdev visible in the host namespace, or assigned to a pod by the kubelet, or
 * free and bound to a userspace driver (no netdev by design). Absent allocation metrics count as 0 here; the only
 * branch that uses this is guarded to nodes whose kubelet answered (railwatch_pod_resources_up == 1, or allocation
 * series present): without the kubelet a VF handed to a pod cannot be told from a lost one.
 */
const accountedVfs = [
  'railwatch_pf_vf_netdevs',
  '+ (sum without (resource) (railwatch_pf_vfs_allocated) or railwatch_pf_vf_netdevs * 0)',
  '+ (',
  '    count without (vf, pci, driver, netdev, namespace, pod) (',
  `      railwatch_vf_info{pod="", driver=~"${regexAlternatives(USERSPACE_VF_DRIVERS)}"}`,
  '    )',
  '    or railwatch_pf_vf_netdevs * 0',
  '  )',
].join('\n');

const vfsDisappeared = [
  withReason('(railwatch_pf_vfs_configured - railwatch_pf_vfs_present) > 0', 'pci-functions-missing'),
  'or ignoring (reason)',
  withReason(
    'count without (vf, pci, driver, netdev, namespace, pod) (railwatch_vf_info{driver=""})',
    'vfs-unbound',
  ),
  'or ignoring (reason)',
  withReason(
    [
      '(',
      `  railwatch_pf_vfs_present - (\n    ${indent(accountedVfs, 4)}\n  )`,
      ') > 0',
      `and on (${TARGET}) (railwatch_pod_resources_up == 1 or railwatch_pf_vfs_allocated)`,
    ].join('\n'),
    'netdevs-missing',
  ),
  'or ignoring (reason)',
  withReason('(railwatch_pf_vfs_present offset 1h - railwatch_pf_vfs_present) > 0', 'fewer-than-1h-ago'),
].join('\n');

const portInfoJoin = `* on (${TARGET}, device, port) group_left (pf, rail) railwatch_rdma_port_info{rail!=""}`;

const rdmaErrorsRising = [
  '(',
  `    rate(railwatch_rdma_port_stat_total{stat=~"${regexAlternatives(LINK_ERROR_COUNTERS)}"}[${ERROR_RATE_WINDOW}]) > ${ERROR_THRESHOLDS.linkErrors}`,
  '  or',
  `    rate(railwatch_rdma_hw_stat_total{stat="out_of_buffer"}[${ERROR_RATE_WINDOW}]) > ${ERROR_THRESHOLDS.outOfBuffer}`,
  '  or',
  `    rate(railwatch_rdma_hw_stat_total{stat=~"${regexAlternatives(RETRANSMIT_COUNTERS)}"}[${ERROR_RATE_WINDOW}]) > ${ERROR_THRESHOLDS.retransmits}`,
  ')',
  portInfoJoin,
].join('\n');

const railLabel = '{{ if $labels.rail }}rail {{ $labels.rail }}{{ else }}no rail{{ end }}';

export const alertGroups: AlertGroup[] = [
  {
    name: 'railwatch-vfs',
    rules: [
      {
        alert: 'RailwatchVFsDisappeared',
        expr: vfsDisappeared,
        for: '3m',
        severity: 'critical',
        summary: 'SR-IOV VFs disappeared on {{ $labels.node }} ({{ $labels.pf }})',
        description:
          '{{ $value }} VFs of PF {{ $labels.pf }} (' +
          railLabel +
          ') on node {{ $labels.node }} are missing ({{ $labels.reason }}). ' +
          'pci-functions-missing: fewer VF PCI functions than sriov_numvfs; vfs-unbound: VFs bound to no driver; ' +
          'netdevs-missing: VF netdevs gone from the host namespace and not assigned to pods by the kubelet; ' +
          'fewer-than-1h-ago: fewer VF PCI functions than one hour ago. Pods scheduled on this rail may fail to start.',
      },
      {
        alert: 'RailwatchVFCountBelowDesired',
        expr: '(railwatch_pf_vfs_desired - railwatch_pf_vfs_configured) > 0',
        for: '10m',
        severity: 'warning',
        summary: 'Fewer VFs configured than desired on {{ $labels.node }} ({{ $labels.pf }})',
        description:
          'PF {{ $labels.pf }} (' +
          railLabel +
          ') on node {{ $labels.node }} has {{ $value }} VFs fewer in sriov_numvfs than the railwatch config desires.',
      },
    ],
  },
  {
    name: 'railwatch-rdma',
    rules: [
      {
        alert: 'RailwatchRdmaPortDown',
        expr: `(railwatch_rdma_port_up == 0)\n${portInfoJoin}`,
        for: '2m',
        severity: 'critical',
        summary: 'RDMA port {{ $labels.device }}/{{ $labels.port }} is down on {{ $labels.node }}',
        description:
          'RDMA port {{ $labels.device }} port {{ $labels.port }} (PF {{ $labels.pf }}, rail {{ $labels.rail }}) on node ' +
          '{{ $labels.node }} is not ACTIVE/LinkUp. Traffic on this rail fails or detours.',
      },
      {
        alert: 'RailwatchRdmaLinkFlapping',
        expr:
          `(increase(railwatch_rdma_port_stat_total{stat="link_downed"}[${FLAP_WINDOW}]) > ${FLAP_THRESHOLD})\n` +
          portInfoJoin,
        for: '0m',
        severity: 'warning',
        summary: 'RDMA link {{ $labels.device }}/{{ $labels.port }} is flapping on {{ $labels.node }}',
        description:
          'RDMA port {{ $labels.device }} port {{ $labels.port }} (PF {{ $labels.pf }}, rail {{ $labels.rail }}) on node ' +
          `{{ $labels.node }} went down {{ $value | printf "%.0f" }} times in the last ${FLAP_WINDOW}.`,
      },
      {
        alert: 'RailwatchRdmaErrorsRising',
        expr: rdmaErrorsRising,
        for: '15m',
        severity: 'warning',
        summary: 'RDMA {{ $labels.stat }} rising on {{ $labels.node }} ({{ $labels.device }}/{{ $labels.port }})',
        description:
          'Counter {{ $labels.stat }} of RDMA port {{ $labels.device }} port {{ $labels.port }} (PF {{ $labels.pf }}, ' +
          `rail {{ $labels.rail }}) on node {{ $labels.node }} grows at {{ $value | printf "%.2f" }}/s over ${ERROR_RATE_WINDOW}.`,
      },
      {
        alert: 'RailwatchFirmwareMismatch',
        expr: `count by (${TARGET}) (\n  count by (${TARGET}, fw_version) (railwatch_rdma_port_info{rail!=""})\n) > 1`,
        for: '30m',
        severity: 'warning',
        summary: 'Rail NICs run different firmware on {{ $labels.node }}',
        description:
          'The rail NICs of node {{ $labels.node }} run {{ $value }} different firmware versions; ' +
          'rails should run one version.',
      },
    ],
  },
  {
    name: 'railwatch-node',
    rules: [
      {
        alert: 'RailwatchPcieLinkDegraded',
        expr: 'railwatch_pcie_link_degraded == 1',
        for: '15m',
        severity: 'warning',
        summary: 'PCIe link of {{ $labels.role }} {{ $labels.pci }} is degraded on {{ $labels.node }}',
        description:
          'The PCIe link of {{ $labels.role }} {{ $labels.pci }} on node {{ $labels.node }} runs below its maximum ' +
          'speed or width; bandwidth between GPU and NIC is capped.',
      },
      {
        alert: 'RailwatchSetupStepFailing',
        expr: 'railwatch_check_status == 2',
        for: '10m',
        severity: 'warning',
        summary: 'Setup step {{ $labels.step }} fails on {{ $labels.node }}',
        description:
          'railwatch check {{ $labels.check }} (setup step {{ $labels.step }}) fails on node {{ $labels.node }}. ' +
          'Run `railwatch doctor` on the node for the finding and the remedy.',
      },
      {
        alert: 'RailwatchRailCountMismatch',
        expr: `railwatch_rails != on (${TARGET}) railwatch_expected_rails`,
        for: '10m',
        severity: 'warning',
        summary: 'Node {{ $labels.node }} has {{ $value }} rails, not the expected count',
        description:
          'Node {{ $labels.node }} has {{ $value }} rails but {{ with printf "railwatch_expected_rails{node=%q}" ' +
          '$labels.node | query }}{{ . | first | value }}{{ else }}a different number{{ end }} are expected ' +
          '(from the config, else the GPU count).',
      },
      {
        alert: 'RailwatchDown',
        expr: `up{job="${RAILWATCH_JOB}"} == 0\nor\nabsent(up{job="${RAILWATCH_JOB}"})`,
        for: '5m',
        severity: 'warning',
        summary: 'railwatch is not scraped{{ if $labels.node }} on {{ $labels.node }}{{ end }}',
        description:
          '{{ if $labels.instance }}Prometheus fails to scrape railwatch at {{ $labels.instance }} on node ' +
          '{{ $labels.node }}{{ else }}Prometheus has no railwatch target{{ end }}; the rails of the affected nodes ' +
          'are not watched.',
      },
    ],
  },
  {
    name: 'railwatch-pods',
    rules: [
      {
        alert: 'RailwatchVFAllocatedNotAttached',
        expr: 'railwatch_pod_vfs_not_attached > 0',
        for: '10m',
        severity: 'warning',
        summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} holds VFs that are not attached',
        description:
          'The kubelet allocated {{ $value }} VF(s) on node {{ $labels.node }} to pod {{ $labels.namespace }}/{{ $labels.pod }} ' +
          'that are not in its k8s.v1.cni.cncf.io/network-status: the pod got the resource but not the interface, and ' +
          'no other pod can use those VFs until it ends.',
      },
      {
        alert: 'RailwatchPodRailMisaligned',
        expr: 'railwatch_pod_rail_aligned == 0',
        for: '10m',
        severity: 'warning',
        summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} has GPUs and VFs on different rails',
        description:
          'Pod {{ $labels.namespace }}/{{ $labels.pod }} on node {{ $labels.node }} holds a GPU whose rail has none of ' +
          'its VFs, or a VF whose rail has none of its GPUs: its GPU traffic crosses PCIe switches or sockets to reach ' +
          'the NIC instead of the one next to it.',
      },
    ],
  },
];

/** The runbook anchor of an alert: GitHub's slug of the heading `## <alert>` in docs/alerts.md. */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase();
}

export function runbookUrl(alert: string): string {
  return `${RUNBOOK_BASE_URL}#${runbookAnchor(alert)}`;
}
