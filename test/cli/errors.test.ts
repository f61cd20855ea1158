// Expected failures through the real CLI: one line naming the thing, the documented exit code, no stack trace (the
// stack only at --log-level debug); a bug prints its stack with exit 70.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { UsageError } from '../../agent/cli/args.ts';
import { CliError, debugRequested, EXIT_CODES, failureReport } from '../../agent/cli/errors.ts';
import { ConfigError } from '../../agent/config/config.ts';
import { railwatch, REPO, UNPRIVILEGED_UID, unprivilegedSkipReason, type CliRun } from '../helpers/cli.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';

const host = buildDgxHost({ rails: 1, vfsPerPf: 1 });
const dir = mkdtempSync(join(tmpdir(), 'railwatch-errors-'));
// mkdtemp makes both private to root; open them for the unprivileged user
chmodSync(dir, 0o755);
chmodSync(host.root, 0o755);
after(() => {
  host.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
const roots = ['--sysfs', host.sys, '--procfs', host.proc];
const serveArgs = ['serve', '--no-kube', '--no-monitors', ...roots];

/** The run failed with `code` and exactly one line on stderr matching `line`; nothing on stdout, no stack. */
function oneLine(r: CliRun, code: number, line: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0] ?? '', line);
}

function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('serve: the listen address', () => {
  test('a taken port: one line naming the address, exit 69; the stack only at --log-level debug', async (t) => {
    const { server, port } = await listening();
    t.after(() => server.close());
    const r = await railwatch([...serveArgs, '--listen', `127.0.0.1:${port}`]);
    oneLine(r, 69, new RegExp(`^railwatch serve: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use \\(EADDRINUSE\\); another process has it`));
    const d = await railwatch([...serveArgs, '--listen', `127.0.0.1:${port}`, '--log-level', 'debug']);
    assert.equal(d.code, 69);
    assert.match(d.stderr, /cannot listen on .*EADDRINUSE[^\n]*\nError: listen EADDRINUSE[^\n]*\n\s+at /, 'debug adds the stack');
  });

  test('an address that is not on this host: exit 69', async () => {
    const r = await railwatch([...serveArgs, '--listen', '192.0.2.1:9839']);
    oneLine(r, 69, /^railwatch serve: cannot listen on 192\.0\.2\.1:9839: the address is not on this host \(EADDRNOTAVAIL\)$/);
  });

  test('a port below 1024 as an unprivileged user: permission denied, exit 77', async (t) => {
    const why = unprivilegedSkipReason() ?? (readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim() === '0' ? 'any user may bind low ports here (ip_unprivileged_port_start=0)' : undefined);
    if (why !== undefined) return t.skip(why);
    const r = await railwatch([...serveArgs, '--listen', '127.0.0.1:1'], { uid: UNPRIVILEGED_UID });
    oneLine(r, 77, /^railwatch serve: cannot listen on 127\.0\.0\.1:1: permission denied \(EACCES\); ports below 1024 need root/);
  });
});

describe('the pod-resources socket given with --pod-resources-socket', () => {
  test('doctor: no such socket, not a socket: usage errors naming the path (exit 64)', async () => {
    const absent = join(dir, 'absent.sock');
    oneLine(await railwatch(['doctor', ...roots, '--pod-resources-socket', absent]), 64, new RegExp(`^railwatch doctor: --pod-resources-socket ${absent}: no such socket`));
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    oneLine(await railwatch(['doctor', ...roots, '--pod-resources-socket', file]), 64, new RegExp(`^railwatch doctor: --pod-resources-socket ${file}: not a unix socket`));
  });

  test('serve: a socket in a directory that does not exist is a usage error; one that is not there yet is fine', async () => {
    const wrong = join(dir, 'no-such-dir/kubelet.sock');
    oneLine(await railwatch([...serveArgs, '--listen', '127.0.0.1:0', '--pod-resources-socket', wrong]), 64, new RegExp(`^railwatch serve: --pod-resources-socket ${wrong}: no such directory`));
  });

  test('a root-only socket as an unprivileged user: permission denied, exit 77', async (t) => {
    const why = unprivilegedSkipReason();
    if (why !== undefined) return t.skip(why);
    const path = join(dir, 'kubelet.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    t.after(() => server.close());
    chmodSync(path, 0o600);
    const r = await railwatch(['doctor', ...roots, '--pod-resources-socket', path], { uid: UNPRIVILEGED_UID });
    oneLine(r, 77, new RegExp(`^railwatch doctor: --pod-resources-socket ${path}: permission denied \\(EACCES\\)`));
  });
});

describe('the config file', () => {
  test('absent: one line naming the file and the reason, exit 78', async () => {
    const absent = join(dir, 'absent.yaml');
    oneLine(await railwatch(['inventory', ...roots, '--config', absent]), 78, new RegExp(`^railwatch inventory: config: ${absent}: cannot read: no such file \\(ENOENT\\)$`));
  });

  test('unreadable by the user: permission denied, exit 78', async (t) => {
    const why = unprivilegedSkipReason();
    if (why !== undefined) return t.skip(why);
    const file = join(dir, 'secret.yaml');
    writeFileSync(file, 'expectedMtu: 9000\n');
    chmodSync(file, 0o600);
    const r = await railwatch(['doctor', ...roots, '--config', file], { uid: UNPRIVILEGED_UID });
    oneLine(r, 78, new RegExp(`^railwatch doctor: config: ${file}: cannot read: permission denied \\(EACCES\\)$`));
  });

  test('a directory: exit 78', async () => {
    oneLine(await railwatch(['inventory', ...roots, '--config', dir]), 78, new RegExp(`^railwatch inventory: config: ${dir}: cannot read: is a directory \\(EISDIR\\)$`));
  });
});

describe('--sysfs and --procfs', () => {
  test('inventory --sysfs /nonexistent: a usage error naming the path, not "this host has no rails"', async () => {
    oneLine(await railwatch(['inventory', '--sysfs', '/nonexistent']), 64, /^railwatch inventory: --sysfs \/nonexistent: no such directory/);
  });

  test('doctor --sysfs /nonexistent: a usage error naming the path, not the IOMMU', async () => {
    const r = await railwatch(['doctor', '--sysfs', '/nonexistent']);
    oneLine(r, 64, /^railwatch doctor: --sysfs \/nonexistent: no such directory/);
    assert.doesNotMatch(r.stderr, /iommu/i);
  });

  test('a directory that is not a sysfs, a file, a sysfs given as --procfs: usage errors naming the path', async () => {
    const notSys = join(dir, 'not-sys');
    mkdirSync(join(notSys, 'class/thermal'), { recursive: true });
    oneLine(await railwatch(['inventory', '--sysfs', notSys, '--procfs', host.proc]), 64, new RegExp(`^railwatch inventory: --sysfs ${notSys}: not a sysfs root \\(none of bus/pci, class/net, class/infiniband under it\\)`));
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    oneLine(await railwatch(['doctor', '--sysfs', file, '--procfs', host.proc]), 64, new RegExp(`^railwatch doctor: --sysfs ${file}: not a directory`));
    oneLine(await railwatch([...serveArgs.slice(0, 3), '--sysfs', host.sys, '--procfs', host.sys]), 64, new RegExp(`^railwatch serve: --procfs ${host.sys}: a sysfs root \\(it has class/net\\), not a procfs`));
    const notProc = join(dir, 'not-proc');
    mkdirSync(join(notProc, 'etc'), { recursive: true });
    oneLine(await railwatch(['inventory', '--sysfs', host.sys, '--procfs', notProc]), 64, new RegExp(`^railwatch inventory: --procfs ${notProc}: not a procfs root`));
  });

  test('a tree with only class/infiniband, and an empty procfs, are accepted', async () => {
    const ib = join(dir, 'ib-only');
    mkdirSync(join(ib, 'sys/class/infiniband'), { recursive: true });
    mkdirSync(join(ib, 'proc'));
    // a captured tree keeps its empty directories with a placeholder file
    writeFileSync(join(ib, 'proc/.keep'), '');
    const r = await railwatch(['inventory', '--no-identity', '--sysfs', join(ib, 'sys'), '--procfs', join(ib, 'proc')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /this host has no rails/);
  });
});

describe('the command line', () => {
  test('an unknown flag or command: one line with where to find help, exit 64', async () => {
    oneLine(await railwatch(['inventory', '--colour']), 64, /^railwatch inventory: unknown flag --colour \(see railwatch inventory --help\)$/);
    oneLine(await railwatch(['invetory']), 64, /^railwatch: unknown command "invetory" \(commands: inventory, doctor, fleet, serve, /);
    oneLine(await railwatch(['serve', '--interval', '0', ...roots]), 64, /^railwatch serve: --interval must be between 1 and 3600 seconds/);
  });
});

test('failureReport: a bug prints its stack with exit 70; expected failures one line, the stack only when asked', () => {
  const bug = failureReport(new TypeError("Cannot read properties of undefined (reading 'pci')"), 'inventory', false);
  assert.equal(bug.exitCode, 70);
  assert.match(bug.text, /^railwatch: internal error \(a bug; please report it with this trace\): TypeError: Cannot read properties[^\n]*\n\s+at /);
  const cases: [unknown, number][] = [
    [new UsageError('unknown flag --x'), 64],
    [new ConfigError('expectedMtu', 'must be between 68 and 65535, got 5'), 78],
    [new CliError('--sysfs /x: permission denied (EACCES)', 77), 77],
  ];
  for (const [err, code] of cases) {
    const quiet = failureReport(err, 'doctor', false);
    assert.equal(quiet.exitCode, code);
    assert.equal(quiet.text.split('\n').filter(Boolean).length, 1, quiet.text);
    assert.match(failureReport(err, 'doctor', true).text, /\n\s+at /);
  }
  assert.equal(debugRequested(['serve', '--log-level', 'debug'], {}), true);
  assert.equal(debugRequested(['serve', '--log-level=debug'], {}), true);
  assert.equal(debugRequested(['serve'], { RAILWATCH_LOG_LEVEL: 'debug' }), true);
  assert.equal(debugRequested(['serve', '--log-level', 'info'], { RAILWATCH_LOG_LEVEL: 'debug' }), false);
  assert.equal(debugRequested(['inventory'], {}), false);
});

test('README.md lists every exit code with its meaning', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  for (const { code, meaning } of EXIT_CODES) {
    const row = readme.split('\n').find((l) => l.startsWith(`| ${code} |`));
    assert.ok(row, `README.md has a row for exit code ${code}`);
    const gist = meaning.split(/[:(]/)[0]!.trim();
    assert.ok(row.includes(gist), `README.md's row for ${code} says "${gist}": ${row}`);
  }
});
