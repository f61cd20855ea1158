// AgentLifecycle alone: the stop order (first, then the parts together, then last), a rejecting part that does not
// cut the wait for the others short, and a second stop() that does nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentLifecycle } from '../../agent/serve/lifecycle.ts';

test('stop runs the first steps, then every part at once, then the last steps once all have settled', async () => {
  const order: string[] = [];
  const lc = new AgentLifecycle();
  const part = (name: string, ms: number, fail = false) => () => {
    order.push(`${name} stopping`);
    return new Promise<void>((resolve, reject) =>
      setTimeout(() => {
        order.push(`${name} stopped`);
        if (fail) reject(new Error(`${name} failed`));
        else resolve();
      }, ms),
    );
  };
  lc.stopTogether(part('http', 30));
  lc.stopFirst(() => order.push('attachments'));
  lc.stopTogether(part('loop', 10, true));
  lc.stopTogether(part('sync', 20));
  lc.stopLast(() => order.push('pod-resources'));
  lc.stopLast(() => order.push('waiters'));
  await lc.stop();
  assert.deepEqual(order, [
    'attachments',
    'http stopping',
    'loop stopping',
    'sync stopping',
    'loop stopped',
    'sync stopped',
    'http stopped',
    'pod-resources',
    'waiters',
  ]);
  await lc.stop();
  assert.equal(order.length, 9, 'a second stop does nothing');
});

test('a stop that comes while one runs returns at once and does not repeat a step', async () => {
  let calls = 0;
  let release!: () => void;
  const lc = new AgentLifecycle();
  lc.stopTogether(() => {
    calls++;
    return new Promise<void>((resolve) => (release = resolve));
  });
  const first = lc.stop();
  await lc.stop();
  assert.equal(calls, 1);
  release();
  await first;
});
