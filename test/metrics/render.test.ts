import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { defaultConfig, validateConfig } from '../../agent/config/config.ts';
import { ExpositionBytes, FamiliesBytesWriter, escapeLabelValue, formatLabels, labelBlock, writeFamilies, writeFamiliesTo, type MetricFamily, type Sample } from '../../agent/metrics/exposition.ts';
import { compactPart, part } from '../../agent/metrics/part.ts';
import { gunzipSync } from 'node:zlib';
import { createMetricsRenderer, partsText, renderMetricsText } from '../../agent/metrics/render.ts';
import { SCANNER_NAMES } from '../../agent/scan/registry.ts';
import type { AgentState } from '../../agent/state.ts';
import { bump } from '../../agent/state.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { CATALOGUE_LINTS, familyLines, promtoolCheck, sampleChecks, sampleLines, scanFixture, stateFor } from './exposition-helpers.ts';

const PF0 = '0000:16:00.0';
const PF1 = '0000:1e:00.0';

const hosts: FixtureHost[] = [];
after(() => {
  for (const h of hosts) h.cleanup();
});

function twoRailHost(): FixtureHost {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2, vfNetdevsInHost: 1 });
  hosts.push(host);
  return host;
}

function portDir(host: FixtureHost, pf: string, dev: string): string {
  return `${host.devPath(pf)}/infiniband/${dev}/ports/1`;
}

describe('metric catalogue', () => {
  test('PF and VF series are exact', async () => {
    const host = twoRailHost();
    const text = await renderMetricsText(stateFor(host));
    assert.deepEqual(familyLines(text, 'railwatch_pf_info'), [
      'railwatch_pf_info{pf="ens1f0np0",pci="0000:16:00.0",driver="mlx5_core",vendor="0x15b3",device="0x1021",netdev="ens1f0np0",rail="0",numa_node="0",link_layer="Ethernet"} 1',
      'railwatch_pf_info{pf="ens2f0np0",pci="0000:1e:00.0",driver="mlx5_core",vendor="0x15b3",device="0x1021",netdev="ens2f0np0",rail="1",numa_node="1",link_layer="Ethernet"} 1',
    ]);
    const rail0 = sampleLines(text).filter((l) => l.startsWith('railwatch_pf_') && l.includes('{pf="ens1f0np0",rail="0"}'));
    assert.deepEqual(rail0, [
      'railwatch_pf_vfs_supported{pf="ens1f0np0",rail="0"} 16',
      'railwatch_pf_vfs_configured{pf="ens1f0np0",rail="0"} 2',
      'railwatch_pf_vfs_present{pf="ens1f0np0",rail="0"} 2',
      'railwatch_pf_vf_netdevs{pf="ens1f0np0",rail="0"} 1',
    ]);
    assert.deepEqual(familyLines(text, 'railwatch_vf_info').slice(0, 2), [
      'railwatch_vf_info{pf="ens1f0np0",rail="0",vf="0",pci="0000:16:00.2",driver="mlx5_core",netdev="ens1f0np0v0",namespace="",pod=""} 1',
      'railwatch_vf_info{pf="ens1f0np0",rail="0",vf="1",pci="0000:16:00.3",driver="mlx5_core",netdev="",namespace="",pod=""} 1',
    ]);
    assert.deepEqual(familyLines(text, 'railwatch_rdma_port_info')[0],
      'railwatch_rdma_port_info{device="mlx5_0",port="1",pci="0000:16:00.0",pf="ens1f0np0",rail="0",link_layer="Ethernet",fw_version="28.39.1002",node_guid="b8ce:f603:00a1:00c4"} 1');
    assert.deepEqual(familyLines(text, 'railwatch_rdma_port_up'), [
      'railwatch_rdma_port_up{device="mlx5_0",port="1"} 1',
      'railwatch_rdma_port_up{device="mlx5_1",port="1"} 1',
    ]);
    assert.deepEqual(familyLines(text, 'railwatch_rdma_port_rate_bytes_per_second')[0], 'railwatch_rdma_port_rate_bytes_per_second{device="mlx5_0",port="1"} 50000000000');
    assert.deepEqual(familyLines(text, 'railwatch_rails'), ['railwatch_rails 2']);
    assert.deepEqual(familyLines(text, 'railwatch_gpus'), ['railwatch_gpus 2']);
    assert.deepEqual(familyLines(text, 'railwatch_expected_rails'), ['railwatch_expected_rails 2']);
    assert.deepEqual(familyLines(text, 'railwatch_last_scan_timestamp_seconds'), ['railwatch_last_scan_timestamp_seconds 1750000000']);
    assert.deepEqual(familyLines(text, 'railwatch_pcie_link_degraded'), [
      'railwatch_pcie_link_degraded{pci="0000:16:00.0",role="pf"} 0',
      'railwatch_pcie_link_degraded{pci="0000:1e:00.0",role="pf"} 0',
      'railwatch_pcie_link_degraded{pci="0000:15:00.0",role="gpu"} 0',
      'railwatch_pcie_link_degraded{pci="0000:1d:00.0",role="gpu"} 0',
    ]);
    assert.deepEqual(familyLines(text, 'railwatch_build_info'), ['railwatch_build_info{version="0.1.0"} 1']);
  });

  test('RDMA byte and packet counters: words x 4, every other file by name, lifespan left out', async () => {
    const host = twoRailHost();
    const text = await renderMetricsText(stateFor(host));
    assert.deepEqual(familyLines(text, 'railwatch_rdma_port_transmit_bytes_total')[0], 'railwatch_rdma_port_transmit_bytes_total{device="mlx5_0",port="1"} 893827156048');
    assert.deepEqual(familyLines(text, 'railwatch_rdma_port_receive_bytes_total')[0], 'railwatch_rdma_port_receive_bytes_total{device="mlx5_0",port="1"} 493827156048');
    assert.deepEqual(familyLines(text, 'railwatch_rdma_port_transmit_packets_total')[0], 'railwatch_rdma_port_transmit_packets_total{device="mlx5_0",port="1"} 887654321');
    assert.deepEqual(familyLines(text, 'railwatch_rdma_port_receive_packets_total')[0], 'railwatch_rdma_port_receive_packets_total{device="mlx5_0",port="1"} 987654321');
    const other = familyLines(text, 'railwatch_rdma_port_stat_total').filter((l) => l.includes('device="mlx5_0"'));
    assert.equal(other.length, 17);
    assert.ok(other.includes('railwatch_rdma_port_stat_total{device="mlx5_0",port="1",stat="unicast_xmit_packets"} 887654321'));
    assert.ok(!other.some((l) => /stat="port_(xmit|rcv)_(data|packets)"/.test(l)));
    const hw = familyLines(text, 'railwatch_rdma_hw_stat_total').filter((l) => l.includes('device="mlx5_0"'));
    assert.equal(hw.length, 20);
    assert.ok(hw.includes('railwatch_rdma_hw_stat_total{device="mlx5_0",port="1",stat="rp_cnp_handled"} 4711'));
    assert.ok(!hw.some((l) => l.includes('stat="lifespan"')));
  });

  test('64-bit counter values are kept exactly', async () => {
    const host = twoRailHost();
    const port = portDir(host, PF0, 'mlx5_0');
    host.write(`${port}/counters/symbol_error`, '18446744073709551615');
    host.write(`${port}/counters/port_xmit_data`, '18446744073709551615');
    host.write(`${port}/hw_counters/out_of_buffer`, '9007199254740993');
    const text = await renderMetricsText(stateFor(host));
    const lines = sampleLines(text);
    assert.ok(lines.includes('railwatch_rdma_port_stat_total{device="mlx5_0",port="1",stat="symbol_error"} 18446744073709551615'));
    assert.ok(lines.includes('railwatch_rdma_port_transmit_bytes_total{device="mlx5_0",port="1"} 73786976294838206460'));
    assert.ok(lines.includes('railwatch_rdma_hw_stat_total{device="mlx5_0",port="1",stat="out_of_buffer"} 9007199254740993'));
  });

  test('a counter reading N/A (no PMA) is absent, not 0', async () => {
    const host = twoRailHost();
    const port = portDir(host, PF0, 'mlx5_0');
    host.write(`${port}/counters/port_xmit_data`, 'N/A (no PMA)');
    host.write(`${port}/counters/symbol_error`, 'N/A (no PMA)');
    const text = await renderMetricsText(stateFor(host));
    assert.deepEqual(familyLines(text, 'railwatch_rdma_port_transmit_bytes_total'), [
      'railwatch_rdma_port_transmit_bytes_total{device="mlx5_1",port="1"} 893827156048',
    ]);
    assert.deepEqual(
      familyLines(text, 'railwatch_rdma_port_stat_total').filter((l) => l.includes('stat="symbol_error"')),
      ['railwatch_rdma_port_stat_total{device="mlx5_1",port="1",stat="symbol_error"} 0'],
    );
  });

  test('a vanished VF leaves no series on the next render', async () => {
    const host = twoRailHost();
    const state = stateFor(host);
    const renderer = createMetricsRenderer({ defaultMetrics: false });
    const before = partsText(await renderer.render(state));
    assert.equal(familyLines(before, 'railwatch_vf_info').filter((l) => l.includes('pci="0000:16:00.3"')).length, 1);
    host.removeVf(PF0, 1);
    state.snapshot = scanFixture(host);
    const afterText = partsText(await renderer.render(state));
    assert.deepEqual(familyLines(afterText, 'railwatch_vf_info').filter((l) => l.includes('pf="ens1f0np0"')), [
      'railwatch_vf_info{pf="ens1f0np0",rail="0",vf="0",pci="0000:16:00.2",driver="mlx5_core",netdev="ens1f0np0v0",namespace="",pod=""} 1',
    ]);
    assert.ok(!afterText.includes('0000:16:00.3'));
    assert.deepEqual(familyLines(afterText, 'railwatch_pf_vfs_present')[0], 'railwatch_pf_vfs_present{pf="ens1f0np0",rail="0"} 1');
  });

  test('a vanished RDMA device leaves no counter series', async () => {
    const host = twoRailHost();
    const state = stateFor(host);
    const renderer = createMetricsRenderer({ defaultMetrics: false });
    await renderer.render(state);
    host.remove('class/infiniband/mlx5_1');
    state.snapshot = scanFixture(host);
    const text = partsText(await renderer.render(state));
    assert.ok(!text.includes('mlx5_1'));
    assert.equal(familyLines(text, 'railwatch_rdma_port_transmit_bytes_total').length, 1);
  });

  test('allocation metrics are absent while the kubelet cannot be asked, present once it answers', async () => {
    const host = twoRailHost();
    const state = stateFor(host);
    state.allocation = { error: 'socket-absent' };
    const renderer = createMetricsRenderer({ defaultMetrics: false });
    const unknown = partsText(await renderer.render(state));
    assert.deepEqual(familyLines(unknown, 'railwatch_pf_vfs_allocated'), []);
    assert.ok(!unknown.includes('railwatch_pf_vfs_allocated'));
    assert.deepEqual(familyLines(unknown, 'railwatch_pod_resources_up'), ['railwatch_pod_resources_up 0']);

    state.allocation = {
      allocations: [
        { resourceName: 'nvidia.com/rail0', deviceId: '0000:16:00.3', pod: 'train-0', namespace: 'ml', container: 'worker' },
        { resourceName: 'nvidia.com/rail1', deviceId: '1e:00.2', pod: 'train-1', namespace: 'ml', container: 'worker' },
        { resourceName: 'rdma/hca', deviceId: 'hca_shared_1', pod: 'other', namespace: 'x', container: 'c' },
      ],
      allocatable: [
        { resourceName: 'nvidia.com/rail0', deviceIds: ['0000:16:00.2', '0000:16:00.3'] },
        { resourceName: 'nvidia.com/rail1', deviceIds: ['0000:1e:00.2', '0000:1e:00.3'] },
        { resourceName: 'nvidia.com/spare', deviceIds: ['0000:1e:00.3'] },
      ],
    };
    const known = partsText(await renderer.render(state));
    assert.deepEqual(familyLines(known, 'railwatch_pf_vfs_allocated'), [
      'railwatch_pf_vfs_allocated{pf="ens1f0np0",rail="0",resource="nvidia.com/rail0"} 1',
      'railwatch_pf_vfs_allocated{pf="ens2f0np0",rail="1",resource="nvidia.com/rail1"} 1',
      'railwatch_pf_vfs_allocated{pf="ens2f0np0",rail="1",resource="nvidia.com/spare"} 0',
    ]);
    assert.deepEqual(familyLines(known, 'railwatch_pod_resources_up'), ['railwatch_pod_resources_up 1']);
    assert.deepEqual(familyLines(known, 'railwatch_vf_info').filter((l) => l.includes('pod="train')), [
      'railwatch_vf_info{pf="ens1f0np0",rail="0",vf="1",pci="0000:16:00.3",driver="mlx5_core",netdev="",namespace="ml",pod="train-0"} 1',
      'railwatch_vf_info{pf="ens2f0np0",rail="1",vf="0",pci="0000:1e:00.2",driver="mlx5_core",netdev="ens2f0np0v0",namespace="ml",pod="train-1"} 1',
    ]);

    // an answered poll with no allocations at all still reports allocatable PFs at 0
    state.allocation = { allocations: [], allocatable: [{ resourceName: 'nvidia.com/rail0', deviceIds: ['0000:16:00.2'] }] };
    const empty = partsText(await renderer.render(state));
    assert.deepEqual(familyLines(empty, 'railwatch_pf_vfs_allocated'), ['railwatch_pf_vfs_allocated{pf="ens1f0np0",rail="0",resource="nvidia.com/rail0"} 0']);
  });

  test('config, checks and counters of the state', async () => {
    const host = twoRailHost();
    const config = validateConfig({ desiredVfs: { all: 4, pfs: { ens2f0np0: 8 } }, expectedRails: 8 });
    const state = stateFor(host, config);
    state.checks = sampleChecks();
    bump(state.scansTotal, 'startup');
    bump(state.scansTotal, 'interval', 41);
    bump(state.scanErrorsTotal, 'net', 3);
    bump(state.scanErrorsTotal, 'pod-resources', 2);
    bump(state.kubeRequests, 'patch\t200', 5);
    bump(state.kubeRequests, 'watch\t410');
    const text = await renderMetricsText(state);
    assert.deepEqual(familyLines(text, 'railwatch_pf_vfs_desired'), [
      'railwatch_pf_vfs_desired{pf="ens1f0np0",rail="0"} 4',
      'railwatch_pf_vfs_desired{pf="ens2f0np0",rail="1"} 8',
    ]);
    assert.deepEqual(familyLines(text, 'railwatch_expected_rails'), ['railwatch_expected_rails 8']);
    assert.deepEqual(familyLines(text, 'railwatch_check_status'), [
      'railwatch_check_status{check="kernel-iommu",step="2-kernel-iommu"} 0',
      'railwatch_check_status{check="hugepages",step="3-hugepages"} -1',
      'railwatch_check_status{check="rdma-core",step="4-rdma-core"} 1',
      'railwatch_check_status{check="nic-vfs",step="5-nic-vfs"} 2',
    ]);
    assert.deepEqual(familyLines(text, 'railwatch_drift_active'), [
      'railwatch_drift_active{check="kernel-iommu"} 0',
      'railwatch_drift_active{check="hugepages"} 0',
      'railwatch_drift_active{check="rdma-core"} 0',
      'railwatch_drift_active{check="nic-vfs"} 1',
    ]);
    assert.deepEqual(familyLines(text, 'railwatch_setup_ready'), ['railwatch_setup_ready 0']);
    assert.deepEqual(familyLines(text, 'railwatch_scans_total'), ['railwatch_scans_total{trigger="startup"} 1', 'railwatch_scans_total{trigger="interval"} 41']);
    assert.deepEqual(familyLines(text, 'railwatch_scan_errors_total'), [
      ...SCANNER_NAMES.map((name) => `railwatch_scan_errors_total{scanner="${name}"} ${name === 'net' ? 3 : 0}`),
      'railwatch_scan_errors_total{scanner="pod-resources"} 2',
    ]);
    assert.deepEqual(familyLines(text, 'railwatch_kube_requests_total'), [
      'railwatch_kube_requests_total{verb="patch",code="200"} 5',
      'railwatch_kube_requests_total{verb="watch",code="410"} 1',
    ]);
  });

  test('counters of the state are re-read on every scrape while the snapshot part is cached', async () => {
    const host = twoRailHost();
    const state = stateFor(host);
    const renderer = createMetricsRenderer({ defaultMetrics: false });
    const first = await renderer.render(state);
    bump(state.scansTotal, 'interval', 2);
    const second = await renderer.render(state);
    assert.equal(second[0], first[0], 'same snapshot, same cached part');
    assert.deepEqual(familyLines(partsText(second), 'railwatch_scans_total'), ['railwatch_scans_total{trigger="interval"} 2']);
    state.checks = sampleChecks();
    const third = await renderer.render(state);
    assert.notEqual(third[0], first[0], 'new checks object, new part');
  });

  test('before the first scan: no snapshot series, scan error counters at 0', async () => {
    const state: AgentState = { ...stateFor(twoRailHost()), snapshot: undefined };
    const text = await renderMetricsText(state);
    assert.deepEqual(
      sampleLines(text).map((l) => l.replace(/[{ ].*/, '')).filter((n, i, all) => all.indexOf(n) === i),
      ['railwatch_pod_resources_up', 'railwatch_build_info', 'railwatch_scan_errors_total', 'railwatch_scrape_reads_total', 'railwatch_scrape_read_duration_seconds', 'railwatch_scrape_read_errors_total'],
    );
  });

  test('no series at all for a non-rail host without GPUs: expected rails unknown', async () => {
    const host = buildDgxHost({ rails: 1, vfsPerPf: 0, gpus: false });
    hosts.push(host);
    const text = await renderMetricsText(stateFor(host));
    assert.deepEqual(familyLines(text, 'railwatch_expected_rails'), []);
    assert.deepEqual(familyLines(text, 'railwatch_gpus'), ['railwatch_gpus 0']);
  });
});

describe('exposition escaping', () => {
  test('label values escape backslash, quote and newline', () => {
    assert.equal(escapeLabelValue('plain name'), 'plain name');
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(formatLabels(['a', 'b'], ['x"y', '']), '{a="x\\"y",b=""}');
    assert.equal(formatLabels([], []), '');
    const family = (name: string, samples: Sample[]): MetricFamily<void> => ({ name, help: 'Help with \\ and\nnewline.', type: 'counter', labels: ['c'], collect: () => samples });
    assert.equal(
      writeFamilies([family('x_total', [{ labels: ['q"'], value: 2n ** 64n - 1n }, { labels: ['nan'], value: NaN }]), family('y_total', [{ labels: ['inf'], value: Infinity }])], undefined),
      '# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\nx_total{c="q\\""} 18446744073709551615\n',
    );
  });

  test('the byte writer writes what the text writer writes: multi-byte text, growth from a tiny buffer, preformatted labels', () => {
    const block = labelBlock(['pf', 'vf'], ['ens1f0 «np0»', '1']);
    const families: MetricFamily<number>[] = [
      { name: 'a_total', help: 'Bytes of «VF» € 😀.', type: 'counter', labels: ['pf', 'vf'], *collect(n) { for (let i = 0; i < n; i++) yield { labels: ['p"€', String(i)], value: BigInt(i) * 2n ** 60n }; } },
      { name: 'b', help: 'Preformatted.', type: 'gauge', labels: ['pf', 'vf'], *collect(n) { for (let i = 0; i < n; i++) yield { ...block, value: i }; } },
      { name: 'c', help: 'Never sampled.', type: 'gauge', labels: [], collect: () => [] },
    ];
    const text = writeFamilies(families, 2000);
    const sink = new ExpositionBytes(1);
    writeFamiliesTo(sink, families, 2000);
    assert.equal(sink.bytes().toString('utf8'), text);
    assert.equal(sink.bytes().length, Buffer.byteLength(text));
    assert.ok(text.length > 3 * 16 * 1024, 'long enough for several batched writes');
    sink.add('z 1 €\n');
    assert.equal(sink.bytes().toString('utf8'), text + 'z 1 €\n', 'a row added after bytes() is written too');
    assert.ok(text.includes('b{pf="ens1f0 «np0»",vf="1"} 1999\n'));
    assert.ok(!text.includes('# HELP c '), 'a family without samples has no header');
    assert.throws(() => labelBlock(['pf'], ['a', 'b']), /2 label values for 1 labels/);
    // the repeated writer: sized from its previous text, the same bytes each time, exactly the text's bytes
    const writer = new FamiliesBytesWriter(families);
    assert.equal(writer.write(2000).toString('utf8'), text);
    assert.equal(writer.write(2000).toString('utf8'), text);
    const again = writer.write(2000);
    assert.equal(again.toString('utf8'), text);
    assert.equal(again.length, Buffer.byteLength(text));
    assert.equal(writer.write(3).toString('utf8'), writeFamilies(families, 3), 'a smaller text after a larger one');
  });

  test('a part made from bytes gives the same text, gzip member and emptiness as one made from text', () => {
    const text = '# HELP x_total «x»\n# TYPE x_total counter\nx_total 1\n';
    const fromText = part(text);
    const fromBytes = part(Buffer.from(text));
    assert.equal(fromBytes.text, text);
    assert.deepEqual(fromBytes.bytes(), fromText.bytes());
    assert.equal(gunzipSync(fromBytes.gzip()).toString('utf8'), text);
    assert.equal(fromBytes.gzip(), fromBytes.gzip(), 'the member is made once');
    assert.equal(fromBytes.empty, false);
    assert.equal(part(Buffer.alloc(0)).empty, true);
    assert.equal(part('').empty, true);
  });

  test('a compact part keeps only its gzip member once made, and gives the same bytes and text from it', async () => {
    const text = '# HELP x_total «x»\n# TYPE x_total counter\n' + Array.from({ length: 500 }, (_, i) => `x_total{i="${i}"} ${i}\n`).join('');
    const p = compactPart(Buffer.from(text));
    assert.equal(p.text, text, 'before the member: the bytes');
    const member = p.gzip();
    assert.equal(gunzipSync(member).toString('utf8'), text);
    assert.equal(p.gzip(), member, 'the member is made once');
    assert.equal(p.text, text, 'after it: decompressed from the member');
    assert.deepEqual(p.bytes(), Buffer.from(text));
    assert.notEqual(p.bytes(), p.bytes(), 'the plain bytes are not kept: each call decompresses');
    assert.equal(p.empty, false);
    assert.equal(compactPart(Buffer.alloc(0)).empty, true);
    // the renderer's structural part is one: a prepared state gives the same plain and gzip exposition
    const renderer = createMetricsRenderer({ defaultMetrics: false });
    const state = stateFor(twoRailHost());
    renderer.prepare(state);
    const parts = await renderer.render(state);
    assert.equal(Buffer.concat(parts.map((q) => q.bytes())).toString('utf8'), partsText(parts));
    assert.equal(gunzipSync(Buffer.concat(parts.map((q) => q.gzip()))).toString('utf8'), partsText(parts));
    assert.ok(partsText(parts).includes('railwatch_pf_vfs_supported'), 'the structural families are there');
  });

  test('hw_counter file names with spaces, quotes, backslashes and newlines', async () => {
    const host = twoRailHost();
    const port = portDir(host, PF1, 'mlx5_1');
    host.write(`${port}/hw_counters/rx ecn "marked"\\pkts\nx`, '7');
    const text = await renderMetricsText(stateFor(host));
    assert.ok(
      sampleLines(text).includes('railwatch_rdma_hw_stat_total{device="mlx5_1",port="1",stat="rx ecn \\"marked\\"\\\\pkts\\nx"} 7'),
    );
    assert.deepEqual(promtoolCheck(text).complaints, CATALOGUE_LINTS);
  });
});

describe('promtool', () => {
  test('promtool check metrics reports nothing on the full scrape of an 8-rail host', async () => {
    const host = buildDgxHost({ rails: 8, vfsPerPf: 8, vfNetdevsInHost: 4, extras: true });
    hosts.push(host);
    const config = validateConfig({ desiredVfs: 8 });
    const state = stateFor(host, config);
    state.checks = sampleChecks();
    state.allocation = {
      allocations: [{ resourceName: 'nvidia.com/rail0', deviceId: '0000:16:00.3', pod: 'p', namespace: 'n', container: 'c' }],
      allocatable: [{ resourceName: 'nvidia.com/rail0', deviceIds: ['0000:16:00.2', '0000:16:00.3'] }],
    };
    bump(state.kubeRequests, 'patch\t200');
    bump(state.scansTotal, 'interval');
    const renderer = createMetricsRenderer({ defaultMetrics: true });
    const text = partsText(await renderer.render(state));
    assert.ok(text.includes('process_resident_memory_bytes'));
    assert.equal(familyLines(text, 'railwatch_vf_info').length, 64);
    const { complaints } = promtoolCheck(text);
    assert.deepEqual(complaints, CATALOGUE_LINTS);
    assert.equal(defaultConfig().expectedRails, undefined);
  });
});
