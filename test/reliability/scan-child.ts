// A scan in its own process, so a test can bound it with a kill timer (a blocking read would hang the test
// runner itself) or run it as another user. Usage: node scan-child.ts SYSFS PROCFS [repeat]
// Prints one JSON line: the duration of each scan and a summary of the last snapshot and its exposition.
import { defaultConfig } from '../../agent/config/config.ts';
import { renderMetricsText } from '../../agent/metrics/render.ts';
import type { Scan } from '../../agent/scan/registry.ts';
import { rescanNode } from '../../agent/scan/rescan.ts';
import { createAgentState } from '../../agent/state.ts';
import { expositionProblems } from './helpers.ts';

const [sysfsRoot = '/sys', procfsRoot = '/proc', repeat = '1'] = process.argv.slice(2);
const config = defaultConfig();
const scanMs: number[] = [];
let scan: Scan | undefined;
let snapshot;
for (let i = 0; i < Number(repeat); i++) {
  const t = performance.now();
  scan = rescanNode(scan, { sysfsRoot, procfsRoot, config });
  snapshot = scan.snapshot;
  scanMs.push(Math.round((performance.now() - t) * 10) / 10);
}
const state = createAgentState(config, 'test');
state.snapshot = snapshot;
const t = performance.now();
const text = await renderMetricsText(state, { defaultMetrics: false });
const renderMs = Math.round((performance.now() - t) * 10) / 10;
const codes: Record<string, number> = {};
for (const issue of snapshot!.issues) codes[issue.code] = (codes[issue.code] ?? 0) + 1;
process.stdout.write(
  JSON.stringify({
    scanMs,
    renderMs,
    issues: snapshot!.issues.length,
    codes,
    failedScanners: snapshot!.failedScanners,
    pci: snapshot!.pci.length,
    pfs: snapshot!.pfs.length,
    vfs: snapshot!.pfs.reduce((n, pf) => n + pf.vfs.length, 0),
    rails: snapshot!.rails.length,
    netdevs: snapshot!.netdevs.length,
    rdma: snapshot!.rdmaDevices.length,
    counters: snapshot!.rdmaDevices.reduce((n, d) => n + d.ports.reduce((m, p) => m + Object.keys(p.counters).length, 0), 0),
    metricLines: text.split('\n').length,
    expositionProblems: expositionProblems(text).slice(0, 5),
  }) + '\n',
);
