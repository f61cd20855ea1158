// Load: a short run of bench/load.ts (50 scrapers for 5 s against the real binary) with no errors; slow-loris
// clients are dropped after the header timeout and do not stop normal scrapes while they are connected.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { defaultConfig } from '../../agent/config/config.ts';
import { startHttpServer } from '../../agent/http/server.ts';
import { silentLogger } from '../../agent/log.ts';
import { createMetricsRenderer } from '../../agent/metrics/render.ts';
import { createAgentState } from '../../agent/state.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { scanFixture } from '../metrics/exposition-helpers.ts';
import type { LoadResult } from '../../bench/load.ts';
import { httpGet, NODE, REPO, until } from './helpers.ts';

describe('load', () => {
  test('50 concurrent scrapers for 5 s: no errors', async (t) => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(NODE, [join(REPO, 'bench/load.ts'), '--duration', '5', '--scrapers', '50', '--rails', '2', '--vfs', '8', '--json'], { cwd: REPO, timeout: 120_000 }, (err, stdout, stderr) =>
        err && !stdout ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out) as LoadResult;
    t.diagnostic(`${r.requests} scrapes, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ${r.throughputPerS}/s`);
    assert.deepEqual([r.errors, r.errorKinds], [0, {}]);
    assert.ok(r.requests >= 50, `${r.requests} scrapes`);
  });

  test('slow-loris: 200 dribbling connections do not block scrapes and are dropped after the header timeout', async (t) => {
    const host = buildDgxHost({ rails: 1, vfsPerPf: 2 });
    t.after(() => host.cleanup());
    const state = createAgentState(defaultConfig(), 'test');
    state.snapshot = scanFixture(host);
    // the production server with a short header timeout (default 10 s) to keep the test short
    const server = await startHttpServer({ listen: '127.0.0.1:0', state: () => state, log: silentLogger, render: createMetricsRenderer({ defaultMetrics: false }), limits: { headersTimeoutMs: 1000 } });
    t.after(() => server.close());
    const sockets: Socket[] = [];
    let closed = 0;
    const timers: NodeJS.Timeout[] = [];
    t.after(() => {
      for (const x of timers) clearInterval(x);
      for (const s of sockets) s.destroy();
    });
    for (let i = 0; i < 200; i++) {
      const s = connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      s.on('data', () => undefined);
      const line = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(1000);
      let pos = 0;
      timers.push(setInterval(() => !s.destroyed && s.write(line[pos++ % line.length]!), 100));
      sockets.push(s);
    }
    await until(() => sockets.every((s) => s.readyState === 'open' || s.destroyed), 'the connections');
    // while they dribble, a normal scrape is answered
    const r = await httpGet(server.port, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(closed, 0, 'the slow clients were still connected during the scrape');
    // the header timeout cuts every one of them
    await until(() => closed === 200, 'the server to drop the slow clients', 10_000);
    assert.equal((await httpGet(server.port, '/healthz')).status, 200);
  });
});
