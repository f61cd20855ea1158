// The status page (GET /): unit-level escaping and headers, then a real browser: Debian's chromium, headless,
// loads the page from a running agent on a fixture host and the test reads the rendered DOM (--dump-dom) for the
// first failing step and the rails. One screenshot is kept as a review artifact under .review/ (not committed).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startAgent, type RunningAgent } from '../../agent/cli/serve.ts';
import { defaultConfig } from '../../agent/config/config.ts';
import { CONTENT_SECURITY_POLICY, esc, renderStatusPage } from '../../agent/http/status-page.ts';
import type { NodeSnapshot } from '../../agent/model.ts';
import { testAgentOptions } from '../helpers/agent.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';
import { viewOf } from '../helpers/view.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const HOSTILE = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>&amp;`;

async function get(port: number, path: string, method = 'GET') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function chromium(args: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'railwatch-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`];
  return promisify(execFile)(CHROMIUM, [...flags, ...args], { timeout: 90_000, maxBuffer: 32 * 1024 * 1024 })
    .then((r) => r.stdout)
    .finally(() => rmSync(profile, { recursive: true, force: true }));
}

/** Text content of an HTML fragment: tags dropped, entities decoded (the DOM dump escapes text as HTML does). */
function textOf(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');
}

describe('status page', () => {
  let host: FixtureHost;
  let agent: RunningAgent;

  before(async () => {
    // the fixture of scripts/make-fixture.ts DIR 8 4, with a desired VF count the PFs do not have: step 5 fails
    host = buildDgxHost({ rails: 8, vfsPerPf: 4, vfNetdevsInHost: 2, extras: true });
    agent = await startAgent(testAgentOptions(host, { config: { ...defaultConfig(), desiredVfs: { all: 8, pfs: {}, rails: {} } }, intervalMs: 3_600_000, nodeName: 'gpu-017' }));
    await agent.nextScan();
  });
  after(async () => {
    await agent.stop();
    host.cleanup();
  });

  it('serves one self-contained page with a strict CSP that allows only its own inline style', async () => {
    const { status, headers, body } = await get(agent.http.port, '/');
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /^default-src 'none'; /);
    assert.equal(headers.get('x-frame-options'), 'DENY');
    const style = /<style>([\s\S]*?)<\/style>/.exec(body)?.[1];
    assert.ok(style !== undefined);
    assert.ok(CONTENT_SECURITY_POLICY.includes(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the CSP names the inline style by hash');
    assert.equal((body.match(/<style>/g) ?? []).length, 1);
    assert.doesNotMatch(body, /<script|<link|<img|<iframe|@import|url\(|src=|https?:\/\//i, 'nothing external, no script');
    assert.match(body, /<meta http-equiv="refresh" content="10">/);
    assert.match(body, /<a href="\/metrics">\/metrics<\/a>/);
    assert.match(body, /<a href="\/status">\/status<\/a>/);
    assert.match(body, /<span id="age">\d+ s ago<\/span>/);
    const head = await get(agent.http.port, '/', 'HEAD');
    assert.deepEqual([head.status, head.body, head.headers.get('content-length')], [200, '', headers.get('content-length')]);
  });

  it('escapes every value it prints', () => {
    assert.equal(esc(HOSTILE), '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;');
    const state = agent.state();
    const snap = structuredClone(state.snapshot!) as NodeSnapshot;
    for (const pf of snap.pfs) pf.netdev = HOSTILE;
    for (const d of snap.rdmaDevices) d.fwVer = HOSTILE;
    for (const r of snap.rails) r.gpu = HOSTILE;
    snap.failedScanners = [HOSTILE];
    const checks = structuredClone(state.checks!);
    for (const r of checks.results) {
      r.finding = HOSTILE;
      r.remediation = HOSTILE;
      r.title = HOSTILE;
      r.details = [HOSTILE];
    }
    checks.firstFailing = checks.results.find((r) => r.status === 'fail');
    const vf = snap.pfs.find((p) => p.vfs.length > 0)!.vfs[0]!;
    const allocation = { allocations: [{ resourceName: HOSTILE, deviceId: vf.pci, pod: HOSTILE, namespace: HOSTILE, container: 'c' }] };
    const view = viewOf(snap, { allocation });
    assert.equal(view.vfOwners?.size, 1);
    const page = renderStatusPage({ state: { ...state, snapshot: snap, view, checks, allocation, version: HOSTILE }, nodeName: HOSTILE });
    const html = Buffer.concat([page.before, page.after]).toString();
    assert.doesNotMatch(html, /<script|<img|onerror=alert\(2\)>/);
    // every hostile value shows up escaped, as text
    const count = (html.match(/&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert\(2\)&gt;&amp;amp;/g) ?? []).length;
    assert.ok(count > 8 * 3 + checks.results.length * 3, `hostile values escaped: ${count}`);
    assert.match(html, /<table id="pods">/);
    const { view: _none, ...noView } = state;
    const before503 = renderStatusPage({ state: noView, nodeName: HOSTILE });
    assert.equal(before503.status, 503);
    assert.doesNotMatch(before503.before.toString(), /<script/);
  });

  it('renders in a real browser: the first failing step with its fix, the rails, no script run', async (t) => {
    if (!existsSync(CHROMIUM)) {
      if (process.env['CI'] === 'true') assert.fail(`chromium is not installed at ${CHROMIUM} (CI=true): apt-get install chromium`);
      t.skip(`chromium is not installed at ${CHROMIUM}: apt-get install chromium to run the browser test`);
      return;
    }
    const url = `http://127.0.0.1:${agent.http.port}/`;
    const dom = await chromium(['--dump-dom', url]);
    const first = agent.state().checks!.firstFailing!;
    assert.equal(first.stepLabel, '5-nic-vfs');
    const banner = /<div class="banner bad" id="first-failing">([\s\S]*?)<\/div>/.exec(dom)?.[1];
    assert.ok(banner !== undefined, 'the first failing step is highlighted');
    assert.match(banner, new RegExp(`<span class="step">${first.stepLabel}</span>`));
    assert.ok(textOf(banner).includes(`Fix: ${first.remediation}`), textOf(banner));
    assert.match(dom, new RegExp(`<tr data-check="${first.id}" data-status="fail" class="first">`));
    const rows = [...dom.matchAll(/<tr data-rail="(\d+)">([\s\S]*?)<\/tr>/g)];
    assert.deepEqual(rows.map((r) => r[1]), ['0', '1', '2', '3', '4', '5', '6', '7']);
    const snap = agent.state().snapshot!;
    for (const [, rail, row] of rows) {
      const cells = [...row!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => textOf(c[1]!));
      const r = snap.rails.find((x) => String(x.rail) === rail)!;
      const pf = snap.pfs.find((p) => p.pci === r.pf)!;
      // rail, GPU, PF, supported, configured, present, host, in pods (unknown: no kubelet), port state, rate, firmware
      assert.equal(cells.length, 11);
      assert.deepEqual(cells.slice(0, 1).concat(cells.slice(3, 8)), [rail, String(pf.totalVfs), String(pf.numVfs), '4', '2', '?']);
      assert.ok(cells[2]!.includes(pf.pci) && cells[2]!.includes(pf.netdev!), cells[2]);
      assert.match(cells[8]!, /ACTIVE\/LinkUp/);
      assert.match(cells[9]!, /Gb\/s/);
    }
    assert.doesNotMatch(dom, /<script/);

    // the review artifact: one screenshot, gitignored
    const dir = join(ROOT, '.review');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, 'status-page.png');
    await chromium(['--hide-scrollbars', '--window-size=1400,2400', `--screenshot=${shot}`, url]);
    assert.ok(existsSync(shot));
  });
});
