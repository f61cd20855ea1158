// Agents and fleet together: two real agents (fixture hosts) write their conditions to the in-process API server,
// `railwatch fleet` reads them back. The failing step comes out of the agent's condition reason as fleet maps it;
// an agent that stops is stale once its heartbeat is older than --stale-after, while a live one's heartbeat moves.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, type RunningAgent } from '../../agent/cli/serve.ts';
import { fleetCommand } from '../../agent/cli/fleet.ts';
import { validateConfig } from '../../agent/config/config.ts';
import type { FleetReport } from '../../agent/fleet/report.ts';
import { testAgentOptions } from '../helpers/agent.ts';
import { kubeConfigForServer, startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { until } from '../kube/harness.ts';

describe('fleet reads what the agents write', () => {
  let server: FakeApiServer;
  let dir: string;
  let tokenFile: string;
  const hosts: FixtureHost[] = [];
  const agents = new Map<string, RunningAgent>();

  before(async () => {
    server = await startFakeApiServer();
    dir = mkdtempSync(join(tmpdir(), 'railwatch-fleet-agents-'));
    tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, server.token);
    for (const [node, desired] of [['gpu-a', 4], ['gpu-b', 8]] as const) {
      server.addNode(node, { 'node.kubernetes.io/instance-type': 'p5.48xlarge' });
      const host = buildDgxHost({ rails: 2, vfsPerPf: 4 });
      hosts.push(host);
      const agent = await startAgent(
        testAgentOptions(host, {
          config: validateConfig({ desiredVfs: desired, conditionHeartbeatSeconds: 10 }),
          nodeName: node,
          noKube: false,
          kube: { loadConfig: () => kubeConfigForServer(server.url, tokenFile), backoff: { initialMs: 50, maxMs: 500 } },
        }),
      );
      agents.set(node, agent);
    }
    const written = (n: string) => server.conditions(n).some((c) => c['type'] === 'RdmaNetworkReady') && server.labels(n)['railwatch.io/rdma'] === 'true';
    await until(() => written('gpu-a') && written('gpu-b'), 'both agents to write their condition and labels');
  });
  after(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await server.close();
    for (const h of hosts) h.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fleet(argv: string[]): Promise<{ code: number; report: FleetReport }> {
    let out = '';
    const code = await fleetCommand({ argv: ['--json', ...argv], env: {}, out: (t) => void (out += t), err: (t) => assert.fail(t), loadConfig: () => kubeConfigForServer(server.url, tokenFile) });
    return { code, report: JSON.parse(out) as FleetReport };
  }

  it('groups the failing node by the step of its condition reason', async () => {
    const { code, report } = await fleet([]);
    assert.equal(code, 1);
    assert.deepEqual(report.summary, { ready: ['gpu-a'], notReady: ['gpu-b'], noCondition: [], stale: [] });
    assert.deepEqual(
      report.failing.map((g) => [g.step, g.reason, g.nodes]),
      [['5-nic-vfs', 'VfsDesired', ['gpu-b']]],
    );
    assert.deepEqual(report.outliers, []);
  });

  it('a stopped agent goes stale; a live one keeps its heartbeat fresh', async () => {
    await agents.get('gpu-a')!.stop();
    const beat = (n: string) => String(server.conditions(n).find((c) => c['type'] === 'RdmaNetworkReady')?.['lastHeartbeatTime']);
    const firstB = beat('gpu-b');
    const firstA = beat('gpu-a');
    await until(() => beat('gpu-b') !== firstB, "gpu-b's heartbeat refresh", 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    const { code, report } = await fleet(['--stale-after', '8s']);
    assert.equal(beat('gpu-a'), firstA, 'the stopped agent wrote nothing');
    assert.equal(code, 1);
    assert.deepEqual(report.summary.stale, ['gpu-a']);
    assert.deepEqual(report.summary.notReady, ['gpu-b']);
    assert.equal(report.staleAfterSeconds, 8);
  });
});
