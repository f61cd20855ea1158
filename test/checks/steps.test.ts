// Every check: pass, fail (or warn) and skip, each on a fixture host made for it.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Config } from '../../agent/config/config.ts';
import { viewOf } from '../helpers/view.ts';
import { runChecks } from '../../agent/checks/run.ts';
import { buildDgxHost, FixtureHost, type DgxOptions } from '../helpers/fixture-host.ts';
import { acsConfig, check, configWith, kubeletDirs, resultOf, scan, statuses, UNKNOWN_ALLOCATION, writeBridgeConfigs } from './helpers.ts';

const hosts: FixtureHost[] = [];
after(() => {
  for (const h of hosts) h.cleanup();
});

function track<T extends FixtureHost>(h: T): T {
  hosts.push(h);
  return h;
}

/** A 2-rail DGX-like node that passes every check: all VF netdevs in the host, kubelet dirs, ACS off. */
function goodHost(opts: DgxOptions = {}, doc: Record<string, unknown> = {}): { host: FixtureHost; config: Config } {
  const host = track(buildDgxHost({ rails: 2, vfsPerPf: 2, ...opts }));
  const config = configWith(kubeletDirs(host), doc);
  writeBridgeConfigs(host, config, () => acsConfig(0x0000));
  return { host, config };
}

function pick(r: { status: string; finding: string }): [string, string] {
  return [r.status, r.finding];
}

function pfOf(host: FixtureHost, k: number): string {
  // buildDgxHost: NIC bus of rail k
  const rootBus = 0x10 + 0x20 * Math.floor(k / 2);
  const usp2Bus = rootBus + 3 + (k % 2) * 8;
  const addr = `0000:${(usp2Bus + 3).toString(16).padStart(2, '0')}:00.0`;
  assert.ok(host.hasPci(addr));
  return addr;
}

function gpuOf(k: number): string {
  const rootBus = 0x10 + 0x20 * Math.floor(k / 2);
  const usp2Bus = rootBus + 3 + (k % 2) * 8;
  return `0000:${(usp2Bus + 2).toString(16).padStart(2, '0')}:00.0`;
}

/** The IOMMU off, as the kernel shows it: no groups, and no PCI function with an iommu_group link. */
function emptyIommuGroups(host: FixtureHost): void {
  host.remove('kernel/iommu_groups');
  mkdirSync(join(host.sys, 'kernel/iommu_groups'), { recursive: true });
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.name === 'iommu_group' && e.isSymbolicLink()) rmSync(p);
      else if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  walk(join(host.sys, 'devices'));
}

/** No IOMMU at all: no units in /sys/class/iommu and no groups. */
function noIommu(host: FixtureHost): void {
  host.remove('class/iommu/dmar0');
  host.remove('class/iommu/dmar1');
  emptyIommuGroups(host);
}

describe('a fully configured node', () => {
  test('passes every check', () => {
    const { host, config } = goodHost({}, { hugepages: { size: '1Gi', count: 8, perNuma: true }, desiredVfs: 2, expectedRateGbps: 400, expectedMtu: 9000 });
    const report = check(host, config);
    assert.deepEqual(statuses(report), {
      'hardware-iommu': 'pass',
      'kernel-iommu': 'pass',
      'iommu-cmdline': 'pass',
      'iommu-passthrough': 'skip',
      hugepages: 'pass',
      'rdma-devices': 'pass',
      'verbs-abi': 'pass',
      'pf-driver': 'pass',
      'sriov-enabled': 'pass',
      'vfs-desired': 'pass',
      'vf-functions-present': 'pass',
      'vf-drivers-bound': 'pass',
      'vf-netdevs-visible': 'pass',
      'vf-link-state': 'pass',
      'vf-ib-guid': 'skip',
      'vf-mac-unique': 'pass',
      'pod-rail-alignment': 'skip',
      'rail-ports-active': 'pass',
      'rail-rate': 'pass',
      'rail-mtu': 'pass',
      'rail-firmware': 'pass',
      'pcie-link': 'pass',
      'gpu-driver': 'pass',
      'gpu-peermem': 'pass',
      'gpu-rail-affinity': 'pass',
      'pcie-acs': 'pass',
      'device-plugin': 'pass',
      'cni-multus': 'pass',
      'cni-sriov': 'pass',
      'rail-count': 'pass',
      // no API server in this test: step 11 skips
      'pod-networks-defined': 'skip',
      'nad-resource-name': 'skip',
      'nad-vf-cni': 'skip',
      'pod-vfs-attached': 'skip',
      'pod-networks-attached': 'skip',
    });
    assert.equal(report.ready, true);
    assert.equal(report.firstFailing, undefined);
  });
});

describe('step 1: hardware IOMMU', () => {
  test('fail: no IOMMU units, Intel without intel_iommu=on', () => {
    const { host, config } = goodHost();
    noIommu(host);
    host.writeProc('cmdline', 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro');
    const report = check(host, config);
    assert.deepEqual(resultOf(report, 'hardware-iommu'), {
      id: 'hardware-iommu',
      step: 1,
      stepLabel: '1-hardware-iommu',
      title: 'Platform IOMMU present',
      status: 'fail',
      finding: 'no IOMMU: /sys/class/iommu is empty (VT-d / AMD-Vi disabled in the BIOS or not present)',
      remediation:
        'Enable VT-d (Intel Virtualization Technology for Directed I/O) in the BIOS and boot with intel_iommu=on (the Intel IOMMU registers its units only when enabled).',
      details: ['kernel command line has no intel_iommu=', 'CPU vendor GenuineIntel'],
    });
    assert.equal(report.firstFailing?.id, 'hardware-iommu');
  });

  test('fail on AMD names AMD-Vi', () => {
    const { host, config } = goodHost();
    noIommu(host);
    host.writeProc('cpuinfo', 'processor\t: 0\nvendor_id\t: AuthenticAMD\n');
    assert.equal(resultOf(check(host, config), 'hardware-iommu').remediation, 'Enable AMD-Vi (IOMMU) in the BIOS.');
  });

  test('pass from IOMMU groups when /sys/class/iommu is empty or missing; skip when the root holds no evidence', () => {
    const { host, config } = goodHost();
    host.remove('class/iommu/dmar0');
    host.remove('class/iommu/dmar1');
    assert.deepEqual(pick(resultOf(check(host, config), 'hardware-iommu')), ['pass', 'IOMMU present: 8 IOMMU groups (/sys/class/iommu is empty)']);
    host.remove('class/iommu');
    host.remove('kernel');
    const r = resultOf(check(host, config), 'hardware-iommu');
    assert.equal(r.status, 'pass');
    assert.match(r.finding, /^IOMMU present: \d+ PCI functions with IOMMU groups \(\/sys\/class\/iommu is missing\)$/);
    host.remove('bus/pci/devices');
    mkdirSync(join(host.sys, 'bus/pci/devices'));
    assert.deepEqual(pick(resultOf(check(host, config), 'hardware-iommu')), ['skip', 'IOMMU state unknown: this root has neither /sys/class/iommu nor PCI functions']);
  });

  test('skip when the host scanner failed', () => {
    const { host, config } = goodHost();
    const snap = scan(host, config);
    const report = runChecks(viewOf({ ...snap, failedScanners: ['host'] }, { config, allocation: UNKNOWN_ALLOCATION }));
    assert.equal(resultOf(report, 'hardware-iommu').status, 'skip');
    assert.equal(resultOf(report, 'kernel-iommu').status, 'skip');
  });
});

describe('step 2: kernel IOMMU', () => {
  test('pass with groups', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'kernel-iommu').finding, 'IOMMU active: 8 IOMMU groups (DMA-FQ 8)');
  });

  test('fail: missing intel_iommu=on on an Intel CPU, explained by the cmdline', () => {
    const { host, config } = goodHost();
    emptyIommuGroups(host);
    host.writeProc('cmdline', 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro');
    const r = resultOf(check(host, config), 'kernel-iommu');
    assert.equal(r.status, 'fail');
    assert.equal(
      r.finding,
      'IOMMU not active: /sys/kernel/iommu_groups is empty; missing intel_iommu=on on an Intel CPU (needed unless the kernel is built with CONFIG_INTEL_IOMMU_DEFAULT_ON)',
    );
    assert.match(r.remediation ?? '', /^Boot with intel_iommu=on iommu=pt/);
  });

  test('fail on AMD with amd_iommu=on: recognised as not a valid value', () => {
    const { host, config } = goodHost();
    emptyIommuGroups(host);
    host.writeProc('cpuinfo', 'processor\t: 0\nvendor_id\t: AuthenticAMD\n');
    host.writeProc('cmdline', 'BOOT_IMAGE=/vmlinuz ro amd_iommu=on');
    const report = check(host, config);
    const r = resultOf(report, 'kernel-iommu');
    assert.equal(r.status, 'fail');
    assert.equal(r.finding, 'IOMMU not active: /sys/kernel/iommu_groups is empty; amd_iommu=on is not a valid value (the kernel ignores it; the AMD IOMMU is on by default)');
    assert.equal(resultOf(report, 'iommu-cmdline').status, 'warn');
  });

  test('fail explained by iommu=off', () => {
    const { host, config } = goodHost();
    emptyIommuGroups(host);
    host.writeProc('cmdline', 'ro intel_iommu=on iommu=off');
    const r = resultOf(check(host, config), 'kernel-iommu');
    assert.equal(r.finding, 'IOMMU not active: /sys/kernel/iommu_groups is empty; the kernel command line has iommu=off');
    assert.match(r.remediation ?? '', /Remove iommu=off from the kernel command line\.$/);
  });

  test('pass from the iommu_group links of PCI functions when /sys/kernel/iommu_groups is empty or the root has no /sys/kernel', () => {
    const { host, config } = goodHost();
    host.remove('kernel/iommu_groups');
    mkdirSync(join(host.sys, 'kernel/iommu_groups'));
    const empty = resultOf(check(host, config), 'kernel-iommu');
    assert.equal(empty.status, 'pass');
    assert.match(empty.finding, /^IOMMU active: \d+ PCI functions in \d+ IOMMU groups \(iommu_group links; \/sys\/kernel\/iommu_groups is empty\)$/);
    host.remove('kernel');
    assert.match(resultOf(check(host, config), 'kernel-iommu').finding, /\(iommu_group links; this root has no \/sys\/kernel\)$/);
    emptyIommuGroups(host);
    host.remove('kernel');
    const none = resultOf(check(host, config), 'kernel-iommu');
    assert.equal(none.status, 'fail');
    assert.match(none.finding, /^IOMMU not active: no PCI function has an iommu_group link \(this root has no \/sys\/kernel\); /);
  });

  test('iommu-cmdline: pass, warn for amd_iommu=on and unknown values, skip without /proc/cmdline', () => {
    const { host, config } = goodHost();
    assert.deepEqual(resultOf(check(host, config), 'iommu-cmdline'), {
      id: 'iommu-cmdline',
      step: 2,
      stepLabel: '2-kernel-iommu',
      title: 'IOMMU kernel arguments valid',
      status: 'pass',
      finding: 'IOMMU arguments valid: intel_iommu=on iommu=pt',
    });
    host.writeProc('cmdline', 'ro amd_iommu=on intel_iommu=yes');
    const warn = resultOf(check(host, config), 'iommu-cmdline');
    assert.equal(warn.status, 'warn');
    assert.equal(warn.finding, 'amd_iommu=on is not a valid value: the kernel ignores it (the AMD IOMMU is on by default once AMD-Vi is enabled in the BIOS)');
    assert.deepEqual(warn.details, ['intel_iommu=yes: not a valid value']);
    rmSync(join(host.proc, 'cmdline'));
    assert.equal(resultOf(check(host, config), 'iommu-cmdline').status, 'skip');
  });

  test('iommu-passthrough: skip without vfio-pci, pass with iommu=pt, warn without it', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'iommu-passthrough').finding, 'no VF is bound to vfio-pci');
    const vf = host.vfAddress(pfOf(host, 0), 1);
    host.moveVfNetdevToPod(vf);
    host.bindDriver(vf, 'vfio-pci');
    assert.deepEqual(
      { status: resultOf(check(host, config), 'iommu-passthrough').status, finding: resultOf(check(host, config), 'iommu-passthrough').finding },
      { status: 'pass', finding: '1 VF on vfio-pci; host devices in passthrough (iommu=pt)' },
    );
    host.writeProc('cmdline', 'ro intel_iommu=on');
    const r = resultOf(check(host, config), 'iommu-passthrough');
    assert.equal(r.status, 'warn');
    assert.equal(r.finding, '1 VF bound to vfio-pci and the IOMMU translates all host DMA: iommu=pt is advised');
  });
});

describe('step 3: hugepages', () => {
  test('skip without a config request', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'hugepages').finding, 'no hugepages requested in the config');
  });

  test('pass per NUMA node and system-wide', () => {
    const { host } = goodHost();
    const dirs = kubeletDirs(host);
    const perNuma = resultOf(check(host, configWith(dirs, { hugepages: { size: '1Gi', count: 8, perNuma: true } })), 'hugepages');
    assert.deepEqual(perNuma, {
      id: 'hugepages',
      step: 3,
      stepLabel: '3-hugepages',
      title: 'Hugepages configured',
      status: 'pass',
      finding: '8 or more 1Gi hugepages on each of 2 NUMA nodes',
      details: ['node0: 8 x 1Gi', 'node1: 8 x 1Gi'],
    });
    assert.equal(resultOf(check(host, configWith(dirs, { hugepages: { size: '1Gi', count: 16 } })), 'hugepages').finding, '16 1Gi hugepages (wanted 16)');
  });

  test('fail: too few per node, too few in total, size absent', () => {
    const { host } = goodHost();
    const dirs = kubeletDirs(host);
    const perNode = resultOf(check(host, configWith(dirs, { hugepages: { size: '1Gi', count: 10, perNuma: true } })), 'hugepages');
    assert.equal(perNode.status, 'fail');
    assert.equal(perNode.finding, '2 of 2 NUMA nodes have fewer than 10 1Gi hugepages');
    assert.equal(resultOf(check(host, configWith(dirs, { hugepages: { size: '1Gi', count: 32 } })), 'hugepages').finding, '16 1Gi hugepages, wanted 32');
    const absent = resultOf(check(host, configWith(dirs, { hugepages: { size: '2Mi', count: 1024 } })), 'hugepages');
    assert.deepEqual([absent.status, absent.finding, absent.details], ['fail', 'no 2Mi hugepage pool (wanted 1024)', ['pools present: 1Gi']]);
  });
});

describe('step 4: RDMA core', () => {
  test('rdma-devices fails for a ConnectX PF without its RDMA device', () => {
    const { host, config } = goodHost();
    const pf = pfOf(host, 1);
    host.remove(`${host.devPath(pf)}/infiniband`);
    host.remove('class/infiniband/mlx5_1');
    host.setModule('mlx5_ib', 'absent');
    const report = check(host, config);
    const r = resultOf(report, 'rdma-devices');
    assert.deepEqual(
      { status: r.status, finding: r.finding, remediation: r.remediation, details: r.details },
      {
        status: 'fail',
        finding: '1 of 2 RDMA-capable NICs have no RDMA device',
        remediation: 'modprobe mlx5_ib and persist it in /etc/modules-load.d; check dmesg for probe errors.',
        details: [`ens2f0np0 (${pf}): driver mlx5_core, same driver as the rail NICs, no RDMA device`, 'module mlx5_ib is not loaded'],
      },
    );
    assert.equal(resultOf(report, 'rail-count').status, 'fail');
  });

  test('rdma-devices does not judge a front-end NIC of another driver (E810 next to ConnectX rails)', () => {
    const { host, config } = goodHost();
    host.addPf({ address: '0000:c1:00.0', hostBridge: 'pci0000:c0', upstream: ['0000:c0:01.0'], vendor: '0x8086', device: '0x159b', driver: 'ice', totalVfs: 64, netdev: { name: 'ens9f0' } });
    const r = resultOf(check(host, config), 'rdma-devices');
    assert.equal(r.status, 'pass', r.finding);
  });

  test('rdma-devices fails for a PF named in the rail map that has no RDMA device', () => {
    const { host } = goodHost();
    const pf = pfOf(host, 1);
    host.remove(`${host.devPath(pf)}/infiniband`);
    host.remove('class/infiniband/mlx5_1');
    const config = configWith(kubeletDirs(host), { rails: { ens1f0np0: 0, ens2f0np0: 1 } });
    const r = resultOf(check(host, config), 'rdma-devices');
    assert.equal(r.status, 'fail');
    assert.deepEqual(r.details, [`ens2f0np0 (${pf}): driver mlx5_core, named in the config rail map, no RDMA device`]);
  });

  test('pass and skip', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'rdma-devices').finding, '2 RDMA-capable NICs with RDMA devices: mlx5_0, mlx5_1');
    const bare = track(new FixtureHost());
    const report = check(bare, configWith(undefined));
    assert.equal(resultOf(report, 'rdma-devices').finding, 'no RDMA-capable NIC found: this host has no rails');
    assert.equal(resultOf(report, 'verbs-abi').finding, 'no RDMA device on this host');
  });

  test('verbs-abi: pass, fail without ib_uverbs', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'verbs-abi').finding, 'verbs ABI version 6');
    host.remove('class/infiniband_verbs');
    host.setModule('ib_uverbs', 'absent');
    const r = resultOf(check(host, config), 'verbs-abi');
    assert.deepEqual(
      [r.status, r.finding, r.details],
      ['fail', 'no /sys/class/infiniband_verbs/abi_version: the user-space verbs interface is missing', ['module ib_uverbs is not loaded']],
    );
  });
});

describe('step 5: NIC driver and VFs', () => {
  test('skip everything without rails', () => {
    const bare = track(new FixtureHost());
    const report = check(bare, configWith(undefined));
    for (const id of ['pf-driver', 'sriov-enabled', 'vfs-desired', 'vf-functions-present', 'vf-drivers-bound', 'vf-netdevs-visible']) {
      assert.equal(resultOf(report, id).status, 'skip', id);
    }
  });

  test('pf-driver fails for an unbound PF', () => {
    const { host, config } = goodHost();
    const pf = pfOf(host, 0);
    host.bindDriver(pf, null);
    const r = resultOf(check(host, config), 'pf-driver');
    assert.deepEqual([r.status, r.finding, r.details], ['fail', '1 of 2 rail PFs have no driver bound', [`${pf} (vendor 0x15b3 device 0x1021): no driver`]]);
  });

  test('sriov-enabled: fail at 0 VFs, pass when desiredVfs is 0', () => {
    const host = track(buildDgxHost({ rails: 2, vfsPerPf: 0 }));
    const dirs = kubeletDirs(host);
    const report = check(host, configWith(dirs));
    const r = resultOf(report, 'sriov-enabled');
    assert.deepEqual(
      [r.status, r.finding, r.details],
      ['fail', 'SR-IOV not enabled on 2 of 2 rail PFs', ['ens1f0np0: sriov_numvfs is 0 (of 16)', 'ens2f0np0: sriov_numvfs is 0 (of 16)']],
    );
    assert.equal(resultOf(report, 'vf-functions-present').status, 'skip');
    assert.equal(resultOf(check(host, configWith(dirs, { desiredVfs: 0 })), 'sriov-enabled').finding, 'desiredVfs is 0 for all 2 rail PFs');
  });

  test('sriov-enabled fails when the firmware exposes no VFs', () => {
    const host = track(buildDgxHost({ rails: 2, vfsPerPf: 0 }));
    host.replace(`${host.devPath(pfOf(host, 0))}/sriov_totalvfs`, '0');
    const r = resultOf(check(host, configWith(kubeletDirs(host))), 'sriov-enabled');
    assert.deepEqual(r.details, ['ens1f0np0: sriov_totalvfs is 0 (SR-IOV disabled in the NIC firmware)', 'ens2f0np0: sriov_numvfs is 0 (of 16)']);
  });

  test('vfs-desired: skip, pass, fail per PF and per rail', () => {
    const { host } = goodHost();
    const dirs = kubeletDirs(host);
    assert.equal(resultOf(check(host, configWith(dirs)), 'vfs-desired').status, 'skip');
    assert.equal(resultOf(check(host, configWith(dirs, { desiredVfs: 2 })), 'vfs-desired').finding, '2 PFs at the desired VF count (2)');
    const r = resultOf(check(host, configWith(dirs, { desiredVfs: { all: 2, rails: { '1': 32 } } })), 'vfs-desired');
    assert.deepEqual([r.status, r.finding, r.details], ['fail', '1 of 2 PFs not at the desired VF count', ['ens2f0np0: sriov_numvfs 2, desired 32 (exceeds sriov_totalvfs 16)']]);
  });

  test('vf-functions-present fails for a missing VF function and a dangling virtfn link', () => {
    const { host, config } = goodHost();
    const pf0 = pfOf(host, 0);
    const pf1 = pfOf(host, 1);
    host.removeVf(pf0, 1);
    const vf = host.vfAddress(pf1, 0);
    host.remove(host.devPath(vf));
    const r = resultOf(check(host, config), 'vf-functions-present');
    assert.deepEqual(
      [r.status, r.finding, r.details],
      [
        'fail',
        'VF PCI functions missing on 2 PFs',
        ['ens1f0np0: sriov_numvfs 2, 1 VF function present', 'ens2f0np0: sriov_numvfs 2, 1 VF function present, 1 dangling virtfn link'],
      ],
    );
  });

  test('vf-drivers-bound fails for an unbound VF', () => {
    const { host, config } = goodHost();
    const vf = host.vfAddress(pfOf(host, 1), 1);
    host.moveVfNetdevToPod(vf);
    host.bindDriver(vf, null);
    const report = check(host, config);
    const r = resultOf(report, 'vf-drivers-bound');
    assert.deepEqual([r.status, r.finding, r.details], ['fail', '1 of 4 VFs have no driver bound', [`${vf} (vf1 of ens2f0np0): no driver`]]);
    // an unbound VF has no netdev by design: not counted again as a missing netdev
    assert.equal(resultOf(report, 'vf-netdevs-visible').status, 'pass');
  });

  test('vf-netdevs-visible: warn when allocation is unknown, pass when a pod owns it, fail when nobody does', () => {
    const { host, config } = goodHost();
    const vf = host.vfAddress(pfOf(host, 0), 1);
    host.moveVfNetdevToPod(vf);
    const unknown = resultOf(check(host, config), 'vf-netdevs-visible');
    assert.equal(unknown.status, 'warn');
    assert.equal(unknown.finding, '1 of 4 VFs have no netdev in the host namespace; allocation could not be checked (kubelet not queried)');
    assert.deepEqual(unknown.details, [`${vf} (vf1 of ens1f0np0, driver mlx5_core): no netdev`]);

    const owned = resultOf(
      check(host, config, { allocations: [{ resourceName: 'nvidia.com/rdma_vf', deviceId: vf, pod: 'train-0', namespace: 'ml', container: 'main' }] }),
      'vf-netdevs-visible',
    );
    assert.deepEqual(
      { status: owned.status, finding: owned.finding, details: owned.details },
      { status: 'pass', finding: '4 VFs: 3 netdevs in the host namespace, 1 allocated to pods, 0 on user-space drivers', details: [`allocated to pods: ${vf} -> ml/train-0`] },
    );

    const lost = resultOf(check(host, config, { allocations: [] }), 'vf-netdevs-visible');
    assert.equal(lost.status, 'fail');
    assert.equal(lost.finding, '1 VF netdevs missing from /sys/class/net and not allocated to any pod (4 VFs: 3 netdevs in the host namespace, 0 allocated to pods, 0 on user-space drivers)');
  });

  test('vf-netdevs-visible: vfio-pci VFs need no netdev', () => {
    const { host, config } = goodHost();
    const vf = host.vfAddress(pfOf(host, 0), 0);
    host.moveVfNetdevToPod(vf);
    host.bindDriver(vf, 'vfio-pci');
    const r = resultOf(check(host, config, { allocations: [] }), 'vf-netdevs-visible');
    assert.deepEqual([r.status, r.finding], ['pass', '4 VFs: 3 netdevs in the host namespace, 0 allocated to pods, 1 on user-space drivers']);
  });

  test('vf-netdevs-visible: DPDK VFs on igb_uio / uio_pci_generic need no netdev either', () => {
    const { host, config } = goodHost();
    const pf = pfOf(host, 0);
    for (const [n, driver] of [[0, 'igb_uio'], [1, 'uio_pci_generic']] as const) {
      const vf = host.vfAddress(pf, n);
      host.moveVfNetdevToPod(vf);
      host.bindDriver(vf, driver);
    }
    const r = resultOf(check(host, config, { allocations: [] }), 'vf-netdevs-visible');
    assert.deepEqual([r.status, r.finding], ['pass', '4 VFs: 2 netdevs in the host namespace, 0 allocated to pods, 2 on user-space drivers']);
  });
});

describe('step 6: links', () => {
  function portDir(host: FixtureHost, k: number): string {
    return `${host.devPath(pfOf(host, k))}/infiniband/mlx5_${k}/ports/1`;
  }

  test('rail-ports-active fails for a DOWN port', () => {
    const { host, config } = goodHost();
    host.replace(`${portDir(host, 1)}/state`, '1: DOWN');
    host.replace(`${portDir(host, 1)}/phys_state`, '2: Polling');
    const report = check(host, config);
    const r = resultOf(report, 'rail-ports-active');
    assert.deepEqual([r.status, r.finding, r.details], ['fail', '1 of 2 rail ports not ACTIVE/LinkUp', ['rail 1 mlx5_1 port 1: DOWN/Polling']]);
    // the down port's rate is not judged
    assert.equal(resultOf(report, 'rail-rate').finding, '1 active rail port at 400 Gb/s (the fastest rail)');
  });

  test('rail-rate: warn below the fastest rail, fail below expectedRateGbps', () => {
    const { host, config } = goodHost();
    host.replace(`${portDir(host, 0)}/rate`, '200 Gb/sec (4X HDR)');
    const inferred = resultOf(check(host, config), 'rail-rate');
    assert.deepEqual(
      [inferred.status, inferred.finding, inferred.details],
      ['warn', '1 of 2 active rail ports below 400 Gb/s (the fastest rail)', ['rail 0 mlx5_0 port 1: 200 Gb/s (200 Gb/sec (4X HDR))']],
    );
    const configured = resultOf(check(host, configWith(kubeletDirs(host), { expectedRateGbps: 400 })), 'rail-rate');
    assert.deepEqual([configured.status, configured.finding], ['fail', '1 of 2 active rail ports below 400 Gb/s (expectedRateGbps)']);
  });

  test('rail-mtu: fail when MTUs differ or miss expectedMtu', () => {
    const { host, config } = goodHost();
    host.replace(`${host.devPath(pfOf(host, 1))}/net/ens2f0np0/mtu`, '1500');
    const r = resultOf(check(host, config), 'rail-mtu');
    assert.deepEqual([r.status, r.finding, r.details], ['fail', 'MTU differs across rails: 9000 on 1, 1500 on 1', ['mtu 9000: ens1f0np0', 'mtu 1500: ens2f0np0']]);
    const want = resultOf(check(host, configWith(kubeletDirs(host), { expectedMtu: 9000 })), 'rail-mtu');
    assert.deepEqual([want.status, want.finding, want.details], ['fail', '1 of 2 rail netdevs not at MTU 9000 (expectedMtu)', ['ens2f0np0: mtu 1500']]);
  });

  test('rail-firmware: warn when versions differ, skip with one rail', () => {
    const { host, config } = goodHost();
    host.replace(`${host.devPath(pfOf(host, 1))}/infiniband/mlx5_1/fw_ver`, '28.40.1000');
    const r = resultOf(check(host, config), 'rail-firmware');
    assert.deepEqual([r.status, r.finding], ['warn', 'firmware differs across rails: 28.39.1002 on 1, 28.40.1000 on 1']);
    const one = goodHost({ rails: 1 });
    assert.deepEqual(
      [resultOf(check(one.host, one.config), 'rail-firmware').status, resultOf(check(one.host, one.config), 'rail-firmware').finding],
      ['skip', 'fewer than two rails with a firmware version (1)'],
    );
  });

  test('pcie-link: warn for a NIC below its width, GPU speed drop at idle is not judged', () => {
    const { host, config } = goodHost();
    host.replace(`${host.devPath(gpuOf(0))}/current_link_speed`, '2.5 GT/s PCIe');
    assert.equal(resultOf(check(host, config), 'pcie-link').status, 'pass');
    host.replace(`${host.devPath(pfOf(host, 1))}/current_link_width`, '8');
    const r = resultOf(check(host, config), 'pcie-link');
    assert.deepEqual(
      [r.status, r.finding, r.details],
      ['warn', '1 of 4 PCIe links below maximum speed or width', [`rail 1 NIC ${pfOf(host, 1)}: 32 GT/s x8 (max 32 GT/s x16)`]],
    );
  });

  test('skip without rails', () => {
    const bare = track(new FixtureHost());
    const report = check(bare, configWith(undefined));
    for (const id of ['rail-ports-active', 'rail-rate', 'rail-mtu', 'rail-firmware', 'pcie-link']) assert.equal(resultOf(report, id).status, 'skip', id);
  });
});

describe('step 7: GPU stack', () => {
  test('skip without GPUs', () => {
    const { host, config } = goodHost({ gpus: false });
    const report = check(host, config);
    for (const id of ['gpu-driver', 'gpu-peermem', 'gpu-rail-affinity', 'pcie-acs']) assert.equal(resultOf(report, id).status, 'skip', id);
    assert.equal(resultOf(report, 'gpu-driver').finding, 'no NVIDIA GPU on this host');
    // no GPUs and no expectedRails: nothing to compare the rail count with
    assert.equal(resultOf(report, 'rail-count').status, 'skip');
  });

  test('gpu-driver: fail without the nvidia module, fail for a GPU on nouveau', () => {
    const { host, config } = goodHost();
    host.setModule('nvidia', 'absent');
    // a GPU still bound to nvidia would prove the module loaded: without the module they are unbound
    host.bindDriver(gpuOf(0), null);
    host.bindDriver(gpuOf(1), null);
    const r = resultOf(check(host, config), 'gpu-driver');
    assert.deepEqual([r.status, r.finding], ['fail', '2 NVIDIA GPUs and the nvidia module is not loaded']);
    host.bindDriver(gpuOf(0), 'nvidia');
    host.bindDriver(gpuOf(1), 'nvidia');
    assert.equal(resultOf(check(host, config), 'gpu-driver').status, 'pass', 'bound GPUs are the evidence of a loaded module');
    host.setModule('nvidia', 'live');
    host.bindDriver(gpuOf(1), 'nouveau');
    const n = resultOf(check(host, config), 'gpu-driver');
    assert.deepEqual([n.status, n.finding, n.details], ['fail', '1 of 2 NVIDIA GPUs not bound to the nvidia driver', [`${gpuOf(1)}: driver nouveau`]]);
  });

  test('gpu-driver: a GPU bound to nvidia proves the module loaded when the root has no /sys/module', () => {
    const { host, config } = goodHost();
    host.remove('module');
    assert.deepEqual(pick(resultOf(check(host, config), 'gpu-driver')), ['pass', 'nvidia driver loaded, 2 GPUs bound']);
    host.bindDriver(gpuOf(0), 'nouveau');
    host.bindDriver(gpuOf(1), 'nouveau');
    assert.deepEqual(pick(resultOf(check(host, config), 'gpu-driver')), ['fail', '2 NVIDIA GPUs, none bound to the nvidia driver (no /sys/module in this root)']);
  });

  test('gpu-peermem: warn when not loaded', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'gpu-peermem').finding, 'nvidia_peermem loaded');
    host.setModule('nvidia_peermem', 'absent');
    const r = resultOf(check(host, config), 'gpu-peermem');
    assert.deepEqual([r.status, r.finding], ['warn', 'nvidia_peermem is not loaded: GPUDirect RDMA is unavailable unless NCCL uses DMA-BUF']);
  });

  test('gpu-rail-affinity: warn for a GPU whose closest rail NIC is across the CPU interconnect', () => {
    const { host } = goodHost();
    host.addPci({ address: '0000:c1:00.0', hostBridge: 'pci0000:c0', upstream: ['0000:c0:01.0'], vendor: '0x10de', device: '0x2330', class: '0x030200', driver: 'nvidia' });
    const report = check(host, configWith(kubeletDirs(host), { expectedRails: 2 }));
    const r = resultOf(report, 'gpu-rail-affinity');
    assert.deepEqual(
      [r.status, r.finding, r.details],
      [
        'warn',
        '1 of 3 GPUs have no rail NIC under the same PCIe switch (1 across the CPU interconnect)',
        ['GPU 0000:c1:00.0: closest rail 0 (ens1f0np0) SYS, across the CPU interconnect'],
      ],
    );
  });

  test('pcie-acs: warn with redirection, pass without, skip when only 64 bytes are readable or config is absent', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'pcie-acs').finding, 'no ACS redirection on 4 bridges between GPUs and rail NICs');
    const bridges = writeBridgeConfigs(host, config, (b) => (b.endsWith(':00.0') ? acsConfig(0x001d) : acsConfig(0x0001)));
    const r = resultOf(check(host, config), 'pcie-acs');
    const redirecting = bridges.filter((b) => b.endsWith(':00.0'));
    assert.equal(r.status, 'warn');
    assert.equal(r.finding, `ACS redirection enabled on ${redirecting.length} of 4 bridges between GPUs and rail NICs`);
    assert.deepEqual(
      r.details,
      redirecting.map((b) => `${b}: ACS RequestRedirect, CompletionRedirect, UpstreamForwarding enabled (control 0x001d)`),
    );
    writeBridgeConfigs(host, config, () => Buffer.alloc(64));
    assert.deepEqual(
      [resultOf(check(host, config), 'pcie-acs').status, resultOf(check(host, config), 'pcie-acs').finding],
      ['skip', 'PCI config space past 64 bytes is readable only as root (CAP_SYS_ADMIN): ACS not checked'],
    );
    const fresh = track(buildDgxHost({ rails: 2, vfsPerPf: 2 }));
    const f = resultOf(check(fresh, configWith(kubeletDirs(fresh))), 'pcie-acs');
    assert.equal(f.status, 'skip');
    assert.match(f.finding, /^bridge config space unreadable: ACS not checked \(.*config ENOENT/);
  });
});

describe('step 8: device plugin', () => {
  test('pass with an SR-IOV plugin socket, fail with only other sockets, skip without the directory', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'device-plugin').finding, `device plugin socket in ${config.kubelet.devicePluginsDir}: sriov_rdma.sock`);
    const other = track(buildDgxHost({ rails: 2, vfsPerPf: 2 }));
    const otherCfg = configWith(kubeletDirs(other, { sockets: ['kubelet.sock', 'nvidia-gpu.sock'] }));
    const r = resultOf(check(other, otherCfg), 'device-plugin');
    assert.deepEqual(
      [r.status, r.finding, r.details],
      ['fail', `no SR-IOV or RDMA device plugin socket in ${otherCfg.kubelet.devicePluginsDir}`, ['other plugin sockets: nvidia-gpu.sock']],
    );
    const none = resultOf(check(other, configWith(undefined)), 'device-plugin');
    assert.deepEqual(
      [none.status, none.finding],
      ['skip', 'kubelet device-plugins directory /nonexistent/device-plugins not found: not on a kubelet node or not mounted'],
    );
  });

  test('skip without rails even when the directory exists', () => {
    const bare = track(new FixtureHost());
    assert.equal(resultOf(check(bare, configWith(kubeletDirs(bare))), 'device-plugin').finding, 'no rails: no SR-IOV or RDMA device to advertise');
  });
});

describe('step 9: CNI', () => {
  test('cni-multus: pass by name and by conflist type, fail without Multus', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'cni-multus').finding, `Multus configured in ${config.cni.confDir}: 00-multus.conf`);
    const byType = track(buildDgxHost({ rails: 2, vfsPerPf: 2 }));
    const conflist = { cniVersion: '1.0.0', name: 'k8s', plugins: [{ type: 'multus', kubeconfig: '/etc/cni/net.d/k.kubeconfig' }] };
    const cfg = configWith(kubeletDirs(byType, { conf: { '10-net.conflist': JSON.stringify(conflist), 'broken.conf': '{' } }));
    assert.equal(resultOf(check(byType, cfg), 'cni-multus').finding, `Multus configured in ${cfg.cni.confDir}: 10-net.conflist`);
    const none = track(buildDgxHost({ rails: 2, vfsPerPf: 2 }));
    const noneCfg = configWith(kubeletDirs(none, { conf: { '10-calico.conflist': JSON.stringify({ plugins: [{ type: 'calico' }] }) } }));
    const r = resultOf(check(none, noneCfg), 'cni-multus');
    assert.deepEqual([r.status, r.finding, r.details], ['fail', `no Multus configuration in ${noneCfg.cni.confDir}`, ['entries: 10-calico.conflist']]);
  });

  test('cni-sriov: pass with sriov or ib-sriov, fail without, skip without the directory', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'cni-sriov').finding, `sriov CNI in ${config.cni.binDir}`);
    const ib = track(buildDgxHost({ rails: 2, vfsPerPf: 2, linkLayer: 'InfiniBand' }));
    const ibCfg = configWith(kubeletDirs(ib, { bins: ['ib-sriov', 'multus'] }));
    assert.equal(resultOf(check(ib, ibCfg), 'cni-sriov').finding, `ib-sriov CNI in ${ibCfg.cni.binDir}`);
    const none = track(buildDgxHost({ rails: 2, vfsPerPf: 2 }));
    const noneCfg = configWith(kubeletDirs(none, { bins: ['bridge', 'multus'] }));
    const r = resultOf(check(none, noneCfg), 'cni-sriov');
    assert.deepEqual([r.status, r.finding, r.details], ['fail', `no sriov CNI binary in ${noneCfg.cni.binDir}`, ['binaries: bridge, multus']]);
    const skip = resultOf(check(none, configWith(undefined)), 'cni-sriov');
    assert.deepEqual([skip.status, skip.finding], ['skip', 'CNI bin directory /nonexistent/bin not found: not on a kubelet node or not mounted']);
  });
});

describe('step 10: rail count', () => {
  test('pass against the GPU count and expectedRails, fail otherwise', () => {
    const { host, config } = goodHost();
    assert.equal(resultOf(check(host, config), 'rail-count').finding, '2 rails, as expected (the GPU count)');
    const r = resultOf(check(host, configWith(kubeletDirs(host), { expectedRails: 4 })), 'rail-count');
    assert.deepEqual(
      { status: r.status, finding: r.finding, details: r.details },
      {
        status: 'fail',
        finding: '2 rails, expected 4 (expectedRails)',
        details: ['rail 0: ens1f0np0 (mlx5_0) [gpu-affinity]', 'rail 1: ens2f0np0 (mlx5_1) [gpu-affinity]'],
      },
    );
    const noGpu = goodHost({ gpus: false }, { expectedRails: 2 });
    assert.equal(resultOf(check(noGpu.host, noGpu.config), 'rail-count').finding, '2 rails, as expected (expectedRails)');
  });
});
