// The container image, end to end: scripts/build-image.sh builds it with Debian's docker.io and a locally made
// base image (no container registry), then `railwatch inventory --json` runs in the container against a small
// fixture host mounted read-only at /host/sys and /host/proc, and must report what the same command reports on
// the host. Run with `npm run test:image` (needs root and docker; takes minutes on a cold cache). Not matched by
// the `test/**/*.test.ts` glob of `npm test` on purpose.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SERVE_NODE_FLAGS } from '../../agent/serve-flags.ts';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const nodeBin = path.join(repoRoot, 'node_modules/.bin/node');
const IMAGE = process.env['RAILWATCH_TEST_IMAGE'] ?? 'railwatch:test';
const PF = '0000:3b:00.0';
const VFS = ['0000:3b:00.1', '0000:3b:00.2'];

/** A fake host: one Mellanox PF at 0000:3b:00.0 behind root port 0000:3a:00.0, 2 of 8 VFs enabled, netdev ens1f0. */
async function makeFixtureHost(root: string): Promise<void> {
  const sys = path.join(root, 'sys');
  const bridge = path.join(sys, 'devices/pci0000:3a/0000:3a:00.0');
  const files: Record<string, string> = {};
  const links: Record<string, string> = {};
  const fn = (bdf: string, attrs: Record<string, string>): void => {
    for (const [k, v] of Object.entries(attrs)) files[path.join(bridge, bdf, k)] = `${v}\n`;
  };
  files[path.join(bridge, 'class')] = '0x060400\n';
  files[path.join(bridge, 'vendor')] = '0x8086\n';
  files[path.join(bridge, 'device')] = '0x347a\n';
  fn(PF, {
    vendor: '0x15b3',
    device: '0x101d',
    subsystem_vendor: '0x15b3',
    subsystem_device: '0x0016',
    class: '0x020000',
    numa_node: '0',
    current_link_speed: '16.0 GT/s PCIe',
    max_link_speed: '16.0 GT/s PCIe',
    current_link_width: '16',
    max_link_width: '16',
    sriov_totalvfs: '8',
    sriov_numvfs: '2',
    sriov_offset: '1',
    sriov_stride: '1',
    sriov_vf_device: '101e',
    sriov_drivers_autoprobe: '1',
  });
  links[path.join(bridge, PF, 'driver')] = '../../../../bus/pci/drivers/mlx5_core';
  for (const [i, vf] of VFS.entries()) {
    fn(vf, { vendor: '0x15b3', device: '0x101e', class: '0x020000', numa_node: '0' });
    links[path.join(bridge, PF, `virtfn${i}`)] = `../${vf}`;
    links[path.join(bridge, vf, 'physfn')] = `../${PF}`;
    links[path.join(bridge, vf, 'driver')] = '../../../../bus/pci/drivers/mlx5_core';
  }
  const netdev = path.join(bridge, PF, 'net/ens1f0');
  Object.assign(files, {
    [path.join(netdev, 'operstate')]: 'up\n',
    [path.join(netdev, 'carrier')]: '1\n',
    [path.join(netdev, 'mtu')]: '9000\n',
    [path.join(netdev, 'speed')]: '200000\n',
    [path.join(netdev, 'address')]: '0c:42:a1:00:00:01\n',
    [path.join(netdev, 'type')]: '1\n',
    [path.join(netdev, 'phys_port_name')]: 'p0\n',
  });
  links[path.join(netdev, 'device')] = '../../../0000:3b:00.0';
  for (const bdf of ['0000:3a:00.0', PF, ...VFS]) {
    const target = bdf === '0000:3a:00.0' ? 'pci0000:3a/0000:3a:00.0' : `pci0000:3a/0000:3a:00.0/${bdf}`;
    links[path.join(sys, 'bus/pci/devices', bdf)] = `../../../devices/${target}`;
  }
  links[path.join(sys, 'class/net/ens1f0')] = '../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/net/ens1f0';
  files[path.join(root, 'proc/meminfo')] = 'MemTotal:       1048576 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n';
  files[path.join(root, 'proc/cmdline')] = 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt\n';
  files[path.join(root, 'proc/cpuinfo')] = 'processor\t: 0\nvendor_id\t: GenuineIntel\n';

  await mkdir(path.join(sys, 'bus/pci/drivers/mlx5_core'), { recursive: true });
  await mkdir(path.join(sys, 'class/infiniband'), { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text, { mode: 0o644 });
  }
  for (const [link, target] of Object.entries(links)) {
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(target, link);
  }
}

interface InventoryPf {
  pci: string;
  netdev?: string;
  sriovCapable: boolean;
  totalVfs: number;
  numVfs?: number;
  vfs: { pci: string }[];
}

/** The parts of a snapshot that depend on when and where it was taken, not on the host it describes. */
function withoutRunFacts(snapshot: Record<string, unknown>): Record<string, unknown> {
  const { takenAtMs: _t, durationMs: _d, sysfsRoot: _s, procfsRoot: _p, identity: _i, ...rest } = snapshot;
  return rest;
}

async function run(file: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(file, args, { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 });
}

function firstLines(text: string, n: number): string {
  return text.split('\n').slice(0, n).join('\n');
}

describe('container image', () => {
  let fixture = '';
  let hostSnapshot: Record<string, unknown> | undefined;
  let notReady: string | undefined;

  before(async () => {
    fixture = await mkdtemp(path.join(os.tmpdir(), 'railwatch-image-'));
    await makeFixtureHost(fixture);
    // The image can only be as good as the agent: skip (with the reason) while the agent cannot compile or run
    // `inventory` on this host; from then on every failure is the image's.
    try {
      await run(path.join(repoRoot, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--noEmit'], 300_000);
    } catch (err) {
      notReady = `the agent does not compile yet:\n${firstLines(String((err as { stdout?: string }).stdout ?? err), 5)}`;
      return;
    }
    try {
      const { stdout } = await run(
        nodeBin,
        ['agent/main.ts', 'inventory', '--json', '--sysfs', path.join(fixture, 'sys'), '--procfs', path.join(fixture, 'proc')],
        60_000,
      );
      hostSnapshot = JSON.parse(stdout) as Record<string, unknown>;
    } catch (err) {
      notReady = `railwatch inventory --json does not work on the host yet: ${firstLines(String(err), 5)}`;
    }
  });

  after(async () => {
    if (fixture) await rm(fixture, { recursive: true, force: true });
  });

  it('builds, and runs `inventory --json` against a fixture host mounted at /host/sys', async (t) => {
    if (notReady !== undefined) {
      t.skip(notReady);
      return;
    }
    await run('bash', [path.join(repoRoot, 'scripts/build-image.sh'), '--tag', IMAGE], 1_800_000);

    const { stdout } = await run(
      'docker',
      [
        'run', '--rm', '--network', 'none',
        '-v', `${path.join(fixture, 'sys')}:/host/sys:ro`,
        '-v', `${path.join(fixture, 'proc')}:/host/proc:ro`,
        IMAGE, 'inventory', '--json', '--sysfs', '/host/sys', '--procfs', '/host/proc',
      ],
      120_000,
    );
    const snapshot = JSON.parse(stdout) as Record<string, unknown> & { pfs: InventoryPf[] };
    const pf = snapshot.pfs.find((p) => p.pci === PF);
    assert.ok(pf, `PF ${PF} in ${JSON.stringify(snapshot.pfs)}`);
    assert.deepEqual(
      { pci: pf.pci, netdev: pf.netdev, sriovCapable: pf.sriovCapable, totalVfs: pf.totalVfs, numVfs: pf.numVfs, vfs: pf.vfs.map((v) => v.pci) },
      { pci: PF, netdev: 'ens1f0', sriovCapable: true, totalVfs: 8, numVfs: 2, vfs: VFS },
    );
    assert.equal(snapshot['sysfsRoot'], '/host/sys');
    assert.ok(hostSnapshot);
    assert.deepEqual(withoutRunFacts(snapshot), withoutRunFacts(hostSnapshot), 'the container sees what the host run sees');
  });

  it('has the entrypoint, an unprivileged default user, OCI labels, iproute2, udev and no dev dependencies', async (t) => {
    if (notReady !== undefined) {
      t.skip(notReady);
      return;
    }
    const { stdout } = await run('docker', ['image', 'inspect', '-f', '{{json .Config}}', IMAGE], 60_000);
    const config = JSON.parse(stdout) as { User: string; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string>; WorkingDir: string };
    assert.deepEqual(
      { User: config.User, Entrypoint: config.Entrypoint, Cmd: config.Cmd, WorkingDir: config.WorkingDir },
      { User: '65532:65532', Entrypoint: ['node', ...SERVE_NODE_FLAGS, '/app/dist/main.js'], Cmd: ['serve'], WorkingDir: '/app' },
    );
    assert.equal(config.Labels['org.opencontainers.image.title'], 'railwatch');
    assert.equal(config.Labels['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.match(config.Labels['org.opencontainers.image.version'] ?? '', /^\d+\.\d+\.\d+/);

    const probe = await run(
      'docker',
      [
        'run', '--rm', '--network', 'none', '--entrypoint', 'sh', IMAGE, '-c',
        'node --version; ip -V >/dev/null 2>&1 && echo iproute2; udevadm --version >/dev/null 2>&1 && echo udev; id -u; ' +
          'for d in typescript node fast-check kubernetes-models @grafana/grafana-foundation-sdk @bufbuild/cel; do [ -e /app/node_modules/$d ] && echo dev:$d; done; ' +
          'command -v npm || echo no-npm',
      ],
      60_000,
    );
    const [nodeVersion, ...rest] = probe.stdout.trim().split('\n');
    assert.match(nodeVersion ?? '', /^v24\./);
    assert.deepEqual(rest, ['iproute2', 'udev', '65532', 'no-npm']);
  });
});
