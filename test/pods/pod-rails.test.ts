// Pods on their rails: GPUs (by UUID) and VFs (by PCI address) from a real gRPC pod-resources server, through the
// serving agent's metrics (promtool-clean, series only for pods holding devices, gone with the pod) and doctor.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startAgent } from '../../agent/cli/serve.ts';
import { defaultConfig } from '../../agent/config/config.ts';
import { createFileVfInfoSource } from '../../agent/netlink/vf-info.ts';
import { gpuUuidOfId, podRails } from '../../agent/pods/alignment.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import type { DeviceOwner } from '../../agent/topology/vf-owners.ts';
import { testAgentOptions } from '../helpers/agent.ts';
import { buildDgxHost, dgxGpuUuid, type FixtureHost } from '../helpers/fixture-host.ts';
import { startPodResourcesServer } from '../helpers/pod-resources-server.ts';
import { CATALOGUE_LINTS, familyLines, promtoolCheck } from '../metrics/exposition-helpers.ts';
import type { PodResourcesMessage } from '../../agent/allocation/proto.ts';

const REPO = join(import.meta.dirname, '../..');

/** The PF of rail k of buildDgxHost and its n-th VF. */
function vfOf(host: FixtureHost, k: number, n = 0): string {
  const rootBus = 0x10 + 0x20 * Math.floor(k / 2);
  const nicBus = (rootBus + 3 + (k % 2) * 8 + 3).toString(16).padStart(2, '0');
  return host.vfAddress(`0000:${nicBus}:00.0`, n);
}

function pod(name: string, gpuRails: number[], vfRails: number[], host: FixtureHost, namespace = 'ml'): PodResourcesMessage {
  return {
    name,
    namespace,
    containers: [
      {
        name: 'worker',
        devices: [
          ...(gpuRails.length > 0 ? [{ resourceName: 'nvidia.com/gpu', deviceIds: gpuRails.map(dgxGpuUuid) }] : []),
          ...vfRails.map((k) => ({ resourceName: `nvidia.com/rail${k}_vfs`, deviceIds: [vfOf(host, k)] })),
        ],
      },
    ],
  };
}

function owners(p: PodResourcesMessage): DeviceOwner[] {
  return (p.containers ?? []).flatMap((c) =>
    (c.devices ?? []).flatMap((d) => (d.deviceIds ?? []).map((id) => ({ resourceName: d.resourceName ?? '', deviceId: id, pod: p.name ?? '', namespace: p.namespace ?? '', container: c.name ?? '' }))),
  );
}

describe('podRails', () => {
  test('an aligned 8-GPU/8-VF pod; GPUs on rails 0-3 with VFs on 4-7 named pair by pair; one-kind pods aligned', (t) => {
    const host = buildDgxHost({ rails: 8, vfsPerPf: 2 });
    t.after(() => host.cleanup());
    const snapshot = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: defaultConfig() });
    const all = [0, 1, 2, 3, 4, 5, 6, 7];
    const pods = podRails(snapshot, [
      ...owners(pod('aligned', all, all, host)),
      ...owners(pod('crossed', [0, 1, 2, 3], [4, 5, 6, 7], host)),
      ...owners(pod('notebook', [2], [], host)),
      ...owners(pod('vf-only', [], [5], host)),
    ]);
    assert.deepEqual(
      pods.map((p) => [p.pod, p.vfRails, p.gpus.length, p.aligned]),
      [
        ['aligned', all, 8, true],
        ['crossed', [4, 5, 6, 7], 4, false],
        ['notebook', [], 1, true],
        ['vf-only', [5], 0, true],
      ],
    );
    const crossed = pods.find((p) => p.pod === 'crossed')!;
    assert.deepEqual(crossed.gpuRails, [0, 1, 2, 3]);
    assert.equal(crossed.misaligned[0], `GPU ${crossed.gpus[0]!.pci} is on rail 0; the pod's VFs are on rails 4,5,6,7`);
    assert.equal(crossed.misaligned[4], `VF ${vfOf(host, 4)} is on rail 4; the pod's GPUs are on rails 0,1,2,3`);
    assert.equal(crossed.misaligned.length, 8);
    // one GPU missing its rail's VF is one misaligned pair, the rest aligned
    const partial = podRails(snapshot, owners(pod('partial', [0, 1, 2, 3], [0, 1, 2, 4], host)))[0]!;
    assert.deepEqual(partial.misaligned, [`GPU ${partial.gpus[3]!.pci} is on rail 3; the pod's VFs are on rails 0,1,2,4`, `VF ${vfOf(host, 4)} is on rail 4; the pod's GPUs are on rails 0,1,2,3`]);
  });

  test('GPU ids: shared replicas count once, MIG and unknown UUIDs are not judged, other resources ignored', (t) => {
    const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
    t.after(() => host.cleanup());
    const snapshot = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: defaultConfig() });
    assert.equal(gpuUuidOfId(`${dgxGpuUuid(0)}::3`), dgxGpuUuid(0));
    assert.equal(gpuUuidOfId(`MIG-${dgxGpuUuid(1)}/7/0`), dgxGpuUuid(1));
    assert.equal(gpuUuidOfId('MIG-0a1b2c3d-0000-1111-2222-333344445555'), undefined);
    const a = (deviceId: string, resourceName = 'nvidia.com/gpu'): DeviceOwner => ({ resourceName, deviceId, pod: 'p', namespace: 'ns', container: 'c' });
    const [p] = podRails(snapshot, [
      a(`${dgxGpuUuid(0)}::0`),
      a(`${dgxGpuUuid(0)}::1`),
      a('MIG-0a1b2c3d-0000-1111-2222-333344445555', 'nvidia.com/mig-1g.10gb'),
      a('hca_shared_devices_a', 'rdma/hca_shared_devices_a'),
      a(vfOf(host, 0), 'nvidia.com/rail0_vfs'),
    ]);
    assert.equal(p!.gpus.length, 2);
    assert.equal(p!.aligned, true);
    assert.deepEqual(p!.unjudged, ['GPU MIG-0a1b2c3d-0000-1111-2222-333344445555: not a GPU of this host\'s PCI bus (UUID not in /proc/driver/nvidia/gpus, or a MIG device)']);
    assert.deepEqual(podRails(snapshot, [a('hca_shared_devices_a', 'rdma/hca_shared_devices_a')]), []);
  });
});

describe('through the kubelet API', () => {
  test('serve: pod series from a real pod-resources server, promtool-clean, gone with the pod; VF counters at scrape time', async (t) => {
    const host = buildDgxHost({ rails: 8, vfsPerPf: 2 });
    t.after(() => host.cleanup());
    const all = [0, 1, 2, 3, 4, 5, 6, 7];
    const kubelet = await startPodResourcesServer({
      data: { list: { podResources: [pod('aligned', all, all, host), pod('crossed', [0, 1, 2, 3], [4, 5, 6, 7], host, 'research')] }, allocatable: { devices: [] } },
    });
    t.after(() => kubelet.close());
    const agent = await startAgent(testAgentOptions(host, { podResourcesSocket: kubelet.socketPath, vfInfo: createFileVfInfoSource(host.ipLinkFile) }));
    t.after(() => agent.stop());
    await agent.nextScan();
    const scrape = async () => (await fetch(`http://127.0.0.1:${agent.http.port}/metrics`)).text();
    let text = await scrape();
    assert.deepEqual(promtoolCheck(text).complaints, CATALOGUE_LINTS);
    assert.deepEqual(familyLines(text, 'railwatch_pod_rail_aligned'), ['railwatch_pod_rail_aligned{namespace="ml",pod="aligned"} 1', 'railwatch_pod_rail_aligned{namespace="research",pod="crossed"} 0']);
    assert.deepEqual(familyLines(text, 'railwatch_pod_rails'), ['railwatch_pod_rails{namespace="ml",pod="aligned"} 8', 'railwatch_pod_rails{namespace="research",pod="crossed"} 4']);
    assert.deepEqual(familyLines(text, 'railwatch_pod_gpus'), ['railwatch_pod_gpus{namespace="ml",pod="aligned"} 8', 'railwatch_pod_gpus{namespace="research",pod="crossed"} 4']);
    assert.equal(familyLines(text, 'railwatch_vf_receive_bytes_total').length, 16);
    const checks = agent.state().checks?.results.find((r) => r.id === 'pod-rail-alignment');
    assert.equal(checks?.status, 'warn');

    // counters are read when the scrape comes, not at the scan
    const link = host.ipLink('ens1f0np0');
    link.vfs[0] = { stats: { rxBytes: 123456789012345678n } };
    host.writeIpLink();
    await new Promise((r) => setTimeout(r, 1100));
    text = await scrape();
    assert.deepEqual(familyLines(text, 'railwatch_vf_receive_bytes_total').slice(0, 1), ['railwatch_vf_receive_bytes_total{pf="ens1f0np0",rail="0",vf="0"} 123456789012345678']);

    // the crossed pod ends: its series go with the next poll
    kubelet.data = { list: { podResources: [pod('aligned', all, all, host)] }, allocatable: { devices: [] } };
    agent.trigger('test');
    await agent.nextScan();
    text = await scrape();
    assert.deepEqual(familyLines(text, 'railwatch_pod_rail_aligned'), ['railwatch_pod_rail_aligned{namespace="ml",pod="aligned"} 1']);
    assert.equal(agent.state().checks?.results.find((r) => r.id === 'pod-rail-alignment')?.status, 'pass');
    // the kubelet goes away: no pod series at all (unknown, not zero)
    await kubelet.stop();
    agent.trigger('test');
    await agent.nextScan();
    text = await scrape();
    assert.deepEqual(familyLines(text, 'railwatch_pod_rail_aligned'), []);
  });

  test('doctor: a readable per-pod section and the pods in --json', async (t) => {
    const host = buildDgxHost({ rails: 8, vfsPerPf: 2 });
    t.after(() => host.cleanup());
    const kubelet = await startPodResourcesServer({ data: { list: { podResources: [pod('crossed', [0, 1, 2, 3], [4, 5, 6, 7], host)] }, allocatable: { devices: [] } } });
    t.after(() => kubelet.close());
    const args = ['agent/main.ts', 'doctor', '--sysfs', host.sys, '--procfs', host.proc, '--pod-resources-socket', kubelet.socketPath, '--ip-link-json', host.ipLinkFile];
    const run = (extra: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [...args, ...extra], { cwd: REPO, timeout: 60_000 }, (err, stdout) => (err && typeof (err as { code?: unknown }).code !== 'number' ? reject(err) : resolve(stdout))),
      );
    const text = await run([]);
    assert.match(text, /Pods on rails \(kubelet pod-resources\)\n {2}pod ml\/crossed: 4 VF\(s\) on rails 4,5,6,7, 4 GPU\(s\) on rails 0,1,2,3\n/);
    assert.ok(text.includes(`  net? -> ${vfOf(host, 4)} (rail 4; vf0 of ens5f0np0, nvidia.com/rail4_vfs)`), text);
    assert.match(text, /MISALIGNED: GPU 0000:15:00\.0 is on rail 0; the pod's VFs are on rails 4,5,6,7/);
    assert.match(text, /WARN pod-rail-alignment: 1 of 1 pod holding GPUs and VFs is off their rails/);
    const json = JSON.parse(await run(['--json'])) as { pods: { pod: string; aligned: boolean; vfRails: number[]; gpuRails: number[] }[] };
    assert.deepEqual(json.pods.map((p) => [p.pod, p.aligned, p.vfRails, p.gpuRails]), [['crossed', false, [4, 5, 6, 7], [0, 1, 2, 3]]]);
  });
});
