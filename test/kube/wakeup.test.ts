// The reconcile worker's wake-up and settle primitive on its own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { Wakeup } from '../../agent/kube/wakeup.ts';

/** Whether the promise has resolved once pending callbacks have run. */
async function resolved(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await turn();
  return done;
}

describe('Wakeup', () => {
  it('a trigger wakes the waiting worker and leaves work pending until taken', async () => {
    const w = new Wakeup();
    assert.equal(w.pending, false);
    const waiting = w.wait(undefined);
    assert.equal(await resolved(waiting), false);
    w.trigger();
    assert.equal(await resolved(waiting), true);
    assert.equal(w.pending, true);
    w.take();
    assert.equal(w.pending, false);
  });

  it('a trigger during a pass (after take) is still pending after it', () => {
    const w = new Wakeup();
    w.trigger();
    w.take();
    w.trigger();
    assert.equal(w.pending, true);
  });

  it('a wait with a timeout ends after it with work pending', async () => {
    const w = new Wakeup();
    const started = Date.now();
    await w.wait(30);
    assert.ok(Date.now() - started >= 25);
    assert.equal(w.pending, true);
  });

  it('a trigger before the timeout ends the wait early, and the timer does not mark work later', async () => {
    const w = new Wakeup();
    const waiting = w.wait(40);
    w.trigger();
    await waiting;
    w.take();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(w.pending, false);
  });

  it('settled() waits for settle(), and resolves at once while converged with nothing pending', async () => {
    const w = new Wakeup();
    const a = w.settled();
    const b = w.settled();
    assert.equal(await resolved(a), false);
    w.settle();
    assert.deepEqual([await resolved(a), await resolved(b)], [true, true]);
    assert.equal(await resolved(w.settled()), true);
    w.trigger();
    w.take();
    const c = w.settled();
    assert.equal(await resolved(c), false, 'a trigger un-settles until the next settle(), even once its work is taken');
    w.settle();
    assert.equal(await resolved(c), true);
  });

  it('a retry (markPending) or a timed pass keeps converged: settled() waits only while the work is pending', async () => {
    const w = new Wakeup();
    w.settle();
    w.markPending();
    const during = w.settled();
    assert.equal(await resolved(during), false);
    w.take();
    assert.equal(await resolved(w.settled()), true, 'converged still holds once the pending mark is taken');
    await w.wait(10);
    assert.equal(w.pending, true);
    w.take();
    assert.equal(await resolved(w.settled()), true);
    w.settle();
    assert.equal(await resolved(during), true);
  });
});
