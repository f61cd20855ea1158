// railwatch doctor end to end: the real binary on the real /sys and /proc, and on fixture hosts for each exit code.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CATALOGUE } from '../../agent/checks/catalogue.ts';
import { doctorJson, doctorText, useColor } from '../../agent/cli/doctor.ts';
import { buildDgxHost, type DgxOptions, type FixtureHost } from '../helpers/fixture-host.ts';
import { startPodResourcesServer } from '../helpers/pod-resources-server.ts';
import { acsConfig, check, configWith, kubeletDirs, scan, writeBridgeConfigs } from '../checks/helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');

const hosts: FixtureHost[] = [];
after(() => {
  for (const h of hosts) h.cleanup();
});

function doctorEnv(): NodeJS.ProcessEnv {
  // wide enough that no finding is wrapped (wrapping has its own tests in test/cli/output.test.ts)
  const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: '400' };
  delete env['NO_COLOR'];
  return env;
}

function doctor(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NODE, ['agent/main.ts', 'doctor', ...args], { cwd: ROOT, encoding: 'utf8', env: doctorEnv() });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** doctor without blocking this process, for a server (the kubelet) that answers from it. */
function doctorAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(NODE, ['agent/main.ts', 'doctor', ...args], { cwd: ROOT, encoding: 'utf8', env: doctorEnv() }, (err, stdout, stderr) => {
      // a non-zero exit (warnings, skips) still prints the report; only a failure to run rejects
      if (err !== null && typeof err.code !== 'number') reject(new Error(err.message));
      else resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    }),
  );
}

/** A fixture host with kubelet/CNI directories and a config file pointing at them; returns the doctor flags. */
function fixture(opts: DgxOptions, doc: Record<string, unknown> = {}): { host: FixtureHost; args: string[] } {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2, ...opts });
  hosts.push(host);
  const dirs = kubeletDirs(host);
  // the kubelet and CNI directories sit at their default paths under host/: --root names it
  const fileDoc = doc;
  const configFile = join(host.root, 'railwatch.yaml');
  writeFileSync(configFile, JSON.stringify(fileDoc, null, 2));
  writeBridgeConfigs(host, configWith(dirs, doc), () => acsConfig(0));
  return { host, args: ['--sysfs', host.sys, '--procfs', host.proc, '--config', configFile, '--root', join(host.root, 'host'), '--ip-link-json', host.ipLinkFile] };
}

function hasIommu(): boolean {
  try {
    return readdirSync('/sys/class/iommu').length > 0;
  } catch {
    return false;
  }
}

test('doctor on the real /sys and /proc of this machine', () => {
  const r = doctor([]);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^railwatch doctor: setup chain of \/sys /);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour when stdout is not a TTY');
  if (!hasIommu()) {
    // the test machine has no IOMMU: the doctor must say so, name step 1 and exit 2
    assert.equal(r.code, 2);
    assert.match(r.stdout, /FAIL hardware-iommu: no IOMMU: \/sys\/class\/iommu is empty/);
    assert.match(r.stdout, /FAIL kernel-iommu: IOMMU not active/);
    assert.match(r.stdout, /\nFirst failing step: 1-hardware-iommu \(hardware-iommu\): no IOMMU/);
    assert.match(r.stdout, /Fix it first: Enable (VT-d|AMD-Vi)/);
  } else {
    assert.match(r.stdout, /PASS hardware-iommu/);
  }
  // every step is reported, in order
  const steps = [...r.stdout.matchAll(/^(\d+)\. .* \[(\d+-[a-z-]+)\]$/gm)].map((m) => m[2]);
  assert.deepEqual(steps, [...new Set(CATALOGUE.map((c) => c.stepLabel))]);
});

test('doctor --json on the real machine has the documented shape', () => {
  const r = doctor(['--json']);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc).sort(), ['attachments', 'firstFailing', 'pods', 'ready', 'results', 'summary']);
  const results = doc['results'] as Record<string, unknown>[];
  assert.deepEqual(
    results.map((x) => x['id']),
    CATALOGUE.map((c) => c.id),
  );
  for (const res of results) {
    for (const k of ['id', 'step', 'stepLabel', 'title', 'status', 'finding']) assert.ok(k in res, `${String(res['id'])} has ${k}`);
    assert.ok(['pass', 'warn', 'fail', 'skip'].includes(res['status'] as string));
  }
  const summary = doc['summary'] as Record<string, number>;
  assert.deepEqual(Object.keys(summary).sort(), ['fail', 'pass', 'skip', 'warn']);
  assert.equal(Object.values(summary).reduce((a, b) => a + b, 0), results.length);
  if (!hasIommu()) {
    assert.equal(r.code, 2);
    assert.equal(doc['ready'], false);
    assert.equal((doc['firstFailing'] as Record<string, unknown>)['stepLabel'], '1-hardware-iommu');
  }
});

test('exit 0 when every check passes (skips allowed)', () => {
  const { args } = fixture({}, { desiredVfs: 2, hugepages: { size: '1Gi', count: 8, perNuma: true } });
  const r = doctor(args);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /Summary: 27 pass, 0 warn, 0 fail, 8 skip\nNo step fails: the setup chain is ready\.\n$/);
});

test('exit 1 with only a warning', () => {
  const { args } = fixture({ vfNetdevsInHost: 1 });
  const r = doctor(args);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /WARN vf-netdevs-visible: 2 of 4 VFs have no netdev in the host namespace; allocation could not be checked/);
  assert.match(r.stdout, /\nNo step fails; warnings in 5-nic-vfs\n$/);
  const json = JSON.parse(doctor([...args, '--json']).stdout) as { firstFailing: unknown; ready: boolean; summary: Record<string, number> };
  assert.deepEqual([json.firstFailing, json.ready, json.summary['warn'], json.summary['fail']], [null, true, 1, 0]);
});

test('exit 2 with a failure, the first failing step named at the end', () => {
  const { args } = fixture({ vfNetdevsInHost: 1 }, { expectedRails: 4, desiredVfs: 8 });
  const r = doctor(args);
  assert.equal(r.code, 2, r.stdout);
  assert.match(r.stdout, /FAIL vfs-desired: 2 of 2 PFs not at the desired VF count/);
  assert.match(r.stdout, /FAIL rail-count: 2 rails, expected 4 \(expectedRails\)/);
  assert.match(r.stdout, /\nFirst failing step: 5-nic-vfs \(vfs-desired\): 2 of 2 PFs not at the desired VF count\n/);
});

test('a bad config names the field and exits 78; an unknown flag exits 64', () => {
  const { host, args } = fixture({});
  const bad = join(host.root, 'bad.yaml');
  writeFileSync(bad, 'hugepages:\n  size: 3Mi\n  count: 4\n');
  const r = doctor([...args.slice(0, 4), '--config', bad]);
  assert.equal(r.code, 78);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `railwatch doctor: config: ${bad}:2:9: hugepages.size: unsupported hugepage size 3Mi\n`);
  const u = doctor(['--colour']);
  assert.equal(u.code, 64);
  assert.match(u.stderr, /unknown flag --colour/);
});

test('colour only on a TTY without NO_COLOR', () => {
  assert.equal(useColor({ isTTY: true }, {}), true);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(useColor({ isTTY: false }, {}), false);
  assert.equal(useColor({}, {}), false);
  const { host } = fixture({}, { expectedRails: 3 });
  const config = configWith(kubeletDirs(host), { expectedRails: 3 });
  const report = check(host, config);
  const coloured = doctorText(report, scan(host, config), { color: true });
  assert.match(coloured, /\x1b\[31mFAIL\x1b\[0m rail-count/);
  assert.match(coloured, /\x1b\[32mPASS\x1b\[0m hardware-iommu/);
  const plain = doctorText(report, scan(host, config), { color: false });
  assert.doesNotMatch(plain, /\x1b/);
  assert.deepEqual(doctorJson(report).firstFailing, report.firstFailing);
});

test('long detail lists are cut in the text report, kept whole in JSON', () => {
  const { host } = fixture({ vfsPerPf: 16, vfNetdevsInHost: 0 });
  const config = configWith(kubeletDirs(host));
  const report = check(host, config);
  const text = doctorText(report, scan(host, config), { color: false, maxDetails: 3 });
  assert.match(text, /WARN vf-netdevs-visible: 32 of 32 VFs[^\n]*\n( {7}- [^\n]*\n){3} {7}- \(\+29 more; --json lists all\)\n/);
  assert.equal(doctorJson(report).results.find((r) => r.id === 'vf-netdevs-visible')?.details?.length, 32);
});

test('the kubelet and CNI directories are read under the root above --sysfs, or under --root; never this machine\'s', () => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 1 });
  hosts.push(host);
  mkdirSync(join(host.root, 'etc/cni/net.d'), { recursive: true });
  writeFileSync(join(host.root, 'etc/cni/net.d/00-multus.conf'), JSON.stringify({ cniVersion: '0.3.1', name: 'multus-cni-network', type: 'multus' }));
  const multus = (extra: string[]) => {
    const json = JSON.parse(doctor(['--sysfs', host.sys, '--procfs', host.proc, '--json', ...extra]).stdout) as { results: { id: string; status: string }[] };
    return json.results.find((r) => r.id === 'cni-multus')?.status;
  };
  assert.deepEqual([multus([]), multus(['--root', join(host.root, 'nowhere')])], ['pass', 'skip']);
});

test('on a tree, the kubelet asked is the tree\'s (its socket under the root) and this machine\'s netlink is not asked', async () => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 2 });
  hosts.push(host);
  const pf = '0000:16:00.0'; // rail 0's PF in buildDgxHost
  const vf = host.vfAddress(pf, 1);
  const kubelet = await startPodResourcesServer({
    data: { list: { podResources: [{ name: 'trainer', namespace: 'ml', containers: [{ name: 'main', devices: [{ resourceName: 'nvidia.com/rail0', deviceIds: [vf] }] }] }] }, allocatable: { devices: [] } },
  });
  try {
    // the tree's kubelet socket at its default path under the tree's root
    mkdirSync(join(host.root, 'var/lib/kubelet/pod-resources'), { recursive: true });
    symlinkSync(kubelet.socketPath, join(host.root, 'var/lib/kubelet/pod-resources/kubelet.sock'));
    const r = await doctorAsync(['--sysfs', host.sys, '--procfs', host.proc, '--json', '--no-kube']);
    const json = JSON.parse(r.stdout) as { results: { id: string; status: string; finding: string }[]; pods: { namespace: string; pod: string }[] | null };
    assert.deepEqual(json.pods?.map((p) => `${p.namespace}/${p.pod}`), ['ml/trainer'], 'the pods come from the tree\'s kubelet');
    assert.ok(kubelet.calls.List >= 1);
    const vfLinkState = json.results.find((x) => x.id === 'vf-link-state')!;
    assert.equal(vfLinkState.status, 'skip');
    assert.match(vfLinkState.finding, /^the PFs' netlink VF lists were not read: the tree given with --sysfs is not this host/);
    assert.doesNotMatch(r.stderr, /VF netlink lists not read/, 'not asking is not a warning');
  } finally {
    await kubelet.close();
  }
});

test('on this host with no PF that has VFs, doctor spawns no ip (PATH without one) and does not warn about it', (t) => {
  const withVfs = (() => {
    try {
      return readdirSync('/sys/bus/pci/devices').some((d) => readdirSync(join('/sys/bus/pci/devices', d)).some((f) => f.startsWith('virtfn')));
    } catch {
      return false;
    }
  })();
  if (withVfs) {
    t.skip('this host has a PF with VFs: its netlink lists are read');
    return;
  }
  // a PATH with no ip in it: a spawn would fail with ENOENT and warn
  const r = spawnSync(NODE, ['agent/main.ts', 'doctor', '--json'], { cwd: ROOT, encoding: 'utf8', env: { ...doctorEnv(), PATH: '/nonexistent' } });
  const json = JSON.parse(r.stdout) as { results: { id: string; status: string; finding: string }[] };
  assert.doesNotMatch(r.stderr, /VF netlink lists not read/);
  const linkState = json.results.find((x) => x.id === 'vf-link-state');
  assert.ok(linkState !== undefined && linkState.status === 'skip', JSON.stringify(linkState));
});
