// Cost of the per-scan VF netlink read (`npm run bench:vf-netlink`): on the 8-rail, 128-VFs-per-PF fixture host, the
// parse of its recorded `ip -j -s -d link show` answer (1,024 VFs), joined with the snapshot and rendered as the
// per-VF counter families; the same answer through a child process (`cat` of the recording: spawn, pipe and parse of
// the full-size output); and the real `ip -j -s -d link show` of this host (spawn and iproute2's own dump). Medians
// and p99 over BENCH_READS reads (default 40).
import { readFileSync, statSync } from 'node:fs';
import { defaultConfig } from '../agent/config/config.ts';
import { writeFamilies } from '../agent/metrics/exposition.ts';
import { createFileVfInfoSource, createIpVfInfoSource, parseIpLinkJson, type VfInfoSource } from '../agent/netlink/vf-info.ts';
import { VF_CONFIG_FAMILY, vfCounterText } from '../agent/netlink/vf-metrics.ts';
import { scanNode } from '../agent/scan/registry.ts';
import { buildDgxHost } from '../test/helpers/fixture-host.ts';
import { emptyProbes } from '../agent/checks/probe.ts';
import { derive } from '../agent/view/derive.ts';

const READS = Number(process.env['BENCH_READS'] ?? 40);

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms`;
}

async function timeReads(source: VfInfoSource, after: (r: Awaited<ReturnType<VfInfoSource['read']>>) => void = () => {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < READS; i++) {
    const t0 = performance.now();
    const r = await source.read();
    if (r.error !== undefined) throw new Error(r.error);
    after(r);
    out.push(performance.now() - t0);
  }
  return out;
}

const host = buildDgxHost({ rails: 8, vfsPerPf: 128, totalVfs: 128, vfNetdevsInHost: 2 });
try {
  const config = defaultConfig();
  const snapshot = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config });
  const text = readFileSync(host.ipLinkFile, 'utf8');
  const bytes = statSync(host.ipLinkFile).size;
  const vfs = parseIpLinkJson(text).links.reduce((n, l) => n + l.vfs.length, 0);
  const parse: number[] = [];
  const render: number[] = [];
  for (let i = 0; i < READS; i++) {
    const t0 = performance.now();
    const r = { ...parseIpLinkJson(text), takenAtMs: 0, durationMs: 0 };
    const t1 = performance.now();
    vfCounterText(snapshot, r);
    parse.push(t1 - t0);
    render.push(performance.now() - t1);
  }
  // the structural config family once per scan (derive included), for the record
  const t2 = performance.now();
  writeFamilies([VF_CONFIG_FAMILY], { view: derive(snapshot, {}, emptyProbes(config), config, { ...parseIpLinkJson(text), takenAtMs: 0, durationMs: 0 }), config, allocation: {}, checks: undefined });
  const configMs = performance.now() - t2;
  const draw = (r: Awaited<ReturnType<VfInfoSource['read']>>) => void vfCounterText(snapshot, r);
  const file = await timeReads(createFileVfInfoSource(host.ipLinkFile), draw);
  const child = await timeReads(createIpVfInfoSource({ command: ['cat', host.ipLinkFile] }), draw);
  const ip = await timeReads(createIpVfInfoSource());
  process.stdout.write(
    `VF netlink read, ${READS} reads each; fixture: ${snapshot.pfs.length} PFs, ${vfs} VFs, answer ${(bytes / 1024).toFixed(0)} KiB\n` +
      `  parse of the answer (in-process):            ${stats(parse)}\n` +
      `  join + counter families text (per scrape):   ${stats(render)}\n` +
      `  derive + railwatch_vf_config_info (per scan, once): ${configMs.toFixed(2)} ms\n` +
      `  recorded answer from file, parsed and rendered: ${stats(file)}\n` +
      `  full-size answer through a child (cat), parsed and rendered: ${stats(child)}\n` +
      `  real ip -j -s -d link show on this host:     ${stats(ip)}\n`,
  );
} finally {
  host.cleanup();
}
