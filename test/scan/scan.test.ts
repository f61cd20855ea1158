import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkfifoSync } from './fifo.ts';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runScan, runScanYielding, scanNode, snapshotToJson } from '../../agent/scan/registry.ts';
import { viewOf } from '../helpers/view.ts';
import { rescanNode, rescanNodeYielding } from '../../agent/scan/rescan.ts';
import type { NodeSnapshot } from '../../agent/model.ts';
import { buildBroadcomHost, buildDgxHost, buildE810Host, FixtureHost, loadCaptureFile, MLX5_COUNTERS } from '../helpers/fixture-host.ts';

function scan(host: FixtureHost, rails: Record<string, number> = {}): NodeSnapshot {
  return scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails }, now: () => 1_700_000_000_000 });
}

test('DGX-like 2-rail RoCE host: PFs, VFs and rails as whole objects', (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 3, vfNetdevsInHost: 2 });
  t.after(() => host.cleanup());
  const s = scan(host);
  assert.deepEqual(s.issues, []);
  assert.deepEqual(s.failedScanners, []);
  assert.deepEqual(s.pfs[0], {
    pci: '0000:16:00.0',
    netdev: 'ens1f0np0',
    netdevs: ['ens1f0np0'],
    sriovCapable: true,
    totalVfs: 16,
    numVfs: 3,
    offset: 2,
    stride: 1,
    vfDevice: '0x101e',
    driver: 'mlx5_core',
    vendor: '0x15b3',
    device: '0x1021',
    class: '0x020000',
    numaNode: 0,
    rdmaDevices: ['mlx5_0'],
    linkLayer: 'Ethernet',
    rail: 0,
    vfLinksDangling: 0,
    vfs: [
      { index: 0, pci: '0000:16:00.2', driver: 'mlx5_core', netdev: 'ens1f0np0v0' },
      { index: 1, pci: '0000:16:00.3', driver: 'mlx5_core', netdev: 'ens1f0np0v1' },
      { index: 2, pci: '0000:16:00.4', driver: 'mlx5_core' },
    ],
  });
  assert.deepEqual(
    s.rails.map((r) => ({ ...r })),
    [
      { rail: 0, pf: '0000:16:00.0', netdev: 'ens1f0np0', rdma: 'mlx5_0', gpu: '0000:15:00.0', distance: 'PIX', source: 'gpu-affinity' },
      { rail: 1, pf: '0000:1e:00.0', netdev: 'ens2f0np0', rdma: 'mlx5_1', gpu: '0000:1d:00.0', distance: 'PIX', source: 'gpu-affinity' },
    ],
  );
  assert.deepEqual(s.topology, { gpus: ['0000:15:00.0', '0000:1d:00.0'], nics: ['0000:16:00.0', '0000:1e:00.0'], distance: [['PIX', 'PXB'], ['PXB', 'PIX']] });
  const port = s.rdmaDevices[0]?.ports[0];
  assert.equal(port?.state, 'ACTIVE');
  assert.equal(port?.physState, 'LinkUp');
  assert.equal(port?.rateBitsPerSecond, 400e9);
  assert.deepEqual(port?.gidTypes, ['IB/RoCE v1', 'RoCE v2']);
  assert.equal(port?.netdev, 'ens1f0np0');
  assert.equal(Object.keys(port?.counters ?? {}).length, Object.keys(MLX5_COUNTERS).length);
  assert.equal(port?.hwCounters['lifespan'], 12n);
  assert.equal(s.gpus.length, 2);
  assert.deepEqual(s.gpus[0]?.upstream, ['0000:10:01.0', '0000:11:00.0', '0000:12:00.0', '0000:13:00.0', '0000:14:00.0']);
  assert.equal(s.host.cpuVendor, 'GenuineIntel');
  assert.equal(s.host.kernelArgs['intel_iommu'], 'on');
  assert.deepEqual(s.host.iommu, { units: ['dmar0', 'dmar1'], groups: 8, groupTypes: { 'DMA-FQ': 8 } });
  assert.deepEqual(s.host.hugepages, [{ sizeKb: 1048576, total: 16, free: 16, perNode: { '0': 8, '1': 8 } }]);
  assert.equal(s.host.modules['nvidia_peermem']?.loaded, true);
  assert.equal(s.host.modules['bnxt_re']?.loaded, false);
  assert.equal(s.host.verbsAbiVersion, 6);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.pfs[0]?.vfs[0]), 'snapshot is immutable');
});

test('rail numbering: config map beats GPU affinity; no GPUs gives PCI order; a NIC without RDMA is not a rail', (t) => {
  const host = buildDgxHost({ rails: 4, vfsPerPf: 0, extras: true });
  t.after(() => host.cleanup());
  const byMap = scan(host, { ens4f0np0: 0, '0000:16:00.0': 3 });
  assert.deepEqual(byMap.rails.map((r) => [r.rail, r.netdev, r.source]), [
    [0, 'ens4f0np0', 'config'],
    [3, 'ens1f0np0', 'config'],
  ]);
  assert.equal(byMap.pfs.find((p) => p.netdev === 'ens2f0np0')?.rail, undefined);
  const affinity = scan(host);
  assert.deepEqual(affinity.rails.map((r) => r.netdev), ['ens1f0np0', 'ens2f0np0', 'ens3f0np0', 'ens4f0np0']);
  // eno1 (ixgbe, no RDMA, no SR-IOV) is neither a PF nor a rail
  assert.equal(affinity.pfs.some((p) => p.netdev === 'eno1'), false);
  const noGpus = buildDgxHost({ rails: 3, vfsPerPf: 0, gpus: false });
  t.after(() => noGpus.cleanup());
  const s = scan(noGpus);
  assert.deepEqual(s.rails.map((r) => [r.rail, r.pf, r.source]), [
    [0, '0000:16:00.0', 'pci-order'],
    [1, '0000:1e:00.0', 'pci-order'],
    [2, '0000:36:00.0', 'pci-order'],
  ]);
});

test('InfiniBand-mode node: class 0x020700, IB link layer, LID', (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2, linkLayer: 'InfiniBand' });
  t.after(() => host.cleanup());
  const s = scan(host);
  assert.equal(s.pfs[0]?.class, '0x020700');
  assert.equal(s.pfs[0]?.linkLayer, 'InfiniBand');
  assert.equal(s.rails.length, 2);
  assert.equal(s.rdmaDevices[0]?.ports[0]?.lid, 0x12);
  assert.equal(s.rdmaDevices[0]?.ports[0]?.netdev, undefined);
});

test('Broadcom bnxt_re and Intel E810/irdma: vendor-neutral counters by name, spaces included', (t) => {
  const host = buildBroadcomHost();
  t.after(() => host.cleanup());
  // both NICs in one tree: the E810 host's tree is merged into the Broadcom one
  const intel = buildE810Host();
  t.after(() => intel.cleanup());
  cpSync(intel.sys, host.sys, { recursive: true, verbatimSymlinks: true, force: false, errorOnExist: false });
  const s = scan(host);
  assert.deepEqual(s.issues, []);
  const bnxt = s.rdmaDevices.find((d) => d.name === 'bnxt_re0');
  assert.deepEqual(bnxt?.ports[0]?.hwCounters, { active_qps: 3n, lifespan: 10n, oos_drop_count: 0n, to_retransmits: 17n, tx_cnp_pkts: 5n });
  assert.equal(bnxt?.hcaType, undefined);
  const irdma = s.rdmaDevices.find((d) => d.name === 'irdma0');
  assert.equal(irdma?.nodeType, 'RNIC');
  assert.equal(irdma?.ports[0]?.hwCounters['rx ecn marked'], 4n);
  const e810 = s.pfs.find((p) => p.pci === '0000:51:00.0');
  assert.deepEqual(e810?.vfs, [
    { index: 0, pci: '0000:51:01.0', driver: 'iavf' },
    { index: 1, pci: '0000:51:01.1', driver: 'vfio-pci' },
    { index: 2, pci: '0000:51:01.2' },
  ]);
  assert.equal(e810?.vfDevice, '0x1889');
  // VF PCI functions inherit their PF's identity
  assert.deepEqual(
    s.pci.filter((f) => f.physfn === '0000:51:00.0').map((f) => [f.address, f.vendor, f.device, f.numaNode]),
    [['0000:51:01.0', '0x8086', '0x1889', 1], ['0000:51:01.1', '0x8086', '0x1889', 1], ['0000:51:01.2', '0x8086', '0x1889', 1]],
  );
  assert.deepEqual(s.rails.map((r) => r.rdma), ['bnxt_re0', 'irdma0']);
});

test('bad input: each problem is one counted skip, never a crash or a fake 0', (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 3 });
  t.after(() => host.cleanup());
  const pf = '0000:16:00.0';
  const pfPath = host.devPath(pf);
  const port = 'class/infiniband/mlx5_0/ports/1';
  host.write(`${port}/counters/port_xmit_data`, 'N/A (no PMA)');
  host.write(`${port}/counters/symbol_error`, 'garbage');
  host.write(`${port}/counters/port_rcv_data`, '18446744073709551615');
  host.write(`${port}/hw_counters/out_of_buffer`, '9007199254740993');
  host.write(`${pfPath}/numa_node`, '-1');
  host.write(`${pfPath}/sriov_totalvfs`, '');
  host.write(`${pfPath}/current_link_speed`, 'Unknown');
  host.write(`${port}/rate`, 'fast');
  // dangling virtfn link: the VF directory vanished
  host.remove(host.devPath(host.vfAddress(pf, 2)));
  // a symlink loop and a dangling bus link
  symlinkSync('loop2', join(host.sys, 'bus/pci/devices/loop1'));
  symlinkSync('loop1', join(host.sys, 'bus/pci/devices/loop2'));
  symlinkSync('../../../devices/pci0000:99/0000:99:00.0', join(host.sys, 'bus/pci/devices/0000:99:00.0'));
  // a FIFO where an attribute should be: must not block
  host.remove(`${pfPath}/subsystem_device`);
  mkfifoSync(join(host.sys, `${pfPath}/subsystem_device`));
  // a directory where a file should be
  host.remove(`${pfPath}/sriov_stride`);
  mkdirSync(join(host.sys, `${pfPath}/sriov_stride`));
  const s = scan(host);
  const p = s.rdmaDevices[0]?.ports[0];
  assert.equal(p?.counters['port_xmit_data'], undefined, 'N/A is absent, not 0');
  assert.equal(p?.counters['symbol_error'], undefined);
  assert.equal(p?.counters['port_rcv_data'], 18446744073709551615n);
  assert.equal(p?.hwCounters['out_of_buffer'], 9007199254740993n);
  assert.equal(p?.rateBitsPerSecond, undefined);
  assert.equal(p?.rate, 'fast');
  const got = s.pfs.find((x) => x.pci === pf);
  assert.equal(got?.numaNode, undefined);
  assert.equal(got?.sriovCapable, false, 'an empty sriov_totalvfs is unreadable, so SR-IOV capability is unknown');
  const codes = s.issues.map((i) => `${i.scanner}:${i.path.split('/').slice(-1)[0]}:${i.code}`).sort();
  assert.deepEqual(codes, [
    'infiniband:port_xmit_data:UNSUPPORTED',
    'infiniband:rate:PARSE',
    'infiniband:symbol_error:PARSE',
    'pci:0000:16:00.4:ENOENT',
    'pci:0000:99:00.0:ENOENT',
    'pci:loop1:PARSE',
    'pci:loop2:PARSE',
    'pci:subsystem_device:PARSE',
    'sriov:sriov_totalvfs:PARSE',
  ]);
  // the JSON keeps 64-bit counters exact
  assert.match(snapshotToJson(s, 0), /"port_rcv_data":18446744073709551615/);
});

test('VFs bound to vfio-pci and VF netdevs moved into pod namespaces', (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 4 });
  t.after(() => host.cleanup());
  const pf = '0000:16:00.0';
  host.bindDriver(host.vfAddress(pf, 0), 'vfio-pci');
  host.moveVfNetdevToPod(host.vfAddress(pf, 0));
  host.moveVfNetdevToPod(host.vfAddress(pf, 1));
  const s = scan(host);
  assert.deepEqual(s.pfs[0]?.vfs.map((v) => [v.index, v.driver, v.netdev ?? null]), [
    [0, 'vfio-pci', null],
    [1, 'mlx5_core', null],
    [2, 'mlx5_core', 'ens1f0np0v2'],
    [3, 'mlx5_core', 'ens1f0np0v3'],
  ]);
  assert.equal(s.netdevs.some((n) => n.name === 'ens1f0np0v1'), false);
});

test('cheap rescan: same answer as a full scan, issues included; structural change falls back to full', (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 4 });
  t.after(() => host.cleanup());
  const opts = { sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} }, now: () => 1 };
  host.replace(`${host.devPath('0000:16:00.0')}/numa_node`, 'zero');
  const first = runScan(opts);
  assert.deepEqual(first.snapshot.issues.map((i) => [i.scanner, i.code]), [['pci', 'PARSE']]);
  host.replace('class/infiniband/mlx5_1/ports/1/counters/port_xmit_data', '999999999999');
  host.replace('class/infiniband/mlx5_1/ports/1/state', '1: DOWN');
  host.replace('class/net/ens2f0np0/operstate', 'down');
  const cheap = rescanNode(first, opts);
  assert.equal(cheap.mode, 'cheap');
  const full = scanNode(opts);
  const strip = (s: NodeSnapshot) => JSON.parse(snapshotToJson({ ...s, durationMs: 0 }));
  assert.deepEqual(strip(cheap.snapshot), strip(full));
  assert.equal(cheap.snapshot.issues.length, 1);
  assert.equal(cheap.snapshot.rdmaDevices[1]?.ports[0]?.counters['port_xmit_data'], 999999999999n);
  // a VF netdev moving into a pod is not structural: the cheap path sees it
  host.moveVfNetdevToPod(host.vfAddress('0000:16:00.0', 3));
  const after = rescanNode(cheap, opts);
  assert.equal(after.mode, 'cheap');
  assert.deepEqual(strip(after.snapshot), strip(scanNode(opts)));
  assert.equal(after.snapshot.pfs[0]?.vfs[3]?.netdev, undefined);
  host.removeVf('0000:16:00.0', 3);
  host.replace(`${host.devPath('0000:16:00.0')}/sriov_numvfs`, '3');
  const gone = rescanNode(after, opts);
  assert.equal(gone.mode, 'full');
  assert.equal(gone.reason, 'PCI functions changed');
  assert.equal(gone.snapshot.pfs[0]?.vfs.length, 3);
});

test('an entry the full scan skips does not make every cheap rescan a full one', (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 2 });
  t.after(() => host.cleanup());
  mkdirSync(join(host.sys, 'bus/pci/devices/not-an-address'));
  const opts = { sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} }, now: () => 1 };
  const first = runScan(opts);
  assert.deepEqual(first.snapshot.issues.map((i) => [i.path, i.code]), [['bus/pci/devices/not-an-address', 'PARSE']]);
  const again = rescanNode(first, opts);
  assert.equal(again.mode, 'cheap');
  assert.deepEqual(again.snapshot.issues, first.snapshot.issues);
});

test('real capture: prometheus/procfs (E810 PF with SR-IOV, mlx4/mlx5/hfi1 IB devices; the PF netdev only in its net/ dir)', (t) => {
  const c = loadCaptureFile(t, 'prometheus-procfs.txt', 'root');
  if (c === undefined) return;
  t.after(() => c.host.cleanup());
  const s = scan(c.host);
  assert.deepEqual(s.pfs, [
    {
      pci: '0000:a2:00.0', netdev: 'enp162s0f0np0', netdevs: ['enp162s0f0np0'], sriovCapable: true, totalVfs: 128, numVfs: 0, offset: 8, stride: 1, vfDevice: '0x1889',
      rdmaDevices: [], vfs: [], vfLinksDangling: 0, driver: 'ice', vendor: '0x8086', device: '0x159b', class: '0x020000', numaNode: 1,
    },
  ]);
  assert.deepEqual(s.rdmaDevices.map((d) => [d.name, d.fwVer, d.ports.map((p) => [p.port, p.state, p.rateBitsPerSecond, p.linkLayer])]), [
    ['hfi1_0', '1.27.0', [[1, 'ACTIVE', 100e9, 'InfiniBand']]],
    ['mlx4_0', '2.31.5050', [[1, 'ACTIVE', 40e9, 'InfiniBand'], [2, 'ACTIVE', 40e9, 'InfiniBand']]],
    ['mlx5_0', '14.28.2006', [[1, 'ACTIVE', 25e9, 'InfiniBand']]],
  ]);
  assert.equal(Object.keys(s.rdmaDevices[2]?.ports[0]?.hwCounters ?? {}).length, 25);
  assert.equal(s.host.kernelArgs['BOOT_IMAGE'], '/vmlinuz-5.11.0-22-generic');
  // the capture's `speed` of that netdev is empty: one counted skip, not a speed of 0
  assert.deepEqual(s.issues, [
    { scanner: 'net', path: 'bus/pci/devices/0000:a2:00.0/net/enp162s0f0np0/speed', code: 'PARSE', detail: 'not an integer: ""' },
  ]);
});

test('real capture: prometheus/node_exporter (i40iw N/A (no PMA), mlx4 counters_ext, bonding_masters)', (t) => {
  const c = loadCaptureFile(t, 'prometheus-node_exporter.txt', 'sys');
  if (c === undefined) return;
  t.after(() => c.host.cleanup());
  const s = scan(c.host);
  const i40iw = s.rdmaDevices.find((d) => d.name === 'i40iw0');
  assert.deepEqual(i40iw?.ports[0]?.counters, {}, 'N/A (no PMA) gives no counter at all');
  assert.equal(s.issues.filter((i) => i.code === 'UNSUPPORTED' && i.detail === 'N/A (no PMA)').length, 17);
  assert.equal(s.issues.every((i) => i.code === 'UNSUPPORTED'), true);
  assert.equal(s.pfs[0]?.totalVfs, 7);
  assert.equal(s.pfs[0]?.stride, 4);
  assert.deepEqual(s.netdevs.map((n) => [n.name, n.virtual]), [['bond0', true], ['dmz', true], ['eth0', false], ['int', true]]);
});

test("this machine's real /sys and /proc: scans without throwing", () => {
  const s = scanNode({ sysfsRoot: '/sys', procfsRoot: '/proc', config: { rails: {} } });
  assert.deepEqual(s.failedScanners, []);
  assert.ok(s.netdevs.some((n) => n.name === 'lo' && n.virtual), 'lo is seen as virtual');
  assert.ok(s.host.cmdline !== undefined && s.host.cmdline.length > 0);
  for (const pf of s.pfs) assert.ok(pf.totalVfs >= pf.vfs.length);
});

test('a counter directory with thousands of files is capped, with one counted skip', (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 0 });
  t.after(() => host.cleanup());
  for (let i = 0; i < 600; i++) host.write(`class/infiniband/mlx5_0/ports/1/hw_counters/bogus_${i}`, String(i));
  const s = scan(host);
  const hw = s.rdmaDevices[0]?.ports[0]?.hwCounters ?? {};
  assert.equal(Object.keys(hw).length, 512);
  assert.deepEqual(s.issues.map((i) => [i.path, i.code]), [['class/infiniband/mlx5_0/ports/1/hw_counters', 'E2BIG']]);
});

test('PCIe degradation: an idle GPU at low speed is not degraded, a narrower link is; a PF at low speed is', (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 0 });
  t.after(() => host.cleanup());
  const gpu0 = host.devPath('0000:15:00.0');
  const gpu1 = host.devPath('0000:1d:00.0');
  host.replace(`${gpu0}/current_link_speed`, '2.5 GT/s PCIe');
  host.replace(`${gpu1}/current_link_width`, '8');
  host.replace(`${host.devPath('0000:16:00.0')}/current_link_speed`, '16.0 GT/s PCIe');
  const s = scan(host);
  const view = viewOf(s);
  assert.deepEqual(view.gpus.map((g) => [g.gpu.pci, g.pcie.degraded]), [['0000:15:00.0', false], ['0000:1d:00.0', true]]);
  assert.deepEqual(view.pfs.map((p) => [p.pf.pci, p.pcie?.degraded]), [
    ['0000:16:00.0', true],
    ['0000:1e:00.0', false],
  ]);
});

test('the yielding scan gives the event loop turns and equals the synchronous scan', async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 8 });
  t.after(() => host.cleanup());
  const opts = { sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} }, now: () => 1 };
  let turns = 0;
  let done = false;
  const spin = () => {
    turns++;
    if (!done) setImmediate(spin);
  };
  setImmediate(spin);
  // a slice of 0 ms: a turn after every PCI function and RDMA device
  const yielded = await runScanYielding(opts, undefined, 0);
  done = true;
  const strip = (s: NodeSnapshot) => JSON.parse(snapshotToJson({ ...s, durationMs: 0 }));
  assert.deepEqual(strip(yielded.snapshot), strip(scanNode(opts)));
  assert.ok(turns > yielded.snapshot.pci.length / 2, `${turns} event loop turns during the scan`);
  const cheap = await rescanNodeYielding(yielded, opts);
  assert.deepEqual([cheap.mode, strip(cheap.snapshot)], ['cheap', strip(yielded.snapshot)]);
});
