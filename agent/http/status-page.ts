// The status page (`GET /`): one self-contained HTML document for a person who port-forwards to a node's agent.
// The setup chain step by step (the first failing step highlighted with its fix), the rails as a table, the pods on
// rails when the kubelet was asked, the scan's age, links to /metrics and /status. No script, font, image or
// external style: one inline <style> allowed by its hash in the Content-Security-Policy, and a meta refresh every
// 10 s, so it reads the same without JavaScript. Every value printed goes through esc().
//
// Reads the NodeView (agent/view/derive.ts) and the check report. Rendered once per (view, checks), like the metrics body: a request only fills in the scan's age
// between two prebuilt buffers.
import type { CheckReport, CheckStatus } from '../checks/types.ts';
import type { RdmaDevice } from '../model.ts';
import type { AgentState } from '../state.ts';
import type { NodeView } from '../view/derive.ts';

export const REFRESH_SECONDS = 10;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.2em 0}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#116b2e}.warn{color:#8a5a00}.fail{color:#b00020;font-weight:600}.skip{color:#666}
tr.first td:not(.step){background:#fde8ec}tr.first{outline:2px solid #b00020}td.step{background:#fafafa;font-weight:600}
details summary{cursor:pointer;color:#555}
.banner{padding:.6em .8em;margin:.6em 0;border-left:6px solid #116b2e;background:#eef8f0}
.banner.bad{border-color:#b00020;background:#fde8ec}
.meta{color:#555}code{font-family:ui-monospace,monospace}
`;

/**
 * sha256 of STYLE, base64: written out rather than computed so that `serve` does not load node:crypto (about
 * 3.5 MiB resident) for one constant. test/http/status-page.test.ts recomputes it from the served page, and the
 * browser test fails if the browser refuses the style.
 */
const STYLE_HASH = 'vFNvajJmTnL42DCAr766tvVkJCKkGNewn+o9URWATms=';

/** No scripts, no external anything; the inline style by hash; no framing, no forms, no base. */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes any value for text or a quoted attribute; undefined prints as an empty string. */
export function esc(v: unknown): string {
  if (v === undefined || v === null) return '';
  // esc() takes any value to print; String() is the intended conversion.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(v).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function head(title: string): string {
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${esc(title)}</title><style>${STYLE}</style></head><body>`
  );
}

const LINKS = `<p class="meta"><a href="/metrics">/metrics</a> · <a href="/status">/status</a> (JSON) · refreshes every ${REFRESH_SECONDS} s</p>`;

function rateText(bits: number | undefined): string {
  if (bits === undefined) return '';
  return bits >= 1e9 ? `${bits / 1e9} Gb/s` : `${bits / 1e6} Mb/s`;
}

function statusCell(s: CheckStatus): string {
  return `<td class="${s}">${esc(s)}</td>`;
}

function chainSection(report: CheckReport | undefined): string {
  if (report === undefined) return '<h2>Setup chain</h2><p>The checks have not run yet.</p>';
  const first = report.firstFailing;
  const out: string[] = ['<h2>Setup chain</h2>'];
  if (first !== undefined) {
    out.push(
      `<div class="banner bad" id="first-failing"><strong>First failing step: <span class="step">${esc(first.stepLabel)}</span> ` +
        `<code class="check">${esc(first.id)}</code></strong> — ${esc(first.title)}: ${esc(first.finding)}` +
        (first.remediation === undefined ? '' : `<br><strong>Fix:</strong> <span class="fix">${esc(first.remediation)}</span>`) +
        `</div>`,
    );
  } else {
    const warns = report.results.filter((r) => r.status === 'warn').length;
    out.push(`<div class="banner" id="first-failing">No check fails${warns > 0 ? `; ${warns} warning${warns === 1 ? '' : 's'}` : ''}.</div>`);
  }
  out.push('<table id="chain"><thead><tr><th>Step</th><th>Check</th><th>Status</th><th>Finding</th><th>Fix</th></tr></thead><tbody>');
  const perStep = new Map<string, number>();
  for (const r of report.results) perStep.set(r.stepLabel, (perStep.get(r.stepLabel) ?? 0) + 1);
  let prevStep: string | undefined;
  for (const r of report.results) {
    const isFirst = first !== undefined && r.id === first.id;
    // per-item details fold away (a native <details>, no script) past a few lines
    const items = r.details ?? [];
    const list = items.slice(0, 50).map(esc).join('<br>') + (items.length > 50 ? `<br>... ${items.length - 50} more` : '');
    const details = items.length === 0 ? '' : items.length <= 3 ? `<br><small>${list}</small>` : `<details><summary>${items.length} items</summary><small>${list}</small></details>`;
    const stepCell = r.stepLabel === prevStep ? '' : `<td rowspan="${perStep.get(r.stepLabel)}" class="step">${esc(r.stepLabel)}</td>`;
    prevStep = r.stepLabel;
    out.push(
      `<tr data-check="${esc(r.id)}" data-status="${esc(r.status)}"${isFirst ? ' class="first"' : ''}>` +
        `${stepCell}<td><code>${esc(r.id)}</code> ${esc(r.title)}</td>${statusCell(r.status)}` +
        `<td>${esc(r.finding)}${details}</td><td>${r.status === 'warn' || r.status === 'fail' ? esc(r.remediation) : ''}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  return out.join('');
}

function portText(dev: RdmaDevice | undefined): { state: string; rate: string; fw: string } {
  if (dev === undefined) return { state: '', rate: '', fw: '' };
  return {
    state: dev.ports.map((p) => `${dev.name}/${p.port} ${p.state ?? '?'}/${p.physState ?? '?'}`).join(', '),
    rate: dev.ports.map((p) => rateText(p.rateBitsPerSecond)).join(', '),
    fw: dev.fwVer ?? '',
  };
}

function railsSection(view: NodeView): string {
  const out: string[] = ['<h2>Rails</h2>'];
  if (view.rails.length === 0) return out.concat('<p>No rails: no RDMA-capable NIC PF found.</p>').join('');
  const known = view.vfOwners !== undefined;
  out.push(
    '<table id="rails"><thead><tr><th>Rail</th><th>GPU</th><th>PF</th><th>VFs supported</th><th>configured</th><th>present</th><th>host</th><th>in pods</th><th>Port state</th><th>Rate</th><th>Firmware</th></tr></thead><tbody>',
  );
  for (const { rail, pf } of view.rails) {
    const port = portText(pf.rdma);
    const gpu = rail.gpu === undefined ? '' : `${rail.gpu}${rail.distance === undefined ? '' : ` (${rail.distance})`}`;
    const host = pf.vfs.filter((v) => v.vf.netdev !== undefined).length;
    const pods = known ? pf.vfs.filter((v) => v.owner !== undefined).length : '?';
    out.push(
      `<tr data-rail="${esc(rail.rail)}"><td class="n">${esc(rail.rail)}</td><td>${esc(gpu)}</td>` +
        `<td>${esc(pf.netdev?.name ?? pf.pf.netdev ?? '')}<br><code>${esc(pf.pf.pci)}</code></td>` +
        `<td class="n">${esc(pf.pf.totalVfs)}</td><td class="n">${esc(pf.pf.numVfs ?? '?')}</td><td class="n">${esc(pf.pf.vfs.length)}</td>` +
        `<td class="n">${esc(host)}</td><td class="n">${esc(pods)}</td>` +
        `<td>${esc(port.state)}</td><td>${esc(port.rate)}</td><td>${esc(port.fw)}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  return out.join('');
}

function podsSection(view: NodeView): string {
  const out: string[] = ['<h2>Pods on rails</h2>'];
  const pods = view.pods;
  if (view.vfOwners === undefined || pods === undefined) {
    out.push(`<p id="pods">Unknown: the kubelet pod-resources API could not be asked${view.allocation.error === undefined ? '' : ` (${esc(view.allocation.error)})`}.</p>`);
    return out.join('');
  }
  if (pods.length === 0) return out.concat('<p id="pods">No pod holds a VF or a GPU of this node.</p>').join('');
  const rails = (rs: readonly number[]) => (rs.length === 0 ? '' : `rails ${rs.join(', ')}`);
  out.push('<table id="pods"><thead><tr><th>Pod</th><th>VFs</th><th>GPUs</th><th>Rails</th></tr></thead><tbody>');
  for (const p of pods) {
    const vfs = p.vfs.map((v) => `<code>${esc(v.pci)}</code> ${esc(v.pf)}${v.rail === undefined ? '' : ` rail ${esc(v.rail)}`} <small>${esc(v.resource)}</small>`).join('<br>');
    const gpus = p.gpus.map((g) => `<code>${esc(g.pci ?? g.id)}</code>${g.rail === undefined ? '' : ` rail ${esc(g.rail)}`} <small>${esc(g.resource)}</small>`).join('<br>');
    const verdict = p.aligned
      ? `<span class="pass">aligned</span>`
      : `<span class="fail">misaligned</span><br>${p.misaligned.map(esc).join('<br>')}`;
    const unjudged = p.unjudged.length > 0 ? `<br><small>${p.unjudged.map(esc).join('<br>')}</small>` : '';
    out.push(
      `<tr data-pod="${esc(`${p.namespace}/${p.pod}`)}" data-aligned="${p.aligned}"><td>${esc(p.namespace)}/${esc(p.pod)}</td><td>${vfs}</td><td>${gpus}</td>` +
        `<td>VFs: ${esc(rails(p.vfRails))}<br>GPUs: ${esc(rails(p.gpuRails))}<br>${verdict}${unjudged}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  return out.join('');
}

export interface PageInput {
  state: AgentState;
  nodeName?: string;
}

/** The page as [before the age, after the age]; the age is filled in per request (ageText). */
export interface RenderedPage {
  before: Buffer;
  after: Buffer;
  /** Scan start, ms since epoch (undefined before the first scan). */
  takenAtMs?: number;
  /** 200 with a snapshot, 503 before the first complete scan. */
  status: number;
}

export function renderStatusPage(input: PageInput): RenderedPage {
  const { state } = input;
  const who = input.nodeName === undefined ? 'railwatch' : `railwatch on ${input.nodeName}`;
  const view = state.view;
  if (view === undefined) {
    const html = `${head(who)}<h1>${esc(who)}</h1><p id="scan">No scan has completed yet.</p>${LINKS}</body></html>\n`;
    return { before: Buffer.from(html), after: Buffer.alloc(0), status: 503 };
  }
  const checks = state.checks;
  const ready = checks?.ready;
  const verdict = ready === undefined ? 'checks pending' : ready ? 'ready' : 'not ready';
  const s = view.snapshot;
  const scanAt = new Date(s.takenAtMs).toISOString().replace(/\.\d+Z$/, 'Z');
  const before =
    `${head(`${who}: ${verdict}`)}<h1>${esc(who)}: <span id="verdict" class="${ready === false ? 'fail' : ready ? 'pass' : 'skip'}">${esc(verdict)}</span></h1>` +
    `<p class="meta" id="scan">Scan at ${esc(scanAt)} (<span id="age">`;
  const after =
    `</span>), took ${esc(Math.round(s.durationMs))} ms; railwatch ${esc(state.version)}; ${esc(s.rails.length)} rails, ${esc(s.pfs.length)} PFs, ` +
    `${esc(s.gpus.length)} GPUs${s.failedScanners.length > 0 ? `; failed scanners: ${esc(s.failedScanners.join(', '))}` : ''}</p>${LINKS}` +
    chainSection(checks) +
    railsSection(view) +
    podsSection(view) +
    `</body></html>\n`;
  return { before: Buffer.from(before), after: Buffer.from(after), takenAtMs: s.takenAtMs, status: 200 };
}

/** `4 s ago`, `3 min ago`, `2 h ago` */
export function ageText(takenAtMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - takenAtMs) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** The page's body buffers for one request. */
export function pageBody(page: RenderedPage, nowMs: number): Buffer[] {
  if (page.takenAtMs === undefined) return [page.before];
  return [page.before, Buffer.from(ageText(page.takenAtMs, nowMs)), page.after];
}

