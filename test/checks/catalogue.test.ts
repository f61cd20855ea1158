import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CATALOGUE, STEPS } from '../../agent/checks/catalogue.ts';
import { renderChecksMarkdown } from '../../agent/checks/docs.ts';
import { viewOf } from '../helpers/view.ts';
import { exitCodeFor, runChecks, summarize } from '../../agent/checks/run.ts';
import { stepLabel, type Step } from '../../agent/checks/step.ts';
import { CONFIG_TOP_KEYS, ConfigError, loadConfigFile, parseConfigText, validateConfig } from '../../agent/config/config.ts';
import { FixtureHost } from '../helpers/fixture-host.ts';
import { configWith, scan, UNKNOWN_ALLOCATION } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');

test('the chain has exactly its steps, in order', () => {
  assert.deepEqual(STEPS.map(stepLabel), [
    '1-hardware-iommu',
    '2-kernel-iommu',
    '3-hugepages',
    '4-rdma-core',
    '5-nic-vfs',
    '6-links',
    '7-gpu-stack',
    '8-device-plugin',
    '9-cni',
    '10-rail-count',
    '11-network-attachments',
    '12-pod-rails',
  ]);
});

test('catalogue entries are unique, kebab-case and fully documented', () => {
  const ids = CATALOGUE.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const c of CATALOGUE) {
    assert.match(c.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, c.id);
    assert.ok(c.reads.length > 0, `${c.id} reads`);
    assert.ok(c.why.length > 20, `${c.id} why`);
    assert.ok(c.fix.length > 20, `${c.id} fix`);
  }
});

test('runChecks gives one result per catalogue check, in catalogue order', () => {
  const host = new FixtureHost();
  try {
    const config = configWith(undefined);
    const report = runChecks(viewOf(scan(host, config), { config, allocation: UNKNOWN_ALLOCATION }));
    assert.deepEqual(
      report.results.map((r) => [r.id, r.stepLabel]),
      CATALOGUE.map((c) => [c.id, c.stepLabel]),
    );
    assert.deepEqual(summarize(report), { pass: 1, warn: 0, fail: 2, skip: 32 });
    assert.equal(report.firstFailing?.id, 'hardware-iommu');
    assert.equal(exitCodeFor(report), 2);
  } finally {
    host.cleanup();
  }
});

test('a step that throws fails its checks instead of aborting the chain', () => {
  const host = new FixtureHost();
  try {
    const config = configWith(undefined);
    const broken: Step = {
      step: 1,
      slug: 'broken',
      title: 'Broken',
      checks: [{ id: 'broken-check', title: 'Broken check', reads: ['x'], why: 'y', fix: 'z' }],
      run() {
        throw new Error('boom');
      },
    };
    const report = runChecks(viewOf(scan(host, config), { config, allocation: UNKNOWN_ALLOCATION }), [broken, STEPS[2]!]);
    assert.deepEqual(report.results[0], {
      id: 'broken-check',
      step: 1,
      stepLabel: '1-broken',
      title: 'Broken check',
      status: 'fail',
      finding: 'check crashed: boom',
      remediation: 'Report this as a railwatch bug with the output of railwatch inventory --json.',
    });
    assert.equal(report.results[1]?.id, 'hugepages');
  } finally {
    host.cleanup();
  }
});

test('exit codes: 0 pass and skip, 1 warn, 2 fail', () => {
  const base = { id: 'x', step: 1, stepLabel: '1-x', title: 'x', finding: '' };
  assert.equal(exitCodeFor({ results: [{ ...base, status: 'pass' }, { ...base, status: 'skip' }], ready: true }), 0);
  assert.equal(exitCodeFor({ results: [{ ...base, status: 'pass' }, { ...base, status: 'warn' }], ready: true }), 1);
  assert.equal(exitCodeFor({ results: [{ ...base, status: 'warn' }, { ...base, status: 'fail' }], ready: false }), 2);
});

test('docs/checks.md is generated from the catalogue (run node scripts/gen-check-docs.ts when this fails)', () => {
  const committed = readFileSync(join(ROOT, 'docs/checks.md'), 'utf8');
  assert.equal(committed, renderChecksMarkdown());
  for (const c of CATALOGUE) assert.ok(committed.includes(`### ${c.id}\n`), c.id);
});

test('config.example.yaml is valid and sets every setting', () => {
  const cfg = loadConfigFile(join(ROOT, 'config.example.yaml'));
  assert.deepEqual(cfg, {
    labelPrefix: 'railwatch.io/',
    scanIntervalSeconds: 10,
    conditionHeartbeatSeconds: 600,
    rails: {
      ens1f0np0: 0,
      ens2f0np0: 1,
      ens3f0np0: 2,
      ens4f0np0: 3,
      '0000:56:00.0': 4,
      '0000:5e:00.0': 5,
      '0000:76:00.0': 6,
      '0000:7e:00.0': 7,
    },
    expectedRails: 8,
    desiredVfs: { all: 8, pfs: { ens1f0np0: 4 }, rails: { '7': 16 } },
    expectedRateGbps: 400,
    expectedMtu: 9000,
    hugepages: { sizeKb: 1048576, count: 8, perNuma: true },
    kubelet: { podResourcesSocket: '/var/lib/kubelet/pod-resources/kubelet.sock', devicePluginsDir: '/var/lib/kubelet/device-plugins' },
    cni: { confDir: '/etc/cni/net.d', binDir: '/opt/cni/bin' },
  });
  const text = readFileSync(join(ROOT, 'config.example.yaml'), 'utf8');
  for (const key of CONFIG_TOP_KEYS) assert.match(text, new RegExp(`^${key}:`, 'm'), key);
});

test('docs/config.md documents every setting', () => {
  const doc = readFileSync(join(ROOT, 'docs/config.md'), 'utf8');
  for (const key of CONFIG_TOP_KEYS) assert.ok(doc.includes(`## ${key}\n`), `section for ${key}`);
  for (const key of ['kubelet.podResourcesSocket', 'kubelet.devicePluginsDir', 'cni.confDir', 'cni.binDir', 'perNuma']) assert.ok(doc.includes(key), key);
});

test('config errors name the field', () => {
  const cases: [unknown, string][] = [
    [{ hugepages: { size: '3Mi', count: 1 } }, 'hugepages.size'],
    [{ hugepages: { size: '1Gi' } }, 'hugepages.count'],
    [{ expectedRateGbps: 'fast' }, 'expectedRateGbps'],
    [{ kubelet: { devicePluginsDir: 'relative/path' } }, 'kubelet.devicePluginsDir'],
    [{ cni: { binDirectory: '/opt/cni/bin' } }, 'cni.binDirectory'],
    [{ desiredVfs: { rails: { first: 4 } } }, 'desiredVfs.rails.first'],
    [{ expectedMtu: 10 }, 'expectedMtu'],
  ];
  for (const [doc, field] of cases) {
    assert.throws(
      () => validateConfig(doc),
      (err: unknown) => err instanceof ConfigError && err.field === field && err.message.startsWith(`config: ${field}: `),
      field,
    );
  }
  assert.throws(() => parseConfigText('a: [1,'), (err: unknown) => err instanceof ConfigError && err.field === '(yaml)');
});
