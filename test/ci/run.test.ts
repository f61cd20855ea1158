// .ci/run against stand-ins for apt-get, dpkg-query, npm, docker and dockerd on PATH: it stops the dockerd it
// started and only that one, removes the packages it installed and only those, runs the image test even when
// `npm test` failed, and leaves no temporary files, whatever the outcome.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const REPO = join(import.meta.dirname, '../..');
const root = mkdtempSync(join(tmpdir(), 'railwatch-ci-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Stand-ins: each appends what it was asked to $STATE/calls; dockerd runs until SIGTERM. */
const SHIMS: Record<string, string> = {
  id: 'echo 0',
  'apt-get': `echo "apt-get $*" >>"$STATE/calls"
case "$1" in
  install) for p in "$@"; do case "$p" in -*|install) ;; *) grep -qx "$p" "$STATE/dpkg" || echo "$p" >>"$STATE/dpkg";; esac; done; echo libfoo-dep >>"$STATE/dpkg" ;;
  purge) for p in "$@"; do case "$p" in -*|purge) ;; *) grep -vx "$p" "$STATE/dpkg" >"$STATE/dpkg.new"; mv "$STATE/dpkg.new" "$STATE/dpkg";; esac; done ;;
esac`,
  'dpkg-query': `sed 's/$/ installed/' "$STATE/dpkg"`,
  npm: `echo "npm $*" >>"$STATE/calls"
[ "$1 $2" = "run test:image" ] && exit "\${IMAGE_RC:-0}"
[ "$1" = test ] && exit "\${TEST_RC:-0}"
exit 0`,
  docker: `[ -f "$STATE/dockerd.pid" ] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null`,
  dockerd: `echo $$ >"$STATE/dockerd.pid"; echo "dockerd" >>"$STATE/calls"
trap 'echo "dockerd stopped" >>"$STATE/calls"; rm -f "$STATE/dockerd.pid"; exit 0' TERM
while :; do sleep 0.1; done`,
};

function run(name: string, opts: { dockerRunning?: boolean; testRc?: number; preinstalled?: string[] } = {}) {
  const dir = join(root, name);
  const bin = join(dir, 'bin');
  const state = join(dir, 'state');
  mkdirSync(bin, { recursive: true });
  mkdirSync(state);
  for (const [cmd, body] of Object.entries(SHIMS)) {
    writeFileSync(join(bin, cmd), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, cmd), 0o755);
  }
  writeFileSync(join(state, 'dpkg'), ['bash', ...(opts.preinstalled ?? [])].map((p) => `${p}\n`).join(''));
  let outsidePid: number | undefined;
  if (opts.dockerRunning) {
    // a dockerd that was running before: started here, the way an init system would
    const child = spawnSync('bash', ['-c', `STATE=${state} setsid ${join(bin, 'dockerd')} >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
    outsidePid = Number(child.stdout.trim());
    for (let i = 0; i < 50 && !existsSync(join(state, 'dockerd.pid')); i++) spawnSync('sleep', ['0.1']);
  }
  const before = new Set(readdirSync('/tmp').filter((f) => f.startsWith('railwatch-ci.')));
  const r = spawnSync(join(REPO, '.ci/run'), [], {
    encoding: 'utf8',
    env: { PATH: `${bin}:/usr/bin:/bin`, STATE: state, TEST_RC: String(opts.testRc ?? 0), HOME: dir },
    timeout: 60_000,
  });
  const leftTmp = readdirSync('/tmp').filter((f) => f.startsWith('railwatch-ci.') && !before.has(f));
  const calls = readFileSync(join(state, 'calls'), 'utf8').trim().split('\n');
  const dpkg = readFileSync(join(state, 'dpkg'), 'utf8').trim().split('\n');
  return { r, calls, dpkg, leftTmp, outsidePid, state };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('no dockerd running: .ci/run starts one for the image test and stops it; the packages it installed are removed', () => {
  const { r, calls, dpkg, leftTmp } = run('fresh', { preinstalled: ['iproute2'] });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    calls.filter((c) => !c.startsWith('apt-get update')),
    [
      'apt-get install -y -qq --no-install-recommends prometheus prometheus-node-exporter iproute2 udev docker.io debootstrap kmod chromium',
      'npm ci --no-audit --no-fund',
      'npm test',
      'dockerd',
      'npm run test:image',
      'dockerd stopped',
      // iproute2 was there before: not removed
      'apt-get purge -y -qq chromium debootstrap docker.io kmod libfoo-dep prometheus prometheus-node-exporter udev',
    ],
  );
  assert.deepEqual(dpkg, ['bash', 'iproute2'], 'the package list is as it was');
  assert.deepEqual(leftTmp, [], 'no temporary directory left');
});

test('a dockerd that was already running is used and left running; a failing npm test still runs the image test', (t) => {
  const { r, calls, outsidePid } = run('running', { dockerRunning: true, testRc: 1 });
  assert.ok(outsidePid !== undefined && outsidePid > 0);
  t.after(() => {
    try {
      process.kill(outsidePid, 'SIGTERM');
    } catch {
      // already gone
    }
  });
  assert.equal(r.status, 1, 'the npm test failure is the exit status');
  assert.ok(calls.includes('npm run test:image'), `image test ran: ${calls.join('; ')}`);
  assert.ok(!calls.includes('dockerd stopped'), 'the running dockerd is not stopped');
  assert.equal(calls.filter((c) => c === 'dockerd').length, 1, 'no second dockerd started');
  assert.ok(alive(outsidePid), 'the dockerd that was running before still runs');
});

test('README.md lists the packages .ci/run installs', () => {
  const script = readFileSync(join(REPO, '.ci/run'), 'utf8');
  const packages = /^PACKAGES=\(([^)]*)\)$/m.exec(script)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
  assert.ok(packages.length > 0);
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const line = /`\.ci\/run` installs the Debian packages the tests need \(([^)]*)\)/.exec(readme.replace(/\n/g, ' '))?.[1] ?? '';
  // each package in backticks, maybe with a word on what needs it
  assert.deepEqual(line.split(/,\s*/).map((p) => /`([^`]+)`/.exec(p)?.[1]), packages, 'README.md names the same packages');
});
