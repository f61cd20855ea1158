import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { defaultConfig, type Config, type ConfigError } from '../../agent/config/config.ts';
import { memoryLogger } from '../../agent/log.ts';
import { watchConfig, watchDirs } from '../../agent/watch/files.ts';

/** Polls `cond` until true; fails after a generous bound (this is "eventually", not a latency assertion). */
async function eventually(cond: () => boolean, what: string, boundMs = 10_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A ConfigMap volume as the kubelet lays it out: config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>. */
class ConfigMapVolume {
  readonly dir: string;
  #n = 0;
  constructor(parent: string, text: string) {
    this.dir = join(parent, 'config');
    mkdirSync(this.dir);
    const first = this.#writeVersion(text);
    symlinkSync(first, join(this.dir, '..data'));
    symlinkSync('..data/config.yaml', join(this.dir, 'config.yaml'));
  }
  get file(): string {
    return join(this.dir, 'config.yaml');
  }
  #writeVersion(text: string): string {
    this.#n += 1;
    const name = `..2026_11_27_10_00_0${this.#n}.${100 + this.#n}`;
    mkdirSync(join(this.dir, name));
    writeFileSync(join(this.dir, name, 'config.yaml'), text);
    return name;
  }
  /** The kubelet's atomic update: new timestamped dir, new symlink renamed over ..data, old dir removed. */
  update(text: string): void {
    const old = `..2026_11_27_10_00_0${this.#n}.${100 + this.#n}`;
    const name = this.#writeVersion(text);
    symlinkSync(name, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    rmSync(join(this.dir, old), { recursive: true });
  }
}

describe('watchConfig on a ConfigMap-like volume', () => {
  const root = mkdtempSync(join(tmpdir(), 'railwatch-watch-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a good new config is reloaded, a bad one is rejected and the old one kept', async () => {
    const vol = new ConfigMapVolume(root, 'scanIntervalSeconds: 10\n');
    const log = memoryLogger();
    const configs: Config[] = [];
    const errors: ConfigError[] = [];
    const w = watchConfig({ file: vol.file, onConfig: (c) => configs.push(c), onError: (e) => errors.push(e), log, debounceMs: 50 });
    try {
      await w.ready;
      // the initial listing (chokidar reports the existing symlinks) must not count as a reload
      await sleep(200);
      assert.deepEqual(configs, []);

      vol.update('scanIntervalSeconds: 5\nexpectedMtu: 9000\n');
      await eventually(() => configs.length === 1, 'the reload of the good config');
      assert.deepEqual(configs[0], { ...defaultConfig(), scanIntervalSeconds: 5, expectedMtu: 9000 });

      vol.update('scanIntervalSeconds: 0.5\n');
      await eventually(() => errors.length === 1, 'the rejection of the bad config');
      assert.equal(errors[0]?.field, 'scanIntervalSeconds');
      assert.equal(configs.length, 1, 'a rejected config is not delivered');
      const warn = log.lines.find((l) => l.msg === 'config reload rejected; keeping the previous config');
      assert.deepEqual(warn, {
        level: 'warn',
        msg: 'config reload rejected; keeping the previous config',
        meta: { file: vol.file, field: 'scanIntervalSeconds', err: `config: ${vol.file}:1:22: scanIntervalSeconds: must be between 1 and 3600, got 0.5` },
      });

      vol.update('scanIntervalSeconds: 3\n');
      await eventually(() => configs.length === 2, 'the reload after a rejected config');
      assert.deepEqual(configs[1], { ...defaultConfig(), scanIntervalSeconds: 3 });
      assert.equal(errors.length, 1);
    } finally {
      await w.close();
    }
  });

  test('an in-place edit of a plain file is reloaded too', async () => {
    const dir = join(root, 'plain');
    mkdirSync(dir);
    const file = join(dir, 'railwatch.yaml');
    writeFileSync(file, 'labelPrefix: a.example.com/\n');
    const configs: Config[] = [];
    const w = watchConfig({ file, onConfig: (c) => configs.push(c), log: memoryLogger(), debounceMs: 50 });
    try {
      await w.ready;
      writeFileSync(file, 'labelPrefix: b.example.com/\n');
      await eventually(() => configs.length === 1, 'the reload');
      assert.deepEqual(configs, [{ ...defaultConfig(), labelPrefix: 'b.example.com/' }]);
    } finally {
      await w.close();
    }
  });
});

describe('watchDirs', () => {
  const root = mkdtempSync(join(tmpdir(), 'railwatch-watch-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('reports entries added and removed in the device-plugins and CNI directories, nothing deeper', async () => {
    const plugins = join(root, 'device-plugins');
    const cni = join(root, 'net.d');
    mkdirSync(plugins);
    mkdirSync(cni);
    mkdirSync(join(cni, 'multus.d'));
    writeFileSync(join(plugins, 'kubelet_internal_checkpoint'), '{}');
    const seen: string[] = [];
    const w = watchDirs({ dirs: [plugins, cni], onChange: (dir, event, path) => seen.push(`${dir === plugins ? 'plugins' : 'cni'} ${event} ${path.slice(dir.length)}`), log: memoryLogger() });
    try {
      await w.ready;
      writeFileSync(join(cni, '00-multus.conf'), '{}');
      await eventually(() => seen.includes('cni add /00-multus.conf'), 'the CNI add');
      writeFileSync(join(cni, 'multus.d', 'deep.conf'), '{}');
      rmSync(join(plugins, 'kubelet_internal_checkpoint'));
      await eventually(() => seen.includes('plugins unlink /kubelet_internal_checkpoint'), 'the plugins unlink');
      assert.equal(seen.filter((s) => s.includes('deep.conf')).length, 0, 'entries below the first level are not watched');
    } finally {
      await w.close();
    }
  });

  test('a directory that does not exist yet is logged, and seen once it is created', async () => {
    const cni = join(root, 'later', 'net.d');
    mkdirSync(join(root, 'later'));
    const log = memoryLogger();
    const seen: string[] = [];
    const w = watchDirs({ dirs: [cni, join(root, 'nope', 'deeper', 'dir')], onChange: (_d, event, path) => seen.push(`${event} ${path}`), log });
    try {
      await w.ready;
      assert.deepEqual(
        log.lines.filter((l) => l.msg === 'watched directory does not exist (yet)').map((l) => l.meta?.['dir']),
        [cni, join(root, 'nope', 'deeper', 'dir')],
      );
      mkdirSync(cni);
      await eventually(() => seen.includes(`addDir ${cni}`), 'the directory to appear');
      writeFileSync(join(cni, '10-sriov.conf'), '{}');
      await eventually(() => seen.includes(`add ${join(cni, '10-sriov.conf')}`), 'the file in the new directory');
    } finally {
      await w.close();
    }
  });
});
