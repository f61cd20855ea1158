// mlx4's ports/N/counters_ext/: read into the snapshot and exported, the 64-bit data counters as bytes (words x 4),
// as node_exporter exports them (node_infiniband_legacy_*).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMetricsText } from '../../agent/metrics/render.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { familyLines, promtoolCheck, scanFixture, stateFor } from './exposition-helpers.ts';

test('counters_ext: read by file name, absent when the port has none, exported in bytes and by name', async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 0 });
  t.after(() => host.cleanup());
  const ext = `${host.devPath('0000:16:00.0')}/infiniband/mlx5_0/ports/1/counters_ext`;
  host.write(`${ext}/port_xmit_data_64`, '18446744073709551615');
  host.write(`${ext}/port_rcv_data_64`, '4631917');
  host.write(`${ext}/port_xmit_packets_64`, '0');
  host.write(`${ext}/port_unicast_rcv_packets`, '61148');
  host.write(`${ext}/port_multicast_xmit_packets`, 'N/A (no PMA)');
  const s = scanFixture(host);
  assert.deepEqual(s.rdmaDevices[0]?.ports[0]?.countersExt, {
    port_rcv_data_64: 4631917n,
    port_unicast_rcv_packets: 61148n,
    port_xmit_data_64: 18446744073709551615n,
    port_xmit_packets_64: 0n,
  });
  assert.equal(s.rdmaDevices[1]?.ports[0]?.countersExt, undefined, 'no counters_ext/: absent, not empty');
  const text = await renderMetricsText(stateFor(host));
  assert.deepEqual(familyLines(text, 'railwatch_rdma_port_legacy_transmit_bytes_total'), [
    // words x 4 beyond 2^64: every digit kept
    'railwatch_rdma_port_legacy_transmit_bytes_total{device="mlx5_0",port="1"} 73786976294838206460',
  ]);
  assert.deepEqual(familyLines(text, 'railwatch_rdma_port_legacy_receive_bytes_total'), [
    'railwatch_rdma_port_legacy_receive_bytes_total{device="mlx5_0",port="1"} 18527668',
  ]);
  assert.deepEqual(familyLines(text, 'railwatch_rdma_port_legacy_stat_total'), [
    'railwatch_rdma_port_legacy_stat_total{device="mlx5_0",port="1",stat="port_unicast_rcv_packets"} 61148',
    'railwatch_rdma_port_legacy_stat_total{device="mlx5_0",port="1",stat="port_xmit_packets_64"} 0',
  ]);
  const lint = promtoolCheck(text);
  assert.equal(lint.status, 0, lint.complaints.join('\n'));
});
