// Config: every field wrong in turn gives a ConfigError naming the field: from the validator, at start-up of the
// real binary (non-zero exit, the field on stderr), and on reload (SIGHUP path and file watch: the old config is
// kept and the rejection logged with the field).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startAgent } from '../../agent/cli/serve.ts';
import { ConfigError, loadConfigFile, parseConfigText } from '../../agent/config/config.ts';
import { memoryLogger } from '../../agent/log.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { spawnRailwatch, until } from './helpers.ts';
import { testAgentOptions } from '../helpers/agent.ts';

/** [field named in the error, YAML that gets it wrong] */
const BAD: readonly (readonly [string, string])[] = [
  ['(yaml)', 'labelPrefix: [unclosed'],
  ['(root)', '- a\n- list\n'],
  ['unknownSetting', 'unknownSetting: 1'],
  ['labelPrefix', 'labelPrefix: "Not A Prefix"'],
  ['labelPrefix', 'labelPrefix: railwatch.io'],
  ['scanIntervalSeconds', 'scanIntervalSeconds: 0'],
  ['scanIntervalSeconds', 'scanIntervalSeconds: ten'],
  ['scanIntervalSeconds', 'scanIntervalSeconds: .inf'],
  ['conditionHeartbeatSeconds', 'conditionHeartbeatSeconds: 5'],
  ['rails', 'rails: [1, 2]'],
  ['rails.ens1f0np0', 'rails: {ens1f0np0: 300}'],
  ['rails.ens2f0np0', 'rails: {ens1f0np0: 1, ens2f0np0: 1}'],
  ['expectedRails', 'expectedRails: -1'],
  ['expectedRails', 'expectedRails: 2.5'],
  ['desiredVfs', 'desiredVfs: lots'],
  ['desiredVfs', 'desiredVfs: 99999'],
  ['desiredVfs.all', 'desiredVfs: {all: -4}'],
  ['desiredVfs.pfs.ens1f0np0', 'desiredVfs: {pfs: {ens1f0np0: "8"}}'],
  ['desiredVfs.rails.first', 'desiredVfs: {rails: {first: 8}}'],
  ['desiredVfs.bogus', 'desiredVfs: {bogus: 8}'],
  ['expectedRateGbps', 'expectedRateGbps: 0'],
  ['expectedMtu', 'expectedMtu: 10'],
  ['hugepages', 'hugepages: 5'],
  ['hugepages.size', 'hugepages: {count: 4}'],
  ['hugepages.size', 'hugepages: {size: 3Mi, count: 4}'],
  ['hugepages.count', 'hugepages: {size: 1Gi, count: -1}'],
  ['hugepages.perNuma', 'hugepages: {size: 1Gi, count: 4, perNuma: "yes"}'],
  ['hugepages.extra', 'hugepages: {size: 1Gi, count: 4, extra: 1}'],
  ['kubelet', 'kubelet: x'],
  ['kubelet.podResourcesSocket', 'kubelet: {podResourcesSocket: relative/kubelet.sock}'],
  ['kubelet.devicePluginsDir', 'kubelet: {devicePluginsDir: 5}'],
  ['kubelet.other', 'kubelet: {other: /x}'],
  ['cni', 'cni: 1'],
  ['cni.confDir', 'cni: {confDir: etc/cni}'],
  ['cni.binDir', 'cni: {binDir: ""}'],
  ['cni.other', 'cni: {other: /x}'],
];

const dir = mkdtempSync(join(tmpdir(), 'railwatch-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    assert.ok(err.message.includes(err.field), `the message names the field: ${err.message}`);
    return err.field;
  }
  return '(accepted)';
}

describe('validator', () => {
  test('every bad field is rejected with a ConfigError naming it', () => {
    const got = BAD.map(([, yaml]) => fieldOf(() => parseConfigText(yaml)));
    assert.deepEqual(got, BAD.map(([field]) => field));
  });

  test('an unreadable config file is a ConfigError too', () => {
    assert.equal(fieldOf(() => loadConfigFile(join(dir, 'absent.yaml'))), '(file)');
    assert.equal(fieldOf(() => loadConfigFile(dir)), '(file)');
  });

  test('YAML alias bombs are refused, not expanded', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill('*' + String.fromCharCode(97 + i)).join(', ')}]`)].join('\n');
    assert.equal(fieldOf(() => parseConfigText(bomb)), '(yaml)');
  });
});

describe('start-up of the real binary', () => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 1 });
  after(() => host.cleanup());

  // one bad value per top-level setting (every field goes through the same loadConfig at start-up; the
  // validator test above covers each nested field)
  const perSetting = BAD.filter(([field], i) => BAD.findIndex(([f]) => f.split('.')[0] === field.split('.')[0]) === i);

  test('each bad config: exit 78, the field on stderr, nothing served', async () => {
    const results: string[] = [];
    const queue = perSetting.map(([field, yaml], i) => ({ field, yaml, file: join(dir, `bad-${i}.yaml`) }));
    for (const q of queue) writeFileSync(q.file, q.yaml);
    const run = async (q: (typeof queue)[number]) => {
      const p = spawnRailwatch(['serve', '--config', q.file, '--no-kube', '--no-monitors', '--listen', '127.0.0.1:0', '--sysfs', host.sys, '--procfs', host.proc]);
      const { code } = await p.exited;
      const err = p.stderr();
      results.push(`${q.field} exit=${code} named=${err.includes(`config: ${q.field}:`)} served=${err.includes('railwatch serving')}`);
    };
    // six at a time: each is a Node start-up
    const pending = [...queue];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let q = pending.shift(); q !== undefined; q = pending.shift()) await run(q);
      }),
    );
    assert.equal(perSetting.length, 14);
    assert.deepEqual(results.sort(), perSetting.map(([field]) => `${field} exit=78 named=true served=false`).sort());
  });
});

describe('reload', () => {
  test('a bad config on reload is rejected with its field, the old one kept; a good one is applied', async (t) => {
    const host = buildDgxHost({ rails: 1, vfsPerPf: 1 });
    // the watcher watches the file's directory from its parent: keep both small
    const liveDir = join(dir, 'live');
    mkdirSync(liveDir);
    const file = join(liveDir, 'config.yaml');
    writeFileSync(file, 'expectedMtu: 9000\nexpectedRails: 1\n');
    const log = memoryLogger();
    const agent = await startAgent(
      testAgentOptions(host, { configFile: file, config: loadConfigFile(file), podResourcesSocket: join(dir, 'no-kubelet.sock'), intervalMs: 60_000, log }),
    );
    t.after(async () => {
      await agent.stop();
      host.cleanup();
    });
    await agent.nextScan();
    const original = agent.state().config;
    assert.equal(original.expectedMtu, 9000);
    const rejectedFields: string[] = [];
    for (const [, yaml] of BAD) {
      writeFileSync(file, yaml);
      const before = log.lines.length;
      agent.reloadConfig(); // what SIGHUP does
      const line = log.lines.slice(before).find((l) => l.level === 'error' && l.msg === 'rejected the new config; keeping the old one');
      rejectedFields.push(String(line?.meta?.['field']));
    }
    const rescanned = agent.nextScan();
    agent.trigger('test');
    await rescanned;
    assert.equal(agent.state().config, original, 'the old config is kept');
    assert.deepEqual(rejectedFields, BAD.map(([field]) => field));
    // the file watcher saw the bad versions as well and logged them with their field
    let n = 0;
    await until(() => {
      // rewrite until the watcher (ready after its initial scan) sees a change
      writeFileSync(file, `expectedMtu: ${10 + (n++ % 2)}\n`);
      return log.lines.some((l) => l.msg === 'config reload rejected; keeping the previous config' && l.meta?.['field'] === 'expectedMtu');
    }, 'the file watcher to reject the bad file');
    assert.equal(agent.state().config, original, 'the old config is kept after the file watcher saw the bad file');

    writeFileSync(file, 'expectedMtu: 4200\nexpectedRails: 1\n');
    agent.reloadConfig();
    const scanned = agent.nextScan();
    agent.trigger('test');
    await scanned;
    assert.deepEqual([agent.state().config.expectedMtu, agent.state().config.expectedRails], [4200, 1]);
  });
});
