// The golden scrape, end to end like node_exporter's end-to-end-test.sh: the real `railwatch serve --no-kube` (a
// child process) on a 2-rail fixture host, with the real check catalogue and a real gRPC kubelet pod-resources
// server, scraped over HTTP; the lines that vary from run to run are normalised, the rest is diffed against
// test/golden/dgx-2rail.prom. Rewrite it with `UPDATE_GOLDEN=1 node --test test/metrics/golden.test.ts`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildDgxHost, dgxGpuUuid } from '../helpers/fixture-host.ts';
import { startPodResourcesServer } from '../helpers/pod-resources-server.ts';
import { CATALOGUE_LINTS, normaliseScrape, promtoolCheck } from './exposition-helpers.ts';

const GOLDEN = join(import.meta.dirname, '../golden/dgx-2rail.prom');
const MAIN = join(import.meta.dirname, '../../agent/main.ts');

test('golden scrape of `railwatch serve` on a 2-rail fixture host', async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 4, vfNetdevsInHost: 2, extras: true });
  t.after(() => host.cleanup());
  // a counter past 2^53 and one past 2^63, a degraded GPU link
  host.write(`${host.devPath('0000:16:00.0')}/infiniband/mlx5_0/ports/1/counters/port_xmit_data`, '9007199254740993');
  host.write(`${host.devPath('0000:1e:00.0')}/infiniband/mlx5_1/ports/1/hw_counters/out_of_buffer`, '18446744073709551615');
  host.write(`${host.devPath('0000:1d:00.0')}/current_link_width`, '8');
  const kubelet = await startPodResourcesServer({
    data: {
      list: {
        podResources: [
          {
            name: 'trainer-0',
            namespace: 'ml',
            containers: [
              {
                name: 'worker',
                devices: [
                  { resourceName: 'nvidia.com/gpu', deviceIds: [dgxGpuUuid(1)] },
                  { resourceName: 'nvidia.com/rail1_vfs', deviceIds: ['0000:1e:00.4'] },
                ],
              },
            ],
          },
        ],
      },
      allocatable: {
        devices: [
          { resourceName: 'nvidia.com/rail0_vfs', deviceIds: ['0000:16:00.2', '0000:16:00.3', '0000:16:00.4', '0000:16:00.5'] },
          { resourceName: 'nvidia.com/rail1_vfs', deviceIds: ['0000:1e:00.2', '0000:1e:00.3', '0000:1e:00.4', '0000:1e:00.5'] },
        ],
      },
    },
  });
  t.after(() => kubelet.close());
  // the probes read the fixture's kubelet and CNI directories (the default paths under the root above --sysfs),
  // never this machine's
  const devicePlugins = join(host.root, 'var/lib/kubelet/device-plugins');
  const cni = join(host.root, 'etc/cni/net.d');
  mkdirSync(devicePlugins, { recursive: true });
  mkdirSync(cni, { recursive: true });
  const configFile = join(host.root, 'config.yaml');
  writeFileSync(
    configFile,
    ['desiredVfs:', '  all: 4', '  rails:', '    "1": 6', ''].join('\n'),
  );

  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--no-kube', '--no-monitors', '--sysfs', host.sys, '--procfs', host.proc, '--config', configFile, '--listen', '127.0.0.1:0', '--pod-resources-socket', kubelet.socketPath, '--interval', '3600', '--node-name', 'golden', '--log-level', 'info', '--ip-link-json', host.ipLinkFile],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
  );
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
    const end = Date.now() + 30_000;
    while (!(await ok())) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`${what}; railwatch said:\n${stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let port = 0;
  await until('serve did not listen', () => {
    port = Number(/"msg":"http server listening".*?"port":(\d+)/.exec(stderr)?.[1] ?? 0);
    return port > 0;
  });
  await until('no first scan', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);

  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  const scrape = await response.text();
  assert.deepEqual(promtoolCheck(scrape).complaints, CATALOGUE_LINTS);
  const actual = normaliseScrape(scrape);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, actual);
  assert.equal(actual, readFileSync(GOLDEN, 'utf8'), 'scrape differs from test/golden/dgx-2rail.prom (UPDATE_GOLDEN=1 rewrites it)');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
});
