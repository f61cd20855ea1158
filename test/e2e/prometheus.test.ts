// End to end: the railwatch HTTP server serving a fixture host, scraped by a real Prometheus (Debian's
// `prometheus` binary), queried through Prometheus' HTTP API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttpServer } from '../../agent/http/server.ts';
import { silentLogger } from '../../agent/log.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { startPrometheus, type PromSample, type QueryResult } from '../helpers/prometheus.ts';
import { scanFixture, stateFor } from '../metrics/exposition-helpers.ts';

function vector(result: QueryResult): PromSample[] {
  return result.resultType === 'vector' ? (result.result) : [];
}

test('Prometheus scrapes railwatch: VF counts and an RDMA counter rate', { timeout: 90_000 }, async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 4, vfNetdevsInHost: 2 });
  // teardown in reverse order of start: traffic, Prometheus, server, fixture
  const teardown: (() => unknown)[] = [() => host.cleanup()];
  t.after(async () => {
    for (const step of teardown.reverse()) await step();
  });
  const state = stateFor(host);
  const server = await startHttpServer({ listen: '127.0.0.1:0', state: () => state, log: silentLogger });
  teardown.push(() => server.close());
  const prometheus = await startPrometheus({
    scrapeTargets: [{ url: `http://127.0.0.1:${server.port}/metrics`, labels: { node: 'fixture-node' } }],
    scrapeIntervalS: 1,
  });
  teardown.push(() => prometheus.stop());

  const configured = await prometheus.waitFor('railwatch_pf_vfs_configured', (r) => vector(r).length === 2);
  assert.deepEqual(
    vector(configured)
      .map((s) => ({ pf: s.metric['pf'], rail: s.metric['rail'], node: s.metric['node'], value: s.value?.[1] }))
      .sort((a, b) => (a.rail ?? '').localeCompare(b.rail ?? '')),
    [
      { pf: 'ens1f0np0', rail: '0', node: 'fixture-node', value: '4' },
      { pf: 'ens2f0np0', rail: '1', node: 'fixture-node', value: '4' },
    ],
  );

  // traffic on rail 0: the counter file grows and the host is rescanned, as the scan loop would
  const counter = `${host.devPath('0000:16:00.0')}/infiniband/mlx5_0/ports/1/counters/port_xmit_data`;
  let words = 223456789012n;
  const traffic = setInterval(() => {
    words += 250_000_000n;
    host.replace(counter, words.toString());
    state.snapshot = scanFixture(host);
  }, 400);
  teardown.push(() => clearInterval(traffic));

  const rate = await prometheus.waitFor(
    'rate(railwatch_rdma_port_transmit_bytes_total{device="mlx5_0",port="1"}[5s])',
    (r) => vector(r).some((s) => Number(s.value?.[1]) > 0),
  );
  const samples = vector(rate);
  assert.equal(samples.length, 1);
  assert.ok(Number(samples[0]?.value?.[1]) > 0, `rate ${JSON.stringify(samples)}`);
  // rail 1 saw no traffic
  const idle = vector(await prometheus.query('rate(railwatch_rdma_port_transmit_bytes_total{device="mlx5_1"}[5s])'));
  assert.deepEqual(idle.map((s) => s.value?.[1]), ['0']);
});
