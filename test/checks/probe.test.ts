import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bridgesBetween, gpuRailPairs } from '../../agent/checks/pairs.ts';
import { emptyProbes, isMultusConf } from '../../agent/checks/probe.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { acsConfig, configWith, kubeletDirs, probesFor, scan, writeBridgeConfigs } from './helpers.ts';

const hosts: FixtureHost[] = [];
after(() => {
  for (const h of hosts) h.cleanup();
});

test('isMultusConf', () => {
  const cases: [string, boolean][] = [
    ['{"type":"multus","name":"multus-cni-network"}', true],
    ['{"cniVersion":"1.0.0","plugins":[{"type":"multus"},{"type":"portmap"}]}', true],
    ['{"plugins":[{"type":"calico"}]}', false],
    ['{"type":"sriov"}', false],
    ['{', false],
    ['null', false],
    ['[{"type":"multus"}]', false],
  ];
  for (const [text, want] of cases) assert.equal(isMultusConf(text), want, text);
});

test('bridgesBetween: the tails below the common ancestor; everything across host bridges', () => {
  assert.deepEqual(bridgesBetween({ hostBridge: 'pci0000:10', upstream: ['r', 'u', 'd1'] }, { hostBridge: 'pci0000:10', upstream: ['r', 'u', 'd2'] }), ['d1', 'd2']);
  assert.deepEqual(bridgesBetween({ hostBridge: 'pci0000:10', upstream: ['r1'] }, { hostBridge: 'pci0000:20', upstream: ['r2', 'x'] }), ['r1', 'r2', 'x']);
  assert.deepEqual(bridgesBetween({ hostBridge: 'pci0000:10', upstream: ['r', 'd'] }, { hostBridge: 'pci0000:10', upstream: ['r', 'd'] }), []);
});

test('gatherProbes reads the kubelet and CNI directories and the ACS of GPU-NIC bridges', () => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 1 });
  hosts.push(host);
  const dirs = kubeletDirs(host, {
    sockets: ['kubelet.sock', 'sriov_rdma.sock'],
    conf: { '10-net.conflist': '{"plugins":[{"type":"multus"}]}', '99-loopback.conf': '{"type":"loopback"}' },
    bins: ['sriov', 'bridge'],
  });
  mkdirSync(join(dirs.confDir, 'multus.d'));
  const config = configWith(dirs);
  const bridges = writeBridgeConfigs(host, config, () => acsConfig(0x0004));
  writeFileSync(join(host.sys, host.devPath(bridges[0]!), 'config'), Buffer.alloc(64));
  const snapshot = scan(host, config);
  assert.deepEqual(
    gpuRailPairs(snapshot).map((p) => [p.gpu.pci, p.rail.rail, p.distance, p.bridges]),
    [
      ['0000:15:00.0', 0, 'PIX', ['0000:14:00.0', '0000:14:01.0']],
      ['0000:1d:00.0', 1, 'PIX', ['0000:1c:00.0', '0000:1c:01.0']],
    ],
  );
  const probes = probesFor(host, config, snapshot);
  assert.deepEqual(probes.devicePlugins, { dir: dirs.devicePluginsDir, entries: ['kubelet.sock', 'sriov_rdma.sock'] });
  assert.deepEqual(probes.cniConf, { dir: dirs.confDir, entries: ['10-net.conflist', '99-loopback.conf', 'multus.d'], multus: ['10-net.conflist', 'multus.d'] });
  assert.deepEqual(probes.cniBin, { dir: dirs.binDir, entries: ['bridge', 'sriov'] });
  assert.deepEqual(
    probes.acs.map((a) => [a.bridge, a.read.kind, a.read.kind === 'present' ? a.read.redirect : undefined]),
    [
      ['0000:14:00.0', 'short', undefined],
      ['0000:14:01.0', 'present', ['RequestRedirect']],
      ['0000:1c:00.0', 'present', ['RequestRedirect']],
      ['0000:1c:01.0', 'present', ['RequestRedirect']],
    ],
  );
  const absent = probesFor(host, configWith(undefined), snapshot);
  assert.deepEqual(
    { devicePlugins: absent.devicePlugins, cniConf: absent.cniConf, cniBin: absent.cniBin },
    { devicePlugins: emptyProbes(configWith(undefined)).devicePlugins, cniConf: emptyProbes(configWith(undefined)).cniConf, cniBin: emptyProbes(configWith(undefined)).cniBin },
  );
});
