import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { memoryLogger, silentLogger } from '../../agent/log.ts';
import { createRescanLoop } from '../../agent/watch/rescan-loop.ts';

async function eventually(cond: () => boolean, what: string, boundMs = 10_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A promise the test resolves by hand, to hold a scan in flight. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

describe('createRescanLoop', () => {
  test('scans at start, then on the interval', async () => {
    const scans: string[] = [];
    const loop = createRescanLoop({ intervalMs: 1000, scan: (t) => void scans.push(t), log: silentLogger });
    loop.start();
    try {
      await eventually(() => scans.length >= 3, 'two interval scans');
      assert.deepEqual(scans.slice(0, 3), ['startup', 'interval', 'interval']);
    } finally {
      await loop.stop();
    }
  });

  test('a burst of triggers while idle gives one scan', async () => {
    const scans: string[] = [];
    const loop = createRescanLoop({ scanOnStart: false, debounceMs: 20, scan: (t) => void scans.push(t), log: silentLogger });
    loop.start();
    try {
      for (let i = 0; i < 128; i++) loop.trigger('netlink');
      await eventually(() => scans.length === 1, 'the triggered scan');
      await sleep(200);
      assert.deepEqual(scans, ['netlink']);
      assert.deepEqual(loop.stats(), { scans: { netlink: 1 }, coalesced: 127, failures: 0 });
    } finally {
      await loop.stop();
    }
  });

  test('triggers during a running scan coalesce into one follow-up scan', async () => {
    const scans: string[] = [];
    const g = gate();
    const loop = createRescanLoop({
      minGapMs: 10,
      debounceMs: 10,
      scan: async (t) => {
        scans.push(`begin ${t}`);
        if (t === 'startup') await g.promise;
        scans.push(`end ${t}`);
      },
      log: silentLogger,
    });
    loop.start();
    try {
      await eventually(() => scans.length === 1, 'the startup scan to begin');
      loop.trigger('uevent');
      for (let i = 0; i < 99; i++) loop.trigger('netlink');
      g.open();
      await eventually(() => scans.length === 4, 'the follow-up scan');
      await sleep(200);
      assert.deepEqual(scans, ['begin startup', 'end startup', 'begin uevent', 'end uevent']);
      assert.deepEqual(loop.stats(), { scans: { startup: 1, uevent: 1 }, coalesced: 99, failures: 0 });
    } finally {
      await loop.stop();
    }
  });

  test('scans never overlap under a steady stream of triggers', async () => {
    let running = 0;
    let maxRunning = 0;
    let count = 0;
    const loop = createRescanLoop({
      minGapMs: 0,
      debounceMs: 0,
      scan: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await sleep(5);
        running -= 1;
        count += 1;
      },
      log: silentLogger,
    });
    loop.start();
    try {
      for (let i = 0; i < 200 && count < 10; i++) {
        loop.trigger('netlink');
        await sleep(1);
      }
      await eventually(() => count >= 10, 'ten scans');
      assert.equal(maxRunning, 1);
    } finally {
      await loop.stop();
    }
  });

  test('stop() waits for the scan in flight, and nothing runs after it', async () => {
    const scans: string[] = [];
    const g = gate();
    const loop = createRescanLoop({
      scan: async (t) => {
        scans.push(`begin ${t}`);
        await g.promise;
        scans.push(`end ${t}`);
      },
      log: silentLogger,
    });
    loop.start();
    await eventually(() => scans.length === 1, 'the startup scan to begin');
    let stopped = false;
    const stopping = loop.stop().then(() => {
      stopped = true;
    });
    await sleep(50);
    assert.equal(stopped, false, 'stop() resolved while a scan was running');
    loop.trigger('netlink');
    g.open();
    await stopping;
    await sleep(100);
    assert.deepEqual(scans, ['begin startup', 'end startup']);
  });

  test('a failing scan is logged and the loop goes on', async () => {
    const log = memoryLogger();
    let n = 0;
    const loop = createRescanLoop({
      scanOnStart: true,
      minGapMs: 0,
      debounceMs: 0,
      scan: (t) => {
        n += 1;
        if (t === 'startup') throw new Error('sysfs went away');
      },
      log,
    });
    loop.start();
    try {
      await eventually(() => loop.stats().failures === 1, 'the failure');
      loop.trigger('netlink');
      await eventually(() => n === 2, 'the next scan');
      await eventually(() => loop.stats().scans['netlink'] === 1, 'the next scan to complete');
      assert.deepEqual(log.lines, [
        { level: 'error', msg: 'rescan failed', meta: { trigger: 'startup', err: new Error('sysfs went away') } },
      ]);
    } finally {
      await loop.stop();
    }
  });

  test('rejects an interval under one second', () => {
    assert.throws(() => createRescanLoop({ intervalMs: 999, scan: () => {}, log: silentLogger }), {
      name: 'RangeError',
      message: 'rescan interval must be at least 1000 ms, got 999',
    });
  });
});
