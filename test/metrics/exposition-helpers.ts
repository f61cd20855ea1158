// Helpers for metric tests: fixture state building, sample extraction, promtool.
import { spawnSync } from 'node:child_process';
import { defaultConfig, type Config } from '../../agent/config/config.ts';
import type { CheckReport } from '../../agent/checks/types.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import { createAgentState, type AgentState } from '../../agent/state.ts';
import type { FixtureHost } from '../helpers/fixture-host.ts';

/** A fixed scan start time, so timestamps in expositions are stable. */
export const FIXED_NOW_MS = 1_750_000_000_000;

export function scanFixture(host: FixtureHost, config: Config = defaultConfig()) {
  return scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config, now: () => FIXED_NOW_MS });
}

export function stateFor(host: FixtureHost, config: Config = defaultConfig()): AgentState {
  const state = createAgentState(config, '0.1.0');
  state.snapshot = scanFixture(host, config);
  return state;
}

/** Sample lines (`name{labels} value`) of an exposition, in order. */
export function sampleLines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

/** Sample lines of one metric family. */
export function familyLines(text: string, name: string): string[] {
  return sampleLines(text).filter((line) => line.startsWith(name + '{') || line.startsWith(name + ' '));
}

/** promtool's complaints about an exposition (empty when clean). */
export function promtoolCheck(text: string): { status: number | null; complaints: string[] } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw run.error;
  const complaints = (run.stdout + run.stderr).split('\n').filter((l) => l.trim() !== '');
  return { status: run.status, complaints };
}

/** promtool finds nothing to complain about in a railwatch scrape. */
export const CATALOGUE_LINTS: string[] = [];

/** A setup-chain report with one failing and one skipped check. */
export function sampleChecks(): CheckReport {
  const fail = {
    id: 'nic-vfs',
    step: 5,
    stepLabel: '5-nic-vfs',
    title: 'NIC VFs',
    status: 'fail' as const,
    finding: 'rail 1 has 2 VFs, 4 desired',
  };
  return {
    results: [
      { id: 'kernel-iommu', step: 2, stepLabel: '2-kernel-iommu', title: 'Kernel IOMMU', status: 'pass', finding: 'on' },
      { id: 'hugepages', step: 3, stepLabel: '3-hugepages', title: 'Hugepages', status: 'skip', finding: 'not configured' },
      { id: 'rdma-core', step: 4, stepLabel: '4-rdma-core', title: 'RDMA core', status: 'warn', finding: 'old' },
      fail,
    ],
    firstFailing: fail,
    ready: false,
  };
}

/** The metric name of an exposition line (sample, HELP or TYPE), or '' for blank lines. */
function lineMetric(line: string): string {
  if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) return line.slice(7).split(' ')[0] ?? '';
  return line.split(/[{ ]/)[0] ?? '';
}

/** Families whose values vary from run to run (times and durations): their values become `<varies>`. */
const VARYING = new Set(['railwatch_scan_duration_seconds', 'railwatch_last_scan_timestamp_seconds', 'railwatch_scrape_read_duration_seconds']);

/**
 * A scrape made comparable: process_* and nodejs_* families (values of this process) removed, the values of the
 * time and duration families replaced, blank separator lines dropped.
 */
export function normaliseScrape(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const name = lineMetric(line);
    if (name.startsWith('process_') || name.startsWith('nodejs_')) continue;
    if (!line.startsWith('#') && VARYING.has(name)) {
      out.push(line.replace(/ \S+$/, ' <varies>'));
      continue;
    }
    out.push(line);
  }
  return out.join('\n') + '\n';
}
