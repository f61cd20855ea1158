// railwatch never writes to sysfs or procfs and never passes outside input to a child process or a shell. The
// compiled output of each module (tsc -p tsconfig.build.json: one file per module of agent/, which `npm run build`
// bundles into dist/ as they are) is scanned for every import of
// node:fs, node:fs/promises and node:child_process and for each write-capable or process-starting function it
// uses; the list must equal the documented allow-list (docs/security.md). The monitors' argv are fixed
// constants, spawned without a shell, and serve passes no argv of its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UDEVADM_MONITOR_COMMAND } from '../../agent/watch/uevent.ts';
import { IP_LINK_SHOW_COMMAND, IP_MONITOR_COMMAND } from '../../agent/watch/netlink.ts';
import { IP_VF_INFO_COMMAND } from '../../agent/netlink/vf-info.ts';
import { REPO } from '../reliability/helpers.ts';

/** The allow-list: `file: module.function` for every write-capable fs function and every child_process use. */
export const ALLOWED = [
  // reads sysfs/procfs attributes; every call passes READ_FLAGS (O_RDONLY | O_NONBLOCK), checked below
  'sysfs/host-fs.js: node:fs.openSync',
  // the long-running monitors: `ip -o monitor link` and `udevadm monitor --kernel ...`, fixed argv, no shell
  'watch/line-process.js: node:child_process.spawn',
  // `ip -o link show` once at monitor start, fixed argv, no shell
  'watch/netlink.js: node:child_process.execFile',
  // `ip -j -s -d link show` once per scan (coalesced with scrapes), fixed argv, no shell, timeout and output cap
  'netlink/vf-info.js: node:child_process.execFile',
];

const WATCHED_MODULES = new Set(['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process', 'worker_threads', 'node:worker_threads', 'cluster', 'node:cluster']);
/** fs functions that write, create, remove or change anything, or open with caller-chosen flags. */
const FS_RISKY = new Set([
  'writeFile', 'writeFileSync', 'appendFile', 'appendFileSync', 'createWriteStream', 'write', 'writeSync', 'writev', 'writevSync',
  'open', 'openSync', 'openAsBlob', 'rm', 'rmSync', 'rmdir', 'rmdirSync', 'unlink', 'unlinkSync', 'mkdir', 'mkdirSync', 'mkdtemp', 'mkdtempSync',
  'rename', 'renameSync', 'truncate', 'truncateSync', 'ftruncate', 'ftruncateSync', 'chmod', 'chmodSync', 'chown', 'chownSync', 'lchown', 'lchownSync',
  'symlink', 'symlinkSync', 'link', 'linkSync', 'copyFile', 'copyFileSync', 'cp', 'cpSync', 'utimes', 'utimesSync', 'futimes', 'futimesSync',
  'fchmod', 'fchmodSync', 'fchown', 'fchownSync', 'lutimes', 'lutimesSync',
]);

let dist = '';
let files: string[] = [];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

before(() => {
  // the modules compiled one file each, into a private directory (dist/ may be in use by a concurrent build)
  const tmp = mkdtempSync(join(tmpdir(), 'railwatch-dist-'));
  dist = join(tmp, 'dist');
  const run = spawnSync(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(REPO, 'tsconfig.build.json'), '--outDir', dist], { cwd: REPO, encoding: 'utf8' });
  files = walk(dist);
  assert.ok(files.length > 20, `tsc emitted the build (exit ${run.status}): ${run.stdout.slice(0, 2000)}`);
  assert.ok(files.some((f) => f.endsWith('main.js')));
});
after(() => rmSync(join(dist, '..'), { recursive: true, force: true }));

interface Use {
  file: string;
  module: string;
  name: string;
}

function importsOf(text: string): { uses: Use[]; problems: string[] } {
  const uses: Use[] = [];
  const problems: string[] = [];
  for (const m of text.matchAll(/^\s*import\s+([^;]*?)\s+from\s+["']([^"']+)["']/gm)) {
    const clause = m[1]!;
    const mod = m[2]!;
    if (!WATCHED_MODULES.has(mod)) continue;
    if (/^\*\s+as\s+/.test(clause) || /^[\w$]+\s*(,|$)/.test(clause)) problems.push(`namespace or default import of ${mod}: ${m[0].trim()}`);
    const named = /\{([^}]*)\}/.exec(clause)?.[1] ?? '';
    for (const part of named.split(',')) {
      const name = part.trim().split(/\s+as\s+/)[0]!.trim();
      if (name !== '' && name !== 'type') uses.push({ file: '', module: mod.startsWith('node:') ? mod : `node:${mod}`, name });
    }
  }
  for (const m of text.matchAll(/\b(?:import|require)\s*\(\s*["'`]((?:node:)?(?:fs|child_process|worker_threads|cluster)(?:\/promises)?)["'`]/g)) {
    problems.push(`dynamic load of ${m[1]}`);
  }
  if (/\beval\s*\(|\bnew\s+Function\s*\(/.test(text)) problems.push('eval or new Function');
  if (/process\.binding\s*\(|process\.dlopen\s*\(/.test(text)) problems.push('process.binding or dlopen');
  return { uses, problems };
}

describe('the compiled output against the allow-list', () => {
  test('write-capable fs functions and child_process uses are exactly the allow-list', () => {
    const found: string[] = [];
    const problems: string[] = [];
    for (const f of files) {
      const rel = relative(dist, f);
      const r = importsOf(readFileSync(f, 'utf8'));
      problems.push(...r.problems.map((p) => `${rel}: ${p}`));
      for (const u of r.uses) {
        if (u.module === 'node:child_process' || u.module === 'node:worker_threads' || u.module === 'node:cluster' || FS_RISKY.has(u.name)) {
          found.push(`${rel}: ${u.module}.${u.name}`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(found.sort(), [...ALLOWED].sort());
  });

  test('host-fs opens read-only and non-blocking, every time', () => {
    const text = readFileSync(join(dist, 'sysfs/host-fs.js'), 'utf8');
    assert.match(text, /const READ_FLAGS = constants\.O_RDONLY \| constants\.O_NONBLOCK;/);
    const opens = [...text.matchAll(/openSync\((this\.abs\(rel\), \w+)\)/g)].map((m) => m[1]);
    assert.equal(opens.length, [...text.matchAll(/openSync\(/g)].length, 'every openSync call recognised');
    assert.ok(opens.length >= 1);
    assert.deepEqual(opens.filter((args) => !/, READ_FLAGS$/.test(args ?? '')), []);
  });

  test('children are started without a shell, from fixed argv constants; serve passes none of its own', () => {
    const line = readFileSync(join(dist, 'watch/line-process.js'), 'utf8');
    const netlink = readFileSync(join(dist, 'watch/netlink.js'), 'utf8');
    assert.deepEqual([...line.matchAll(/\bspawn\(([^;]*)\);/g)].map((m) => /shell: false/.test(m[1]!)), [true]);
    assert.deepEqual([...netlink.matchAll(/\bexecFile\(([^\n]*)/g)].map((m) => /shell: false/.test(m[1]!)), [true]);
    const vfInfo = readFileSync(join(dist, 'netlink/vf-info.js'), 'utf8');
    assert.deepEqual([...vfInfo.matchAll(/\bexecFile\(([^\n]*)/g)].map((m) => /shell: false, timeout, maxBuffer/.test(m[1]!)), [true]);
    assert.deepEqual(IP_VF_INFO_COMMAND, ['ip', '-j', '-s', '-d', 'link', 'show']);
    assert.deepEqual(IP_MONITOR_COMMAND, ['ip', '-o', 'monitor', 'link']);
    assert.deepEqual(IP_LINK_SHOW_COMMAND, ['ip', '-o', 'link', 'show']);
    assert.deepEqual(UDEVADM_MONITOR_COMMAND, ['udevadm', 'monitor', '--kernel', '--subsystem-match=pci', '--subsystem-match=net', '--subsystem-match=infiniband']);
    // every start of a monitor in the build (serve starts both, in serve/monitors.js)
    const calls = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/\b(startLinkMonitor|startUeventMonitor)\(\{([^\n]*)\}\)/g)].map(
        (m) => `${relative(dist, f)}: ${m[1]} ${/\b(command|seedCommand)\s*:/.test(m[2]!) ? 'with argv' : 'default argv'}`,
      ),
    );
    assert.deepEqual(calls, ['serve/monitors.js: startLinkMonitor default argv', 'serve/monitors.js: startUeventMonitor default argv']);
    // the options that could carry argv exist only as test hooks: no flag or config setting reaches them
    assert.doesNotMatch(readFileSync(join(REPO, 'agent/config/config.ts'), 'utf8'), /command/i);
  });

  test('the scanner of this test catches a write (it can fail)', () => {
    const r = importsOf("import { readFileSync, writeFileSync as w } from 'node:fs';\nimport * as cp from 'child_process';\nconst x = await import('node:child_process');\n");
    assert.deepEqual(r.uses.map((u) => `${u.module}.${u.name}`), ['node:fs.readFileSync', 'node:fs.writeFileSync']);
    assert.equal(r.problems.length, 2);
    writeFileSync(join(dist, 'planted.js'), "import { appendFileSync } from 'node:fs';\n");
    const planted = importsOf(readFileSync(join(dist, 'planted.js'), 'utf8')).uses.filter((u) => FS_RISKY.has(u.name));
    assert.equal(planted.length, 1);
    rmSync(join(dist, 'planted.js'));
  });
});
