// Counters fresh at every scrape: the contract (a value written to a counter file is served by every scrape that
// starts 0.5 s or more after it, with the structural scan far away), dropped series for files that vanished or
// fail, counted skips, coalescing of concurrent scrapes, the read's deadline, and a pluggable source.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgent } from '../../agent/cli/serve.ts';
import { readPortCounters, planCounterReads } from '../../agent/metrics/counters.ts';
import { writeFamily } from '../../agent/metrics/exposition.ts';
import { createMetricsRenderer, partsText } from '../../agent/metrics/render.ts';
import { startHttpServer } from '../../agent/http/server.ts';
import { silentLogger } from '../../agent/log.ts';
import { HostFs } from '../../agent/sysfs/host-fs.ts';
import { testAgentOptions } from '../helpers/agent.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { familyLines, stateFor } from './exposition-helpers.ts';

const hosts: FixtureHost[] = [];
after(() => {
  for (const h of hosts) h.cleanup();
});

function host(): FixtureHost {
  const h = buildDgxHost({ rails: 2, vfsPerPf: 2, vfNetdevsInHost: 1 });
  hosts.push(h);
  return h;
}

const XMIT = 'class/infiniband/mlx5_0/ports/1/counters/port_xmit_data';
const SYMBOL = 'class/infiniband/mlx5_0/ports/1/counters/symbol_error';
const OOB = 'class/infiniband/mlx5_0/ports/1/hw_counters/out_of_buffer';

async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(r.status, 200);
  return await r.text();
}

function txBytes(text: string): bigint | undefined {
  const line = familyLines(text, 'railwatch_rdma_port_transmit_bytes_total').find((l) => l.includes('device="mlx5_0"'));
  return line === undefined ? undefined : BigInt(line.slice(line.lastIndexOf(' ') + 1));
}

describe('counters fresh at every scrape', () => {
  test('a value written to a counter file is served by every scrape that starts 0.5 s or more after it', async (t) => {
    const h = host();
    // the structural scan runs once at start-up and then not for an hour: only the scrape-time read can be fresh
    const agent = await startAgent(testAgentOptions(h, { intervalMs: 3_600_000 }));
    t.after(() => agent.stop());
    await agent.nextScan();
    const port = agent.http.port;

    // writes every 100 ms while 8 scrapers scrape back to back; every scrape is checked against the writes that
    // happened 0.5 s or more before it started
    const writes: { at: number; words: bigint }[] = [];
    let words = 1000n;
    const write = () => {
      words += 1000n;
      h.write(XMIT, String(words));
      writes.push({ at: performance.now(), words });
    };
    write();
    const timer = setInterval(write, 100);
    const seen: { startedAt: number; bytes: bigint }[] = [];
    const end = performance.now() + 2500;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < end) {
          const startedAt = performance.now();
          const bytes = txBytes(await scrape(port));
          assert.ok(bytes !== undefined, 'the counter is served');
          seen.push({ startedAt, bytes });
        }
      }),
    );
    clearInterval(timer);
    let checked = 0;
    for (const s of seen) {
      const due = writes.filter((w) => w.at <= s.startedAt - 500).at(-1);
      if (due === undefined) continue;
      checked++;
      assert.ok(s.bytes >= due.words * 4n, `a scrape ${(s.startedAt - due.at).toFixed(0)} ms after the write of ${due.words} words served ${s.bytes / 4n}`);
    }
    assert.ok(checked > 10, `${checked} scrapes checked`);

    // and with no scraping in between: write, wait, scrape
    h.write(XMIT, '123456');
    await sleep(500);
    assert.equal(txBytes(await scrape(port)), 123456n * 4n);
  });

  test('a counter file that vanished or stopped parsing has no series (not 0), counted once; it returns when readable', async (t) => {
    const h = host();
    const agent = await startAgent(testAgentOptions(h, { intervalMs: 3_600_000 }));
    t.after(() => agent.stop());
    await agent.nextScan();
    const port = agent.http.port;
    const errors = (text: string, reason: string) =>
      familyLines(text, 'railwatch_scrape_read_errors_total').find((l) => l.includes(`reason="${reason}"`))?.split(' ')[1];
    const symbol = (text: string) => familyLines(text, 'railwatch_rdma_port_stat_total').filter((l) => l.includes('device="mlx5_0"') && l.includes('stat="symbol_error"'));
    const oob = (text: string) => familyLines(text, 'railwatch_rdma_hw_stat_total').filter((l) => l.includes('device="mlx5_0"') && l.includes('stat="out_of_buffer"'));

    let text = await scrape(port);
    assert.equal(symbol(text).length, 1);
    assert.equal(errors(text, 'vanished'), '0');

    h.remove(SYMBOL);
    h.write(OOB, 'N/A (no PMA)');
    await sleep(150);
    text = await scrape(port);
    assert.deepEqual(symbol(text), []);
    assert.deepEqual(oob(text), []);
    assert.equal(errors(text, 'vanished'), '1');
    assert.equal(errors(text, 'unparsable'), '1');
    // the other counters of the port are still there
    assert.equal(txBytes(text) !== undefined, true);
    await sleep(150);
    text = await scrape(port);
    assert.equal(errors(text, 'vanished'), '1', 'a file that stays gone is counted once');

    h.write(SYMBOL, '7');
    h.write(OOB, '9');
    await sleep(150);
    text = await scrape(port);
    assert.deepEqual(symbol(text), ['railwatch_rdma_port_stat_total{device="mlx5_0",port="1",stat="symbol_error"} 7']);
    assert.deepEqual(oob(text), ['railwatch_rdma_hw_stat_total{device="mlx5_0",port="1",stat="out_of_buffer"} 9']);
  });

  test('concurrent scrapes share one read; a scrape after the reuse window reads again', async () => {
    const state = stateFor(host());
    let reads = 0;
    const counting = {
      name: 'counting',
      read: () => {
        reads++;
        return { value: '', skips: [] };
      },
    };
    const renderer = createMetricsRenderer({ defaultMetrics: false, freshSources: [counting], fresh: { reuseMs: 100 } });
    const texts = (await Promise.all(Array.from({ length: 50 }, () => renderer.render(state)))).map(partsText);
    assert.equal(reads, 1, '50 concurrent scrapes, one read');
    assert.ok(texts.every((text) => txBytes(text) !== undefined));
    assert.deepEqual(familyLines(texts[49]!, 'railwatch_scrape_reads_total'), ['railwatch_scrape_reads_total 1']);
    await sleep(150);
    await renderer.render(state);
    assert.equal(reads, 2, 'a scrape 150 ms later reads again');
  });

  test('the read stops at its deadline: what was not read has no series', () => {
    const h = host();
    const state = stateFor(h);
    const plan = planCounterReads(state.snapshot);
    const sys = new HostFs(h.sys);
    const full = readPortCounters(sys, plan, performance.now() + 10_000);
    assert.deepEqual(full.skips, []);
    assert.ok(full.value.every((p) => (p.dirs['counters']?.size ?? 0) > 0));
    const late = readPortCounters(sys, plan, performance.now() - 1);
    assert.ok(late.value.every((p) => p.dirs['counters']?.size === 0 && p.dirs['hw_counters']?.size === 0));
    assert.equal(late.skips.length, plan.reduce((n, p) => n + p.files.length, 0));
    assert.ok(late.skips.every((s) => s.reason === 'timeout'));
  });

  test('a source that does not answer in time is left out and counted; the RDMA counters are still served', async (t) => {
    const h = host();
    const state = stateFor(h);
    const hanging = { name: 'stuck', read: () => new Promise<never>(() => undefined) };
    const extra = {
      name: 'vf',
      read: () => ({ value: writeFamily({ name: 'railwatch_test_vf_bytes_total', help: 'Test.', type: 'counter', labels: ['vf'], }, [{ labels: ['0'], value: 5n }]), skips: [] }),
    };
    const renderer = createMetricsRenderer({ defaultMetrics: false, freshSources: [hanging, extra], fresh: { timeoutMs: 100 } });
    const server = await startHttpServer({ listen: '127.0.0.1:0', state: () => state, log: silentLogger, render: renderer });
    t.after(() => server.close());
    const started = performance.now();
    const text = await scrape(server.port);
    assert.ok(performance.now() - started < 2000);
    assert.equal(txBytes(text) !== undefined, true);
    assert.deepEqual(familyLines(text, 'railwatch_test_vf_bytes_total'), ['railwatch_test_vf_bytes_total{vf="0"} 5']);
    assert.deepEqual(familyLines(text, 'railwatch_scrape_read_errors_total').filter((l) => l.includes('source="stuck"') && !l.endsWith(' 0')), [
      'railwatch_scrape_read_errors_total{source="stuck",reason="timeout"} 1',
    ]);
    // the renderer's text equals what the server sent
    assert.ok(partsText(await renderer.render(state)).includes('railwatch_test_vf_bytes_total{vf="0"} 5'));
  });
});
