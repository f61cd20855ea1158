// railwatch_scan_errors_total means something: a counter file the driver reports as unsupported (i40iw's
// `N/A (no PMA)`) is counted once when it appears and again only after a change of state, not on every scan; an
// unreadable attribute is counted on every scan that meets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent } from '../../agent/cli/serve.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { testAgentOptions } from '../helpers/agent.ts';

test('unsupported counters count once per change of state; other skips count per scan', async (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 0 });
  t.after(() => host.cleanup());
  const port = 'class/infiniband/mlx5_0/ports/1';
  host.write(`${port}/counters/symbol_error`, 'N/A (no PMA)');
  host.write(`${port}/counters/VL15_dropped`, 'N/A (no PMA)');
  const agent = await startAgent(testAgentOptions(host));
  t.after(() => agent.stop());
  const errors = () => agent.state().scanErrorsTotal.get('infiniband') ?? 0;
  const scan = async () => {
    agent.trigger('test');
    await agent.nextScan();
  };
  await agent.nextScan();
  assert.equal(errors(), 2, 'two unsupported files, counted once');
  assert.deepEqual(
    agent.state().snapshot?.issues.map((i) => [i.path, i.code, i.detail]),
    [
      [`${port}/counters/symbol_error`, 'UNSUPPORTED', 'N/A (no PMA)'],
      [`${port}/counters/VL15_dropped`, 'UNSUPPORTED', 'N/A (no PMA)'],
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    'still listed with the skipped attributes of every scan',
  );
  for (let i = 0; i < 3; i++) await scan();
  assert.equal(errors(), 2, 'no growth while nothing changes');
  host.write(`${port}/counters/symbol_error`, '7');
  await scan();
  assert.equal(errors(), 2, 'a counter that became readable adds nothing');
  assert.equal(agent.state().snapshot?.rdmaDevices[0]?.ports[0]?.counters['symbol_error'], 7n);
  host.write(`${port}/counters/symbol_error`, 'N/A (no PMA)');
  await scan();
  assert.equal(errors(), 3, 'unsupported again: one more');
  await scan();
  assert.equal(errors(), 3);
  // a value that does not parse is no known state: every scan that meets it counts
  host.write(`${port}/counters/port_rcv_errors`, 'garbage');
  await scan();
  await scan();
  assert.equal(errors(), 5, 'PARSE counted on each scan');
});
