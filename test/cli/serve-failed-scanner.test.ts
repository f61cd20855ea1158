// A scanner that throws must not turn into fake zeros: the agent keeps the last complete snapshot and writes
// nothing to the Node from the partial one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent } from '../../agent/cli/serve.ts';
import { memoryLogger } from '../../agent/log.ts';
import { SCANNERS, type Scanner } from '../../agent/scan/registry.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { testAgentOptions } from '../helpers/agent.ts';

test('a failing scanner keeps the last complete snapshot (no rails=0), and readiness waits for a complete scan', async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
  t.after(() => host.cleanup());
  let broken = true;
  const scanners: Scanner[] = SCANNERS.map((s) =>
    s.name !== 'pci'
      ? s
      : {
          name: 'pci',
          run(ctx, parts) {
            if (broken) throw new Error('simulated scanner failure');
            s.run(ctx, parts);
          },
        },
  );
  const log = memoryLogger();
  const agent = await startAgent(testAgentOptions(host, { log, scanners }));
  t.after(() => agent.stop());
  const base = `http://127.0.0.1:${agent.http.port}`;
  await agent.nextScan();
  assert.equal((await fetch(`${base}/readyz`)).status, 503, 'no complete scan yet');
  const early = await (await fetch(`${base}/metrics`)).text();
  assert.doesNotMatch(early, /^railwatch_rails /m, 'no rails=0 from a partial scan');
  assert.match(early, /^railwatch_scan_errors_total\{scanner="pci"\} [1-9]/m);
  broken = false;
  agent.trigger('test');
  await agent.nextScan();
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.match(await (await fetch(`${base}/metrics`)).text(), /^railwatch_rails 2$/m);
  broken = true;
  agent.trigger('test');
  await agent.nextScan();
  const after = await (await fetch(`${base}/metrics`)).text();
  assert.match(after, /^railwatch_rails 2$/m, 'the last complete snapshot is kept');
  assert.ok(log.lines.some((l) => l.level === 'error' && l.msg === 'scanners failed; keeping the last complete snapshot'));
});
