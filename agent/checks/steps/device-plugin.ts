// Step 8: an SR-IOV or RDMA device plugin registered with the kubelet (its socket in the device-plugins dir).
import type { CheckResult } from '../types.ts';
import { listText, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 8, slug: 'device-plugin' };

/** Socket names of SR-IOV / RDMA device plugins (resource names are chosen by the operator; these are the usual words). */
export const NETWORK_PLUGIN_SOCKET = /(sriov|rdma|roce|infiniband|mlnx|netdevice|hca|(^|[_.-])ib([_.-]|$))/i;

export const DEVICE_PLUGIN: CheckDefinition = {
  id: 'device-plugin',
  title: 'SR-IOV / RDMA device plugin registered',
  reads: ['<kubelet.devicePluginsDir>/*.sock (default /var/lib/kubelet/device-plugins)', 'config: kubelet.devicePluginsDir'],
  why: 'Pods get VFs or RDMA devices only through a device plugin (sriov-network-device-plugin, k8s-rdma-shared-dev-plugin); without its socket the node advertises no RDMA resources.',
  fix:
    'Deploy the SR-IOV network device plugin or the RDMA shared device plugin (NVIDIA network operator / SR-IOV network operator) on this node and check its logs ' +
    'for selectors that match no device; the socket is named after the resource (e.g. sriov_rdma.sock).',
};

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const probe = input.probes.devicePlugins;
  if (probe.entries === undefined) {
    const why = probe.code === 'ENOENT' || probe.code === 'ENOTDIR' ? 'not found' : `not readable (${probe.code ?? 'unknown'})`;
    return [r.skip(DEVICE_PLUGIN, `kubelet device-plugins directory ${probe.dir} ${why}: not on a kubelet node or not mounted`)];
  }
  if (input.snapshot.rails.length === 0) return [r.skip(DEVICE_PLUGIN, 'no rails: no SR-IOV or RDMA device to advertise')];
  const sockets = probe.entries.filter((e) => e.endsWith('.sock') && e !== 'kubelet.sock');
  const network = sockets.filter((s) => NETWORK_PLUGIN_SOCKET.test(s));
  if (network.length > 0) return [r.pass(DEVICE_PLUGIN, `device plugin socket${network.length > 1 ? 's' : ''} in ${probe.dir}: ${listText(network)}`)];
  return [
    r.fail(DEVICE_PLUGIN, `no SR-IOV or RDMA device plugin socket in ${probe.dir}`, {
      details: [sockets.length > 0 ? `other plugin sockets: ${listText(sockets)}` : 'no device plugin socket at all'],
    }),
  ];
}

export const devicePluginStep: Step = { ...STEP, title: 'Device plugin', checks: [DEVICE_PLUGIN], run };
