// LiveConfig alone: which changed settings wait for a restart, what a reload puts in force and logs, the SIGHUP
// path with no file, a bad file and a good one, and the file watch (a new config applied, a rejected one counted).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultConfig, type Config } from '../../agent/config/config.ts';
import { memoryLogger } from '../../agent/log.ts';
import { LiveConfig, restartOnlyChanges } from '../../agent/serve/config-reload.ts';
import { until } from '../reliability/helpers.ts';

function live(file?: string) {
  const log = memoryLogger();
  const errors = new Map<string, number>();
  let applied = 0;
  const config = new LiveConfig({ config: defaultConfig(), ...(file !== undefined ? { file } : {}), onApplied: () => void applied++, errors, log });
  return { config, log, errors, applied: () => applied };
}

test('restartOnlyChanges names the start-up settings a new config changes, and nothing else', () => {
  const base = defaultConfig();
  assert.deepEqual(restartOnlyChanges(base, defaultConfig()), []);
  assert.deepEqual(restartOnlyChanges(base, { ...base, expectedRails: 8, expectedMtu: 4200 }), [], 'applied at the next scan');
  const next: Config = {
    ...base,
    labelPrefix: 'example.com/',
    scanIntervalSeconds: base.scanIntervalSeconds + 1,
    conditionHeartbeatSeconds: base.conditionHeartbeatSeconds + 60,
    kubelet: { podResourcesSocket: '/other.sock', devicePluginsDir: '/other/plugins' },
    cni: { ...base.cni, confDir: '/other/net.d' },
  };
  assert.deepEqual(restartOnlyChanges(base, next), [
    'labelPrefix',
    'scanIntervalSeconds',
    'conditionHeartbeatSeconds',
    'kubelet.podResourcesSocket',
    'kubelet.devicePluginsDir',
    'cni.confDir',
  ]);
});

test('apply puts the config in force, warns about restart-only settings, and calls onApplied', () => {
  const { config, log, applied } = live();
  const first = config.current;
  const next = { ...first, expectedRails: 4 };
  config.apply(next, 'file watch');
  assert.equal(config.current, next);
  assert.equal(applied(), 1);
  assert.deepEqual(log.lines.map((l) => [l.level, l.msg, l.meta]), [['info', 'config reloaded', { source: 'file watch' }]]);
  config.apply({ ...next, labelPrefix: 'example.com/' }, 'SIGHUP');
  assert.deepEqual(log.lines.map((l) => [l.level, l.msg, l.meta]).slice(1), [
    ['warn', 'these settings take effect at the next restart', { source: 'SIGHUP', fields: ['labelPrefix'] }],
    ['info', 'config reloaded', { source: 'SIGHUP' }],
  ]);
  assert.equal(config.current.labelPrefix, 'example.com/', 'in force all the same (for what reads it per scan)');
  assert.equal(applied(), 2);
});

test('reloadFile: no file, a rejected file (the old config stays), a good file', (t) => {
  const none = live();
  none.config.reloadFile();
  assert.deepEqual(none.log.lines.map((l) => l.msg), ['no config file to reload']);
  assert.equal(none.config.watch(), undefined, 'nothing to watch either');

  const dir = mkdtempSync(join(tmpdir(), 'railwatch-live-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'expectedRails: -1\n');
  const l = live(file);
  const before = l.config.current;
  l.config.reloadFile();
  assert.equal(l.config.current, before);
  assert.equal(l.applied(), 0);
  const rejected = l.log.lines.find((x) => x.level === 'error');
  assert.equal(rejected?.msg, 'rejected the new config; keeping the old one');
  assert.equal(rejected?.meta?.['field'], 'expectedRails');

  writeFileSync(file, 'expectedRails: 4\n');
  l.config.reloadFile();
  assert.equal(l.config.current.expectedRails, 4);
  assert.equal(l.applied(), 1);
  assert.deepEqual(l.log.lines.at(-1), { level: 'info', msg: 'config reloaded', meta: { source: 'SIGHUP' } });
});

test('the file watch applies a new valid config and counts a rejected one as scanner config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'railwatch-live-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'expectedRails: 2\n');
  const l = live(file);
  const watch = l.config.watch();
  assert.ok(watch !== undefined);
  t.after(() => watch.close());
  await watch.ready;
  writeFileSync(file, 'expectedRails: 6\n');
  await until(() => l.applied() === 1, 'the new config applied');
  assert.equal(l.config.current.expectedRails, 6);
  assert.ok(l.log.lines.some((x) => x.msg === 'config reloaded' && x.meta?.['source'] === 'file watch'));
  writeFileSync(file, 'expectedRails: lots\n');
  await until(() => l.errors.get('config') === 1, 'the rejection counted');
  assert.equal(l.config.current.expectedRails, 6, 'the old config stays');
  assert.equal(l.applied(), 1);
});
