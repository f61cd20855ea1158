// The agent end to end for pod attachments: a real pod-resources server (the kubelet's allocation), the in-process
// API server with Pods and NADs, startAgent. Step 11 judges the pods, each problem becomes one Warning Event
// regarding the Pod (its namespace, its uid), not repeated on later scans; a pod whose GPU and VF sit on different
// rails gets RailMisaligned and `railwatch_pod_rail_aligned` 0; a pod that goes and comes back as a new
// pod is judged afresh. Every request the agent makes maps to a call the ClusterRole grants.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, type RunningAgent } from '../../agent/cli/serve.ts';
import { KUBE_API_CALLS } from '../../agent/kube/api-calls.ts';
import { validateConfig } from '../../agent/config/config.ts';
import { testAgentOptions } from '../helpers/agent.ts';
import { kubeConfigForServer, startFakeApiServer, type FakeApiServer, type RecordedRequest } from '../helpers/fake-apiserver.ts';
import { buildDgxHost, dgxGpuUuid, type FixtureHost } from '../helpers/fixture-host.ts';
import { startPodResourcesServer, type PodResourcesTestServer } from '../helpers/pod-resources-server.ts';
import { until } from '../kube/harness.ts';
import { networksList, networkStatus, NETWORK_STATUS, NETWORKS, railNad } from './fixtures.ts';

const PFS = ['0000:16:00.0', '0000:1e:00.0'];

/** (group, resource, verb) of a request, as the RBAC authorizer sees it. */
export function rbacAttributes(r: Pick<RecordedRequest, 'method' | 'path' | 'query'>): string {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/(?:namespaces\/[^/]+\/)?([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(r.path);
  if (!m) return `unknown path ${r.path}`;
  const [, group = '', resource, name, sub] = m;
  const verb =
    r.method === 'GET' ? (r.query['watch'] === 'true' ? 'watch' : name === undefined ? 'list' : 'get') : ({ POST: 'create', PATCH: 'patch', PUT: 'update', DELETE: 'delete' } as Record<string, string>)[r.method] ?? r.method;
  return `${group}|${resource}${sub ? `/${sub}` : ''}|${verb}`;
}

describe('pod attachments, end to end', () => {
  let host: FixtureHost;
  let kubelet: PodResourcesTestServer;
  let api: FakeApiServer;
  let agent: RunningAgent;
  let dir: string;

  const vf = (rail: number, n: number) => host.vfAddress(PFS[rail]!, n);
  const podOf = (name: string, n: number) => ({
    name,
    namespace: 'ml',
    containers: [{ name: 'main', devices: [0, 1].map((k) => ({ resourceName: `nvidia.com/rail${k}`, deviceIds: [vf(k, n)] })) }],
  });
  // GPU 0 sits on rail 0, its one VF on rail 1; Multus attached that VF
  const crossed = () => ({
    name: 'crossed',
    namespace: 'ml',
    containers: [{ name: 'main', devices: [{ resourceName: 'nvidia.com/gpu', deviceIds: [dgxGpuUuid(0)] }, { resourceName: 'nvidia.com/rail1', deviceIds: [vf(1, 1)] }] }],
  });
  const podEvents = () => [...api.events.values()].filter((e) => (e['regarding'] as { kind: string }).kind === 'Pod');

  before(async () => {
    host = buildDgxHost({ rails: 2, vfsPerPf: 4, vfNetdevsInHost: 2 });
    kubelet = await startPodResourcesServer({
      data: {
        list: { podResources: [podOf('good', 2), podOf('lacking', 3), crossed()] },
        allocatable: { devices: [0, 1].map((k) => ({ resourceName: `nvidia.com/rail${k}`, deviceIds: [0, 1, 2, 3].map((n) => vf(k, n)) })) },
      },
    });
    api = await startFakeApiServer({ nodes: ['gpu-node-1'] });
    for (const r of [0, 1]) api.addNad(railNad('ml', r));
    api.addPod({ namespace: 'ml', name: 'good', nodeName: 'gpu-node-1', annotations: { [NETWORKS]: networksList([0, 1]), [NETWORK_STATUS]: networkStatus('ml', [0, 1].map((r) => ({ rail: r, pci: vf(r, 2) }))) } });
    // Multus attached rail 0 only: the rail-1 VF was allocated and never attached
    api.addPod({ namespace: 'ml', name: 'lacking', nodeName: 'gpu-node-1', annotations: { [NETWORKS]: networksList([0, 1]), [NETWORK_STATUS]: networkStatus('ml', [{ rail: 0, pci: vf(0, 3) }]) } });
    api.addPod({ namespace: 'ml', name: 'crossed', nodeName: 'gpu-node-1', annotations: { [NETWORKS]: networksList([1]), [NETWORK_STATUS]: networkStatus('ml', [{ rail: 1, pci: vf(1, 1) }]) } });
    dir = mkdtempSync(join(tmpdir(), 'railwatch-attach-e2e-'));
    writeFileSync(join(dir, 'token'), api.token);
    agent = await startAgent(
      testAgentOptions(host, {
        config: validateConfig({ desiredVfs: 4 }),
        podResourcesSocket: kubelet.socketPath,
        nodeName: 'gpu-node-1',
        noKube: false,
        kube: { loadConfig: () => kubeConfigForServer(api.url, join(dir, 'token')), backoff: { initialMs: 20, maxMs: 200 } },
        attach: { retry: { initialMs: 20, maxMs: 100, attempts: 3 } },
      }),
    );
  });

  after(async () => {
    await agent.stop();
    await kubelet.close();
    await api.close();
    host.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('step 11 warns about the pod whose network-status lacks a VF, and lists the attached interfaces', async () => {
    await until(() => agent.state().checks?.results.find((r) => r.id === 'pod-vfs-attached')?.status === 'warn', 'pod-vfs-attached to warn');
    const byId = new Map(agent.state().checks!.results.map((r) => [r.id, r]));
    assert.equal(byId.get('pod-networks-defined')?.status, 'pass');
    assert.equal(byId.get('nad-resource-name')?.status, 'pass');
    assert.equal(byId.get('nad-vf-cni')?.status, 'pass');
    assert.equal(byId.get('pod-networks-attached')?.status, 'warn');
    assert.match(byId.get('pod-vfs-attached')!.finding, /^1 pod of 3: VF 0000:1e:00\.5 \(rail 1, .*\): allocated, not attached/);
    const view = agent.state().attachments!;
    assert.deepEqual(
      view.pods.map((p) => [p.pod, p.state, p.interfaces.map((i) => `${i.interface} -> ${i.pci} (rail ${i.rail})`)]),
      [
        ['crossed', 'judged', ['net1 -> 0000:1e:00.3 (rail 1)']],
        ['good', 'judged', ['net1 -> 0000:16:00.4 (rail 0)', 'net2 -> 0000:1e:00.4 (rail 1)']],
        ['lacking', 'judged', ['net1 -> 0000:16:00.5 (rail 0)']],
      ],
    );
    // a pod's problem is a warning: the node stays ready
    assert.equal(agent.state().checks!.ready, true);
  });

  it('each problem is one Warning Event regarding the Pod, in its namespace with its uid', async () => {
    await until(() => podEvents().length === 3, 'three pod events: two for lacking, one for crossed');
    const uid = api.podUid('ml', 'lacking');
    const events = podEvents().filter((e) => (e['regarding'] as { name: string }).name === 'lacking').sort((a, b) => String(a['reason']).localeCompare(String(b['reason'])));
    assert.deepEqual(
      events.map((e) => [e['reason'], e['type'], (e['metadata'] as { namespace: string }).namespace, e['regarding'], e['reportingController']]),
      [
        ['NetworkAttachmentInvalid', 'Warning', 'ml', { apiVersion: 'v1', kind: 'Pod', namespace: 'ml', name: 'lacking', uid }, 'railwatch.io/agent'],
        ['VFNotAttached', 'Warning', 'ml', { apiVersion: 'v1', kind: 'Pod', namespace: 'ml', name: 'lacking', uid }, 'railwatch.io/agent'],
      ],
    );
    assert.match(String(events[1]!['note']), /VF 0000:1e:00\.5 \(rail 1, .*resource nvidia\.com\/rail1\): allocated, not attached/);
    assert.match(String((events[0]!['metadata'] as { name: string }).name), /^lacking\.[0-9a-f]+$/);
  });

  it('the pod whose GPU and VF are on different rails: RailMisaligned naming both, and railwatch_pod_rail_aligned 0', async () => {
    await until(() => podEvents().some((e) => e['reason'] === 'RailMisaligned'), 'a RailMisaligned event');
    const uid = api.podUid('ml', 'crossed');
    const mis = podEvents().filter((e) => e['reason'] === 'RailMisaligned');
    assert.deepEqual(
      mis.map((e) => [e['type'], (e['metadata'] as { namespace: string }).namespace, e['regarding']]),
      [['Warning', 'ml', { apiVersion: 'v1', kind: 'Pod', namespace: 'ml', name: 'crossed', uid }]],
    );
    const note = String(mis[0]!['note']);
    assert.match(note, /GPU 0000:[0-9a-f]{2}:00\.0 is on rail 0; the pod's VFs are on rail 1/);
    assert.match(note, /VF 0000:1e:00\.3 is on rail 1; the pod's GPUs are on rail 0/);
    const res = await fetch(`http://127.0.0.1:${agent.http.port}/metrics`);
    const text = await res.text();
    assert.match(text, /^railwatch_pod_rail_aligned\{namespace="ml",pod="crossed"\} 0$/m);
    assert.match(text, /^railwatch_pod_rail_aligned\{namespace="ml",pod="good"\} 1$/m);
    assert.match(text, /^railwatch_pod_gpus\{namespace="ml",pod="crossed"\} 1$/m);
    // the good and lacking pods hold no GPU: judged aligned, no event
    assert.deepEqual(podEvents().filter((e) => e['reason'] === 'RailMisaligned' && (e['regarding'] as { name: string }).name !== 'crossed'), []);
  });

  it('later scans repeat no event and read nothing', async () => {
    const requests = api.requests.length;
    for (let i = 0; i < 3; i++) {
      const next = agent.nextScan();
      agent.trigger('test');
      await next;
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(podEvents().length, 3);
    const later = api.requests.slice(requests).filter((r) => r.path.includes('/pods/') || r.path.includes('network-attachment-definitions') || r.path.includes('/events'));
    assert.deepEqual(later, []);
  });

  it('a pod that goes is forgotten; a new pod of the same name is read and reported afresh', async () => {
    kubelet.data = { ...kubelet.data, list: { podResources: [podOf('good', 2), crossed()] } };
    await until(() => agent.state().attachments?.pods.length === 2, 'the lacking pod to leave the view');
    api.deletePod('ml', 'lacking');
    api.addPod({ namespace: 'ml', name: 'lacking', annotations: { [NETWORKS]: networksList([0, 1]), [NETWORK_STATUS]: networkStatus('ml', [{ rail: 0, pci: vf(0, 3) }]) } });
    kubelet.data = { ...kubelet.data, list: { podResources: [podOf('good', 2), podOf('lacking', 3), crossed()] } };
    const uid = api.podUid('ml', 'lacking');
    await until(() => podEvents().filter((e) => (e['regarding'] as { uid: string }).uid === uid).length === 2, 'the new pod\'s two events');
    assert.equal(podEvents().length, 5);
  });

  it('every request the agent made is granted by the ClusterRole (RBAC against observed calls)', () => {
    const granted = new Set(KUBE_API_CALLS.map((c) => `${c.group}|${c.resource}|${c.verb}`));
    const seen = new Set(api.requests.map(rbacAttributes));
    for (const s of seen) assert.ok(granted.has(s), `${s} is not in agent/kube/api-calls.ts`);
    for (const want of ['|pods|get', 'k8s.cni.cncf.io|network-attachment-definitions|get', 'events.k8s.io|events|create']) assert.ok(seen.has(want), want);
    assert.ok(![...seen].some((s) => /\|(pods|network-attachment-definitions)\|(list|watch)$/.test(s)), 'no list or watch of pods or NADs');
  });
});
