// Pods, NADs and network-status as Multus and the SR-IOV network operator write them, for the attachment tests
// and the fleet benchmark.
import type { NadSpecInput } from '../helpers/fake-apiserver.ts';

export const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
export const NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';

/** A rail's NAD: sriov chained with rdma and tuning, naming the rail's resource. */
export function railNad(namespace: string, rail: number, over: Partial<NadSpecInput> = {}): NadSpecInput {
  return {
    namespace,
    name: `rail-${rail}`,
    resourceName: `nvidia.com/rail${rail}`,
    config: JSON.stringify({
      cniVersion: '1.0.0',
      name: `rail-${rail}`,
      plugins: [{ type: 'sriov', spoofchk: 'off', ipam: { type: 'whereabouts', range: `10.${rail}.0.0/16` } }, { type: 'rdma' }, { type: 'tuning', sysctl: { 'net.ipv4.conf.all.arp_ignore': '1' } }],
    }),
    ...over,
  };
}

/** network-status as Multus writes it: the cluster network first, then one entry per attached VF. */
export function networkStatus(namespace: string, vfs: readonly { rail: number; pci: string }[]): string {
  return JSON.stringify([
    { name: 'k8s-pod-network', interface: 'eth0', ips: ['10.244.1.7'], mac: '0a:58:0a:f4:01:07', default: true, dns: {} },
    ...vfs.map((v, i) => ({
      name: `${namespace}/rail-${v.rail}`,
      interface: `net${i + 1}`,
      ips: [`10.${v.rail}.0.7`],
      mac: `02:00:00:00:0${v.rail}:07`,
      dns: {},
      'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': v.pci, 'rdma-device': `mlx5_${10 + v.rail}` } },
    })),
  ]);
}

/** The comma-separated networks annotation for rails, `rail-N@netK`. */
export function networksList(rails: readonly number[]): string {
  return rails.map((r, i) => `rail-${r}@net${i + 1}`).join(',');
}
