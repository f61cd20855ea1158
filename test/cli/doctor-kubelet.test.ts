// railwatch doctor asks the kubelet (real gRPC pod-resources server) which VFs are in pods.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { startPodResourcesServer } from '../helpers/pod-resources-server.ts';

const REPO = join(import.meta.dirname, '../..');
const NODE = process.execPath;

function doctor(args: string[]): Promise<{ code: number; json: { results: { id: string; status: string; finding: string }[] } }> {
  return new Promise((resolve, reject) => {
    execFile(NODE, [join(REPO, 'agent/main.ts'), 'doctor', '--json', ...args], { cwd: REPO, timeout: 60_000 }, (err, stdout) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') {
        // ExecFileException is an Error, but typed as an intersection of Omit<>s the rule does not see as one
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return reject(err);
      }
      resolve({ code: (err as { code?: number } | null)?.code ?? 0, json: JSON.parse(stdout) });
    });
  });
}

test('doctor: VF netdevs in pods are explained by the kubelet; without it they are a warning', async (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 4, vfNetdevsInHost: 2 });
  t.after(() => host.cleanup());
  const pf = '0000:16:00.0';
  const kubelet = await startPodResourcesServer({
    data: {
      list: {
        podResources: [2, 3].map((n) => ({
          name: `trainer-${n}`,
          namespace: 'ml',
          containers: [{ name: 'main', devices: [{ resourceName: 'nvidia.com/rail0_vfs', deviceIds: [host.vfAddress(pf, n)] }] }],
        })),
      },
      allocatable: { devices: [] },
    },
  });
  t.after(() => kubelet.close());
  const common = ['--sysfs', host.sys, '--procfs', host.proc];
  const withKubelet = await doctor([...common, '--pod-resources-socket', kubelet.socketPath]);
  const visible = withKubelet.json.results.find((r) => r.id === 'vf-netdevs-visible');
  assert.equal(visible?.status, 'pass', visible?.finding);
  // no kubelet: the socket the config names is absent (an absent socket given with --pod-resources-socket is a usage
  // error instead; test/cli/errors.test.ts)
  const config = join(host.root, 'no-kubelet.yaml');
  writeFileSync(config, `kubelet: {podResourcesSocket: ${join(host.root, 'absent.sock')}}\n`);
  const without = await doctor([...common, '--config', config]);
  const unknown = without.json.results.find((r) => r.id === 'vf-netdevs-visible');
  assert.equal(unknown?.status, 'warn');
  assert.match(unknown?.finding ?? '', /allocation could not be checked \(socket-absent\)/);
  assert.equal(without.code, 1);
});
