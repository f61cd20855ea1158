// Two real railwatch agents (startAgent: scans, checks, kubelet allocation, metrics server, Kubernetes sync) serving
// fixture hosts, for the dashboard test: gpu-node-1 healthy with VFs allocated to pods, gpu-node-2 with a setup
// step failing (fewer VFs than desired) and a rail port down. A ticker grows the fixture's counter files so rate()
// has something to show.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../agent/cli/serve.ts';
import { validateConfig } from '../../agent/config/config.ts';
import { kubeConfigForServer, startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.ts';
import { createFileVfInfoSource } from '../../agent/netlink/vf-info.ts';
import { buildDgxHost, dgxGpuUuid, type FixtureHost } from '../helpers/fixture-host.ts';
import { startPodResourcesServer, type PodResourcesTestServer } from '../helpers/pod-resources-server.ts';
import { testAgentOptions } from '../helpers/agent.ts';
import { networksList, networkStatus, NETWORK_STATUS, NETWORKS, railNad } from '../attach/fixtures.ts';

export interface FleetNode {
  node: string;
  url: string;
  agent: RunningAgent;
  host: FixtureHost;
}

export interface AgentFleet {
  nodes: FleetNode[];
  close(): Promise<void>;
}

const GROWING = ['port_xmit_data', 'port_rcv_data', 'port_xmit_packets', 'port_rcv_packets', 'symbol_error', 'port_rcv_errors', 'link_downed'];
const GROWING_HW = ['np_cnp_sent', 'rp_cnp_handled', 'np_ecn_marked_roce_packets', 'out_of_buffer', 'local_ack_timeout_err', 'roce_adp_retrans'];

export async function startAgentFleet(names: readonly string[]): Promise<AgentFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'railwatch-fleet-'));
  const api: FakeApiServer = await startFakeApiServer({ nodes: [...names] });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, api.token);
  const kubelets: PodResourcesTestServer[] = [];
  const nodes: FleetNode[] = [];
  for (const [i, node] of names.entries()) {
    const host = buildDgxHost({ rails: 2, vfsPerPf: 4, vfNetdevsInHost: 2 });
    // VFs 2 and 3 of each rail PF are in pods (their netdevs left the host namespace): one pod per VF pair
    const pfs = ['0000:16:00.0', '0000:1e:00.0'];
    const resource = (k: number) => `nvidia.com/rail${k}_vfs`;
    const kubelet = await startPodResourcesServer({
      data: {
        list: {
          podResources: [2, 3].map((n) => ({
            name: `trainer-${i}-${n}`,
            namespace: 'ml',
            containers: [
              {
                name: 'main',
                devices: [
                  { resourceName: 'nvidia.com/gpu', deviceIds: [dgxGpuUuid(n - 2)] },
                  ...pfs.map((pf, k) => ({ resourceName: resource(k), deviceIds: [host.vfAddress(pf, n)] })),
                ],
              },
            ],
          })),
        },
        allocatable: {
          devices: pfs.map((pf, k) => ({ resourceName: resource(k), deviceIds: [0, 1, 2, 3].map((n) => host.vfAddress(pf, n)) })),
        },
      },
    });
    kubelets.push(kubelet);
    // the pods and their rails' NADs in the API server, as Multus annotates them: trainer-1-3 (gpu-node-2) got its
    // rail-0 VF only (a VF allocated, not attached)
    for (const [k] of pfs.entries()) {
      if (!api.nads.has(`ml/rail-${k}`)) api.addNad({ ...railNad('ml', k), resourceName: resource(k) });
    }
    for (const n of [2, 3]) {
      const attached = pfs.map((pf, k) => ({ rail: k, pci: host.vfAddress(pf, n) })).filter((v) => !(i === 1 && n === 3 && v.rail === 1));
      api.addPod({ namespace: 'ml', name: `trainer-${i}-${n}`, nodeName: node, annotations: { [NETWORKS]: networksList([0, 1]), [NETWORK_STATUS]: networkStatus('ml', attached) } });
    }
    // gpu-node-2: desired 8 VFs per rail PF but 4 configured (a failing setup step), and rail 1's port down
    const config = validateConfig(i === 1 ? { desiredVfs: 8 } : { desiredVfs: 4 });
    if (i === 1) {
      host.replace('class/infiniband/mlx5_1/ports/1/state', '1: DOWN');
      host.replace('class/infiniband/mlx5_1/ports/1/phys_state', '3: Disabled');
    }
    const agent = await startAgent(
      testAgentOptions(host, {
        config,
        podResourcesSocket: kubelet.socketPath,
        vfInfo: createFileVfInfoSource(host.ipLinkFile),
        nodeName: node,
        noKube: false,
        kube: { loadConfig: () => kubeConfigForServer(api.url, tokenFile), backoff: { initialMs: 50, maxMs: 500 } },
      }),
    );
    nodes.push({ node, url: `http://127.0.0.1:${agent.http.port}/metrics`, agent, host });
  }
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    for (const n of nodes) {
      for (const dev of ['mlx5_0', 'mlx5_1']) {
        for (const c of GROWING) n.host.replace(`class/infiniband/${dev}/ports/1/counters/${c}`, String(1_000_000 + tick * 12_345));
        for (const c of GROWING_HW) n.host.replace(`class/infiniband/${dev}/ports/1/hw_counters/${c}`, String(1_000 + tick * 321));
      }
      // the VFs in pods move traffic
      for (const pf of ['ens1f0np0', 'ens2f0np0']) {
        const link = n.host.ipLink(pf);
        for (const vf of [2, 3]) link.vfs[vf] = { stats: { rxBytes: BigInt(1_000_000 + tick * 54_321), txBytes: BigInt(2_000_000 + tick * 43_210) } };
      }
      n.host.writeIpLink();
    }
  }, 400);
  return {
    nodes,
    async close() {
      clearInterval(timer);
      await Promise.all(nodes.map((n) => n.agent.stop()));
      await Promise.all(kubelets.map((k) => k.close()));
      await api.close();
      for (const n of nodes) n.host.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
