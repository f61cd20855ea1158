// The HTTP surface of the running agent: only GET and HEAD on /metrics, /healthz, /readyz and /status; 405 for
// other methods there, 404 everywhere else; traversal attempts never reach the filesystem; /status holds the
// node's own inventory and nothing of the environment, the config's paths or the Kubernetes token; the bind
// address is the configured one.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAgent, type RunningAgent } from '../../agent/cli/serve.ts';
import { memoryLogger } from '../../agent/log.ts';
import { kubeConfigForServer, startFakeApiServer, type FakeApiServer } from '../helpers/fake-apiserver.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { httpGet, until } from '../reliability/helpers.ts';
import { testAgentOptions } from '../helpers/agent.ts';

const KNOWN = ['/', '/metrics', '/healthz', '/readyz', '/status'];
const TOKEN = 'sekret-bearer-token-7f3a9c1e';
const ENV_SECRET = 'env-secret-value-41d2b8';

const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
const dir = mkdtempSync(join(tmpdir(), 'railwatch-sec-'));
let server: FakeApiServer;
let agent: RunningAgent;
const log = memoryLogger();

before(async () => {
  server = await startFakeApiServer({ nodes: ['node-a'], token: TOKEN });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN);
  agent = await startAgent(
    testAgentOptions(host, {
      podResourcesSocket: join(dir, 'absent.sock'),
      intervalMs: 60_000,
      nodeName: 'node-a',
      log,
      env: { ...process.env, RAILWATCH_TEST_SECRET: ENV_SECRET, AWS_SECRET_ACCESS_KEY: ENV_SECRET },
      kube: { loadConfig: () => kubeConfigForServer(server.url, tokenFile), backoff: { initialMs: 50, maxMs: 200 } },
    }),
  );
  await until(() => server.writes().length > 0, 'the agent to write its labels with the token');
  await until(async () => (await httpGet(agent.http.port, '/readyz')).status === 200, 'the first scan');
});
after(async () => {
  await agent.stop();
  await server.close();
  host.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends a raw request line (for targets a client library would normalise or refuse). */
function raw(port: number, requestLine: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (out += c));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(`${requestLine}\r\nHost: railwatch\r\nConnection: close\r\n\r\n`);
  });
}

describe('methods and paths', () => {
  test('GET and HEAD on the known paths; every other method 405 with Allow', async () => {
    const port = agent.http.port;
    const got: string[] = [];
    for (const path of KNOWN) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']) {
        const r = await httpGet(port, path, method);
        got.push(`${method} ${path} ${r.status}${r.status === 405 ? ` allow=${String(r.headers['allow'])}` : ''}`);
      }
    }
    const want = KNOWN.flatMap((path) => [
      `GET ${path} 200`,
      `HEAD ${path} 200`,
      ...['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'].map((m) => `${m} ${path} 405 allow=GET, HEAD`),
    ]);
    assert.deepEqual(got, want);
  });

  test('traversal and look-alike paths are 404 and never reach the filesystem', async () => {
    const port = agent.http.port;
    const targets = [
      '/index.html',
      '/../../etc/passwd',
      '/metrics/../status',
      '/metrics/../../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      '/metrics/%2e%2e/status',
      '/status/..%2f..%2f..%2fproc/self/environ',
      '//etc/passwd',
      '/etc/passwd',
      '/proc/self/environ',
      '/sys/class/net',
      '/metrics/',
      '/METRICS',
      '/metrics%00',
      '/metrics;/status',
      '/metrics/.',
      '/./metrics',
      '/status.json',
      '/healthz/../../root/.kube/config',
      '/%2fetc%2fpasswd',
      '/\\..\\..\\etc\\passwd',
    ];
    const got: string[] = [];
    for (const target of targets) {
      const text = await raw(port, `GET ${target} HTTP/1.1`);
      const status = /^HTTP\/1\.1 (\d+)/.exec(text)?.[1];
      got.push(`${target} ${status}`);
      assert.doesNotMatch(text, /root:x:0:0|PATH=|"snapshot"/, `${target} leaked something`);
    }
    assert.deepEqual(got, targets.map((t) => `${t} 404`));
    // absolute-form and asterisk-form targets are not the known paths either
    assert.match(await raw(port, 'GET http://127.0.0.1/metrics HTTP/1.1'), /^HTTP\/1\.1 404 /);
    assert.match(await raw(port, 'OPTIONS * HTTP/1.1'), /^HTTP\/1\.1 404 /);
    // a query string is ignored, not interpreted
    assert.equal((await httpGet(port, '/metrics?file=/etc/passwd&name[]=x')).status, 200);
  });

  test('the response headers say no more than needed', async () => {
    const r = await httpGet(agent.http.port, '/metrics');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['x-powered-by'], undefined);
    assert.equal(r.headers['server'], undefined);
  });
});

describe('what /status and /metrics disclose', () => {
  test('/status is the node inventory, checks and allocation view only', async () => {
    const r = await httpGet(agent.http.port, '/status');
    assert.equal(r.status, 200);
    const doc = JSON.parse(r.body) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(doc).sort(), ['allocation', 'checks', 'snapshot']);
    assert.deepEqual(Object.keys(doc['snapshot']!).sort(), [
      'displayGpus', 'durationMs', 'failedScanners', 'gpus', 'host', 'identity', 'issues', 'netdevs', 'pci', 'pfs', 'procfsRoot',
      'rails', 'rdmaDevices', 'schemaVersion', 'sysfsRoot', 'takenAtMs', 'topology',
    ]);
  });

  test('no environment value, token, kubeconfig or server address in any response', async () => {
    const port = agent.http.port;
    const secrets = [TOKEN, ENV_SECRET, server.url, `127.0.0.1:${new URL(server.url).port}`, 'Bearer', 'tokenFile', join(dir, 'token')];
    // every non-trivial environment value of this process (the agent was given the whole environment)
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && v.length >= 12 && !/^\/(usr|bin|tmp|work|root)\b/.test(v) && k !== 'PWD' && k !== 'OLDPWD') secrets.push(v);
    }
    for (const path of KNOWN) {
      const r = await httpGet(port, path);
      for (const s of secrets) assert.ok(!r.body.includes(s), `${path} contains ${JSON.stringify(s.slice(0, 12))}...`);
    }
    // nor in the log lines
    const logged = JSON.stringify(log.lines);
    assert.ok(!logged.includes(TOKEN) && !logged.includes(ENV_SECRET), 'the token or an env secret was logged');
  });

  test('the bind address is the configured one', () => {
    assert.equal(agent.http.address, '127.0.0.1');
  });
});
