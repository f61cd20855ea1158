// How long `railwatch fleet` takes on a big cluster: the real binary (node agent/main.ts fleet) against the
// in-process API server (test/helpers/fake-apiserver.ts) running in a child process with N Nodes of a realistic
// size (about 4 KB of JSON each: kubelet labels, addresses, capacity, images, five kubelet conditions and
// RdmaNetworkReady), 1% of them not ready, 20 railwatch Events. Wall time and peak RSS of the CLI, median of runs.
//   node bench/fleet-cli.ts [--nodes 5000,50000] [--runs 3] [--page-size 500]
//   (internal) node bench/fleet-cli.ts --serve N
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FakeApiServer } from '../test/helpers/fake-apiserver.ts';

const REPO = join(import.meta.dirname, '..');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}

function nodeBody(i: number, now: string) {
  const ready = i % 100 !== 13;
  const images = Array.from({ length: 12 }, (_, k) => ({
    names: [`registry.example.com/team/image-${k}@sha256:${'ab'.repeat(32)}`, `registry.example.com/team/image-${k}:v1.${k}`],
    sizeBytes: 100_000_000 + k,
  }));
  return {
    labels: {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': i % 10 === 0 ? 'a3-highgpu-8g' : 'p5.48xlarge',
      'topology.kubernetes.io/region': 'us-east-1',
      'topology.kubernetes.io/zone': `us-east-1${'abc'[i % 3]}`,
      'nvidia.com/gpu.count': '8',
      'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
      'feature.node.kubernetes.io/pci-15b3.present': 'true',
      'railwatch.io/rdma': 'true',
      'railwatch.io/rails': i === 777 ? '7' : '8',
      'railwatch.io/vfs': '64',
      'railwatch.io/link-layer': 'InfiniBand',
      'railwatch.io/gpus': '8',
      ...Object.fromEntries(Array.from({ length: 8 }, (_, r) => [`railwatch.io/rail-${r}.vfs`, '8'])),
    },
    status: {
      addresses: [
        { type: 'InternalIP', address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
        { type: 'Hostname', address: `gpu-${i}` },
      ],
      capacity: { cpu: '192', memory: '2113442356Ki', 'nvidia.com/gpu': '8', 'nvidia.com/rdma_vf': '64', pods: '110' },
      allocatable: { cpu: '191500m', memory: '2100000000Ki', 'nvidia.com/gpu': '8', 'nvidia.com/rdma_vf': '64', pods: '110' },
      nodeInfo: { kernelVersion: '6.8.0-1015-aws', osImage: 'Ubuntu 22.04.4 LTS', containerRuntimeVersion: 'containerd://1.7.12', kubeletVersion: 'v1.30.2', architecture: 'amd64', operatingSystem: 'linux' },
      images,
      conditions: [
        ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: 'False', reason: `KubeletHasNo${type}`, message: 'ok', lastHeartbeatTime: now, lastTransitionTime: '2026-01-01T00:00:00Z' })),
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: '2026-01-01T00:00:00Z' },
        {
          type: 'RdmaNetworkReady',
          status: ready ? 'True' : 'False',
          reason: ready ? 'AllChecksPassed' : 'VfNetdevsVisible',
          message: ready ? '24 setup checks pass' : 'VF netdevs visible: 2 of 64 VF netdevs missing',
          lastHeartbeatTime: now,
          lastTransitionTime: '2026-11-30T00:00:00Z',
        },
      ],
    },
  };
}

async function serve(n: number): Promise<void> {
  const server = new FakeApiServer();
  server.record = false;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (let i = 0; i < n; i++) {
    const name = `gpu-${String(i).padStart(6, '0')}`;
    const node = server.addNode(name, {});
    const body = nodeBody(i, now);
    (node['metadata'] as Record<string, unknown>)['labels'] = { 'kubernetes.io/hostname': name, ...body.labels };
    node['status'] = body.status;
  }
  server.compact(); // drops the watch history of the set-up
  for (let i = 0; i < 20; i++) {
    const node = `gpu-${String(i * 100 + 13).padStart(6, '0')}`;
    server.addEvent({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `${node}.${i}`, namespace: 'default' },
      eventTime: new Date().toISOString(),
      reportingController: 'railwatch.io/agent',
      reportingInstance: node,
      action: 'Scan',
      reason: 'VFsDisappeared',
      type: 'Warning',
      note: '2 VFs disappeared',
      regarding: { apiVersion: 'v1', kind: 'Node', name: node, uid: 'u' },
    });
  }
  await server.listen();
  process.stdout.write(JSON.stringify({ url: server.url, token: server.token }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
}

async function startServer(n: number): Promise<{ url: string; token: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--max-old-space-size=8192', import.meta.filename, '--serve', String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`API server exited ${code}`)));
  });
  const { url, token } = JSON.parse(line) as { url: string; token: string };
  return { url, token, stop: () => child.stdin!.end() };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) return serve(Number(arg('serve', '5000')));
  const sizes = arg('nodes', '5000,50000').split(',').map(Number);
  const runs = Number(arg('runs', '3'));
  const pageSize = arg('page-size', '500');
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0) || !Number.isInteger(runs) || runs <= 0) throw new Error('--nodes N[,N...] and --runs N must be positive integers');
  const dir = mkdtempSync(join(tmpdir(), 'railwatch-fleet-cli-'));
  console.log(`railwatch fleet against the fake API server (child process), page size ${pageSize}, ${process.version}, median of ${runs}`);
  console.log('nodes     output   wall s   peak RSS MiB   exit   summary');
  try {
    for (const n of sizes) {
      const srv = await startServer(n);
      const kubeconfig = join(dir, `kubeconfig-${n}`);
      writeFileSync(
        kubeconfig,
        `apiVersion: v1\nkind: Config\nclusters: [{name: f, cluster: {server: "${srv.url}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: "${srv.token}"}}]\ncontexts: [{name: c, context: {cluster: f, user: u}}]\ncurrent-context: c\n`,
      );
      try {
        for (const output of ['text', 'json']) {
          const walls: number[] = [];
          const rss: number[] = [];
          let exit = -1;
          let summary = '';
          for (let r = 0; r < runs; r++) {
            const t = performance.now();
            const argv = [join(REPO, 'agent/main.ts'), 'fleet', '--kubeconfig', kubeconfig, '--page-size', pageSize, ...(output === 'json' ? ['--json'] : [])];
            const res = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...argv], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
            walls.push((performance.now() - t) / 1000);
            rss.push(Number(res.stderr.trim().split('\n').pop()) / 1024);
            exit = res.status ?? -1;
            if (exit === 2) throw new Error(`fleet failed: ${res.stderr}`);
            summary = output === 'text' ? (res.stdout.split('\n')[2] ?? '').trim() : `${(res.stdout.length / 1e6).toFixed(1)} MB of JSON`;
          }
          console.log(`${String(n).padEnd(9)} ${output.padEnd(8)} ${median(walls).toFixed(2).padStart(6)}   ${median(rss).toFixed(0).padStart(12)}   ${String(exit).padStart(4)}   ${summary}`);
        }
      } finally {
        srv.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
