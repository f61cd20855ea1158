// The golden scrape: the whole public metric surface of a 2-rail fixture host, served over HTTP and diffed
// against test/golden/dgx-2rail.prom. Rewrite it with `UPDATE_GOLDEN=1 node --test test/metrics/golden.test.ts`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../agent/config/config.ts';
import { startHttpServer } from '../../agent/http/server.ts';
import { silentLogger } from '../../agent/log.ts';
import { bump } from '../../agent/state.ts';
import { buildDgxHost, dgxGpuUuid } from '../helpers/fixture-host.ts';
import { vfInfoOf } from '../checks/helpers.ts';
import { CATALOGUE_LINTS, normaliseScrape, promtoolCheck, sampleChecks, stateFor } from './exposition-helpers.ts';

const GOLDEN = join(import.meta.dirname, '../golden/dgx-2rail.prom');

test('golden scrape of a 2-rail fixture host', async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 4, vfNetdevsInHost: 2, extras: true });
  t.after(() => host.cleanup());
  // a counter past 2^53 and one past 2^63, a degraded GPU link
  host.write(`${host.devPath('0000:16:00.0')}/infiniband/mlx5_0/ports/1/counters/port_xmit_data`, '9007199254740993');
  host.write(`${host.devPath('0000:1e:00.0')}/infiniband/mlx5_1/ports/1/hw_counters/out_of_buffer`, '18446744073709551615');
  host.write(`${host.devPath('0000:1d:00.0')}/current_link_width`, '8');
  const state = stateFor(host, validateConfig({ desiredVfs: { all: 4, rails: { '1': 6 } } }));
  state.checks = sampleChecks();
  state.vfInfo = vfInfoOf(host);
  state.allocation = {
    allocations: [
      { resourceName: 'nvidia.com/gpu', deviceId: dgxGpuUuid(1), pod: 'trainer-0', namespace: 'ml', container: 'worker' },
      { resourceName: 'nvidia.com/rail1_vfs', deviceId: '0000:1e:00.4', pod: 'trainer-0', namespace: 'ml', container: 'worker' },
    ],
    allocatable: [
      { resourceName: 'nvidia.com/rail0_vfs', deviceIds: ['0000:16:00.2', '0000:16:00.3', '0000:16:00.4', '0000:16:00.5'] },
      { resourceName: 'nvidia.com/rail1_vfs', deviceIds: ['0000:1e:00.2', '0000:1e:00.3', '0000:1e:00.4', '0000:1e:00.5'] },
    ],
  };
  bump(state.scansTotal, 'startup');
  bump(state.scansTotal, 'interval', 6);
  bump(state.kubeRequests, 'patch\t200', 2);
  const server = await startHttpServer({ listen: '127.0.0.1:0', state: () => state, log: silentLogger });
  t.after(() => server.close());
  const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  assert.equal(response.status, 200);
  const scrape = await response.text();
  assert.deepEqual(promtoolCheck(scrape).complaints, CATALOGUE_LINTS);
  const actual = normaliseScrape(scrape);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, actual);
  assert.equal(actual, readFileSync(GOLDEN, 'utf8'), 'scrape differs from test/golden/dgx-2rail.prom (UPDATE_GOLDEN=1 rewrites it)');
});
