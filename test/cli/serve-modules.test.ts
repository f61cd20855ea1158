// What `serve` loads before it needs it: Node's bundled undici and http2 (pulled in by an ESM import of node:http,
// whose module facade reads the lazy WebSocket getters), node:https and node:crypto (TLS, only for the API server), and
// the yaml library (only for a config file) cost about 12 MiB resident together. Each child process below imports
// the modules that `serve --no-kube` imports and reports which of them it loaded; the second case shows the check
// sees a load when one happens.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const REPO = join(import.meta.dirname, '..', '..');

/** Runs `body` (an ES module text) in a fresh node from the repository root; returns what it printed, parsed. */
function probe(body: string): { builtins: string[]; yaml: boolean } {
  const script = `
import { createRequire } from 'node:module';
${body}
const loaded = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
const cache = createRequire(import.meta.url).cache;
console.log(JSON.stringify({ builtins: loaded, yaml: Object.keys(cache).some((k) => k.includes('/node_modules/yaml/')) }));
`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as { builtins: string[]; yaml: boolean };
}

const HEAVY = ['internal/deps/undici/undici', 'http2', 'https', 'tls', 'crypto'];

test('importing serve, its HTTP server, the kube client and the config loader loads no undici, http2, TLS, crypto or yaml', () => {
  const got = probe(`
await import('./agent/cli/serve.ts');
await import('./agent/http/server.ts');
await import('./agent/kube/client.ts');
const { defaultConfig } = await import('./agent/config/config.ts');
defaultConfig();
`);
  assert.ok(got.builtins.includes('http'), 'the probe sees the builtins that serve does load');
  assert.deepEqual(HEAVY.filter((m) => got.builtins.includes(m)), []);
  assert.equal(got.yaml, false, 'the yaml library is loaded only when a config text is parsed');
});

test('the probe sees what a config file and an ESM import of node:http load', () => {
  const got = probe(`
const { parseConfigText } = await import('./agent/config/config.ts');
parseConfigText('scanIntervalSeconds: 10\\n');
await import('node:http');
`);
  assert.equal(got.yaml, true);
  assert.ok(got.builtins.includes('internal/deps/undici/undici'), 'the ESM facade of node:http loads undici');
});
