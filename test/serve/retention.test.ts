// What serve keeps between scans: once a newer scan has replaced a snapshot and the reuse windows of the scrape-time
// reads have passed, nothing holds the old snapshot (nor its view and checks), whatever was asked of the agent in
// between (/metrics plain and gzip, /status, the status page). Collected or not is read through a WeakRef after
// forced collections; the old snapshot of 2 PFs x 8 VFs is dropped or kept as a whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startAgent } from '../../agent/cli/serve.ts';
import { createFileVfInfoSource } from '../../agent/netlink/vf-info.ts';
import { WeakKeys } from '../../agent/weak-keys.ts';
import { testAgentOptions } from '../helpers/agent.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collected(ref: WeakRef<object>): Promise<boolean> {
  // a WeakRef's target lives at least to the end of the job that made or read it: collect from fresh turns
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await sleep(10);
    gc();
  }
  return ref.deref() === undefined;
}

test('WeakKeys: same objects match, others and undefined-for-an-object do not, and the keys are not kept alive', async () => {
  const a = { n: 1 };
  const b = { n: 2 };
  const keys = new WeakKeys([a, undefined]);
  assert.equal(keys.matches([a, undefined]), true);
  assert.equal(keys.matches([b, undefined]), false);
  assert.equal(keys.matches([a, b]), false);
  assert.equal(keys.matches([undefined, undefined]), false);
  assert.equal(keys.matches([a]), false, 'another number of keys');
  let held: object | undefined = { big: new Array(1000).fill(0) };
  const ref = new WeakRef(held);
  const weak = new WeakKeys([held]);
  held = undefined;
  assert.equal(await collected(ref), true, 'WeakKeys does not keep its key alive');
  assert.equal(weak.matches([undefined]), false, 'a collected key matches nothing, undefined included');
});

test('after a new scan and the reuse windows, no cache of serve keeps the previous snapshot alive', async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 8 });
  t.after(() => host.cleanup());
  const agent = await startAgent(testAgentOptions(host, { intervalMs: 3_600_000, vfInfo: createFileVfInfoSource(host.ipLinkFile) }));
  t.after(() => agent.stop());
  await agent.nextScan();
  const base = `http://127.0.0.1:${agent.http.port}`;
  const askEverything = async () => {
    for (const [path, headers] of [
      ['/metrics', {}],
      ['/metrics', { 'accept-encoding': 'gzip' }],
      ['/status', { accept: 'application/json' }],
      ['/', { accept: 'text/html' }],
    ] as const) {
      const r = await fetch(base + path, { headers });
      await r.arrayBuffer();
    }
  };
  await askEverything();
  const first = new WeakRef(agent.state().snapshot!);
  const firstView = new WeakRef(agent.state().view!);
  const firstAttachments = new WeakRef(agent.state().attachments!);
  const scanned = agent.nextScan();
  agent.trigger('test');
  await scanned;
  assert.notEqual(agent.state().snapshot, first.deref(), 'a new snapshot');
  // past the fresh reads' reuse window (100 ms) and the VF lists' (200 ms)
  await sleep(300);
  assert.equal(await collected(first), true, 'the previous snapshot is collected');
  assert.equal(await collected(firstView), true, 'and its view');
  assert.equal(await collected(firstAttachments), true, 'and its pods\' attachments');
  // the caches are refilled from the new state, which stays alive while it is the state
  await askEverything();
  const second = new WeakRef(agent.state().snapshot!);
  assert.equal(await collected(second), false, 'the current snapshot is kept');
});
