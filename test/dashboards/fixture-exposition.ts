// A static railwatch exposition for a GPU node with two rails, standing in for the agent in the dashboard test.
// Counters grow with the scrape number so rate() has something to show. The exposition source of the dashboard test
// is a function (node name, scrape number) -> text, so the real agent serving a fixture host can replace this.

export type ExpositionSource = (node: string, scrape: number) => string;

type Labels = Record<string, string>;

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels: Labels; value: number | bigint }[];
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function renderFamilies(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels)
        .map(([key, value]) => `${key}="${escapeLabelValue(value)}"`)
        .join(',');
      lines.push(`${family.name}${labels ? `{${labels}}` : ''} ${sample.value.toString()}`);
    }
  }
  return lines.join('\n') + '\n';
}

interface FixtureRail {
  rail: string;
  pf: string;
  pci: string;
  device: string;
  fwVersion: string;
  vfs: { vf: string; pci: string; driver: string; netdev: string; namespace: string; pod: string }[];
  portUp: boolean;
}

function railsOf(node: string): FixtureRail[] {
  const second = node.endsWith('2');
  return [0, 1].map((index) => {
    const bus = (0x1a + index * 0x10).toString(16);
    return {
      rail: String(index),
      pf: `ens${index + 1}f0`,
      pci: `0000:${bus}:00.0`,
      device: `mlx5_${index}`,
      // the second node's rail 1 runs other firmware, and its port is down
      fwVersion: second && index === 1 ? '28.40.1000' : '28.39.1002',
      portUp: !(second && index === 1),
      vfs: [0, 1, 2, 3].map((vf) => {
        const allocated = vf === 0;
        return {
          vf: String(vf),
          pci: `0000:${bus}:00.${vf + 2}`,
          driver: 'mlx5_core',
          netdev: allocated ? '' : `ens${index + 1}f0v${vf}`,
          namespace: allocated ? 'ml' : '',
          pod: allocated ? `train-${node}-${index}` : '',
        };
      }),
    };
  });
}

const CHECKS: [string, string][] = [
  ['iommu-hardware', '1-hardware-iommu'],
  ['kernel-iommu', '2-kernel-iommu'],
  ['hugepages', '3-hugepages'],
  ['rdma-core', '4-rdma-core'],
  ['nic-vfs', '5-nic-vfs'],
  ['links', '6-links'],
  ['gpu-stack', '7-gpu-stack'],
  ['device-plugin', '8-device-plugin'],
  ['cni', '9-cni'],
  ['rail-count', '10-rail-count'],
];

export function fixtureExposition(node: string, scrape: number): string {
  const rails = railsOf(node);
  const second = node.endsWith('2');
  const port = (rail: FixtureRail): Labels => ({ device: rail.device, port: '1' });
  const pfLabels = (rail: FixtureRail): Labels => ({ pf: rail.pf, rail: rail.rail });
  const grow = (perScrape: number, base = 0n): bigint => base + BigInt(perScrape) * BigInt(scrape);
  const checkStatus = (check: string): number => {
    if (check === 'links' && second) return 2;
    if (check === 'gpu-stack') return second ? 1 : 0;
    if (check === 'hugepages') return -1;
    return 0;
  };

  const families: Family[] = [
    {
      name: 'railwatch_pf_info',
      type: 'gauge',
      help: 'Physical function of an SR-IOV capable NIC.',
      samples: [
        ...rails.map((rail) => ({
          labels: {
            pf: rail.pf,
            pci: rail.pci,
            driver: 'mlx5_core',
            vendor: '0x15b3',
            device: '0x101d',
            netdev: rail.pf,
            rail: rail.rail,
            numa_node: '0',
            link_layer: 'InfiniBand',
          },
          value: 1,
        })),
        {
          labels: {
            pf: 'eno1',
            pci: '0000:c1:00.0',
            driver: 'mlx5_core',
            vendor: '0x15b3',
            device: '0x1017',
            netdev: 'eno1',
            rail: '',
            numa_node: '1',
            link_layer: 'Ethernet',
          },
          value: 1,
        },
      ],
    },
    {
      name: 'railwatch_pf_vfs_total',
      type: 'gauge',
      help: 'sriov_totalvfs of the PF.',
      samples: rails.map((rail) => ({ labels: pfLabels(rail), value: 16 })),
    },
    {
      name: 'railwatch_pf_vfs_configured',
      type: 'gauge',
      help: 'sriov_numvfs of the PF.',
      samples: rails.map((rail) => ({ labels: pfLabels(rail), value: rail.vfs.length })),
    },
    {
      name: 'railwatch_pf_vfs_desired',
      type: 'gauge',
      help: 'VF count the config desires for the PF.',
      samples: rails.map((rail) => ({ labels: pfLabels(rail), value: rail.vfs.length })),
    },
    {
      name: 'railwatch_pf_vfs_present',
      type: 'gauge',
      help: 'VF PCI functions present.',
      samples: rails.map((rail) => ({ labels: pfLabels(rail), value: rail.vfs.length })),
    },
    {
      name: 'railwatch_pf_vf_netdevs',
      type: 'gauge',
      help: 'VFs whose netdev is visible in the host namespace.',
      samples: rails.map((rail) => ({ labels: pfLabels(rail), value: rail.vfs.filter((vf) => vf.netdev).length })),
    },
    {
      name: 'railwatch_pf_vfs_allocated',
      type: 'gauge',
      help: 'VFs the kubelet assigned to pods.',
      samples: rails.map((rail) => ({
        labels: { ...pfLabels(rail), resource: `nvidia.com/rail${rail.rail}` },
        value: rail.vfs.filter((vf) => vf.pod).length,
      })),
    },
    {
      name: 'railwatch_vf_info',
      type: 'gauge',
      help: 'Virtual function of a PF.',
      samples: rails.flatMap((rail) => rail.vfs.map((vf) => ({ labels: { ...pfLabels(rail), ...vf }, value: 1 }))),
    },
    {
      name: 'railwatch_rdma_port_info',
      type: 'gauge',
      help: 'RDMA port.',
      samples: rails.map((rail) => ({
        labels: {
          ...port(rail),
          pci: rail.pci,
          pf: rail.pf,
          rail: rail.rail,
          link_layer: 'InfiniBand',
          fw_version: rail.fwVersion,
          node_guid: `b83f:d203:00${second ? '13' : '12'}:34${rail.rail}0`,
        },
        value: 1,
      })),
    },
    {
      name: 'railwatch_rdma_port_up',
      type: 'gauge',
      help: '1 when the port is ACTIVE and LinkUp.',
      samples: rails.map((rail) => ({ labels: port(rail), value: rail.portUp ? 1 : 0 })),
    },
    {
      name: 'railwatch_rdma_port_rate_bits_per_second',
      type: 'gauge',
      help: 'Port rate.',
      samples: rails.map((rail) => ({ labels: port(rail), value: 400e9 })),
    },
    {
      name: 'railwatch_rdma_port_transmit_bytes_total',
      type: 'counter',
      help: 'Bytes transmitted.',
      samples: rails.map((rail) => ({ labels: port(rail), value: grow(5_000_000_000, 9_007_199_254_740_993n) })),
    },
    {
      name: 'railwatch_rdma_port_receive_bytes_total',
      type: 'counter',
      help: 'Bytes received.',
      samples: rails.map((rail) => ({ labels: port(rail), value: grow(4_000_000_000, 123_456_789n) })),
    },
    {
      name: 'railwatch_rdma_port_transmit_packets_total',
      type: 'counter',
      help: 'Packets transmitted.',
      samples: rails.map((rail) => ({ labels: port(rail), value: grow(1_200_000) })),
    },
    {
      name: 'railwatch_rdma_port_receive_packets_total',
      type: 'counter',
      help: 'Packets received.',
      samples: rails.map((rail) => ({ labels: port(rail), value: grow(1_000_000) })),
    },
    {
      name: 'railwatch_rdma_port_counter_total',
      type: 'counter',
      help: 'Port counters/ file.',
      samples: rails.flatMap((rail) => [
        { labels: { ...port(rail), counter: 'link_downed' }, value: grow(0, 2n) },
        { labels: { ...port(rail), counter: 'symbol_error' }, value: grow(rail.rail === '1' ? 3 : 0) },
        { labels: { ...port(rail), counter: 'port_rcv_errors' }, value: grow(0, 5n) },
        { labels: { ...port(rail), counter: 'port_xmit_discards' }, value: grow(1) },
        { labels: { ...port(rail), counter: 'link_error_recovery' }, value: grow(0) },
      ]),
    },
    {
      name: 'railwatch_rdma_hw_counter_total',
      type: 'counter',
      help: 'Port hw_counters/ file.',
      samples: rails.flatMap((rail) => [
        { labels: { ...port(rail), counter: 'out_of_buffer' }, value: grow(10) },
        { labels: { ...port(rail), counter: 'np_cnp_sent' }, value: grow(200) },
        { labels: { ...port(rail), counter: 'rp_cnp_handled' }, value: grow(180) },
        { labels: { ...port(rail), counter: 'np_ecn_marked_roce_packets' }, value: grow(250) },
        { labels: { ...port(rail), counter: 'local_ack_timeout_err' }, value: grow(0) },
        { labels: { ...port(rail), counter: 'req_transport_retries_exceeded' }, value: grow(0) },
        { labels: { ...port(rail), counter: 'roce_adp_retrans' }, value: grow(2) },
      ]),
    },
    { name: 'railwatch_rails', type: 'gauge', help: 'Rails.', samples: [{ labels: {}, value: rails.length }] },
    { name: 'railwatch_gpus', type: 'gauge', help: 'GPUs.', samples: [{ labels: {}, value: 2 }] },
    {
      name: 'railwatch_expected_rails',
      type: 'gauge',
      help: 'Expected rails.',
      samples: [{ labels: {}, value: 2 }],
    },
    {
      name: 'railwatch_pcie_link_degraded',
      type: 'gauge',
      help: '1 when the PCIe link runs below its maximum.',
      samples: [
        ...rails.map((rail) => ({ labels: { pci: rail.pci, role: 'pf' }, value: 0 })),
        { labels: { pci: '0000:18:00.0', role: 'gpu' }, value: second ? 1 : 0 },
      ],
    },
    {
      name: 'railwatch_pod_resources_up',
      type: 'gauge',
      help: '1 when the kubelet PodResources API answered the latest poll.',
      samples: [{ labels: {}, value: 1 }],
    },
    {
      name: 'railwatch_check_status',
      type: 'gauge',
      help: 'Setup chain check status: 0 pass, 1 warn, 2 fail, -1 skip.',
      samples: CHECKS.map(([check, step]) => ({ labels: { check, step }, value: checkStatus(check) })),
    },
    {
      name: 'railwatch_drift_active',
      type: 'gauge',
      help: '1 while a check fails.',
      samples: CHECKS.map(([check]) => ({ labels: { check }, value: checkStatus(check) === 2 ? 1 : 0 })),
    },
    {
      name: 'railwatch_setup_ready',
      type: 'gauge',
      help: '1 when no setup step fails.',
      samples: [{ labels: {}, value: second ? 0 : 1 }],
    },
    {
      name: 'railwatch_scan_duration_seconds',
      type: 'gauge',
      help: 'Duration of the last scan.',
      samples: [{ labels: {}, value: 0.012 }],
    },
    {
      name: 'railwatch_scan_errors_total',
      type: 'counter',
      help: 'Scanner errors.',
      samples: ['pci', 'net', 'infiniband', 'pod-resources'].map((scanner) => ({
        labels: { scanner },
        value: scanner === 'pod-resources' && second ? grow(1) : 0n,
      })),
    },
    {
      name: 'railwatch_last_scan_timestamp_seconds',
      type: 'gauge',
      help: 'Time of the last scan.',
      samples: [{ labels: {}, value: 1_750_000_000 + scrape }],
    },
    {
      name: 'railwatch_build_info',
      type: 'gauge',
      help: 'railwatch build.',
      samples: [{ labels: { version: '0.1.0' }, value: 1 }],
    },
    {
      name: 'railwatch_kube_requests_total',
      type: 'counter',
      help: 'Kubernetes API requests.',
      samples: [
        { labels: { verb: 'patch', code: '200' }, value: grow(0, 3n) },
        { labels: { verb: 'watch', code: '200' }, value: grow(0, 1n) },
      ],
    },
  ];
  return renderFamilies(families);
}
