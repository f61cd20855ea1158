// Helpers for the setup-check tests: a fixture host with kubelet/CNI directories, ACS config space, a one-call runner.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig, type Config } from '../../agent/config/config.ts';
import type { NodeSnapshot } from '../../agent/model.ts';
import { gatherProbes, type Probes } from '../../agent/checks/probe.ts';
import { gpuRailPairs } from '../../agent/checks/pairs.ts';
import { runChecks } from '../../agent/checks/run.ts';
import type { CheckReport, CheckResult } from '../../agent/checks/types.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import type { AllocationView } from '../../agent/state.ts';
import { parseIpLinkJson, type VfInfoReading } from '../../agent/netlink/vf-info.ts';
import { HostFs } from '../../agent/sysfs/host-fs.ts';
import { derive } from '../../agent/view/derive.ts';
import type { FixtureHost } from '../helpers/fixture-host.ts';

export const UNKNOWN_ALLOCATION: AllocationView = { error: 'kubelet not queried' };

export interface KubeletDirs {
  devicePluginsDir: string;
  confDir: string;
  binDir: string;
}

/** Kubelet and CNI directories under the fixture root, populated like a working SR-IOV node unless told otherwise. */
export function kubeletDirs(host: FixtureHost, opts: { sockets?: string[]; conf?: Record<string, string>; bins?: string[] } = {}): KubeletDirs {
  const dirs: KubeletDirs = {
    devicePluginsDir: join(host.root, 'host/var/lib/kubelet/device-plugins'),
    confDir: join(host.root, 'host/etc/cni/net.d'),
    binDir: join(host.root, 'host/opt/cni/bin'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  for (const s of opts.sockets ?? ['kubelet.sock', 'sriov_rdma.sock']) writeFileSync(join(dirs.devicePluginsDir, s), '');
  const conf = opts.conf ?? { '00-multus.conf': JSON.stringify({ cniVersion: '0.3.1', name: 'multus-cni-network', type: 'multus' }) };
  for (const [name, text] of Object.entries(conf)) writeFileSync(join(dirs.confDir, name), text);
  for (const b of opts.bins ?? ['bridge', 'host-local', 'multus', 'sriov']) writeFileSync(join(dirs.binDir, b), '#!/bin/sh\n');
  return dirs;
}

/** A config (validated like the file) whose kubelet and CNI paths point at `dirs`. */
export function configWith(dirs: KubeletDirs | undefined, doc: Record<string, unknown> = {}): Config {
  const paths = dirs
    ? { kubelet: { devicePluginsDir: dirs.devicePluginsDir }, cni: { confDir: dirs.confDir, binDir: dirs.binDir } }
    : { kubelet: { devicePluginsDir: '/nonexistent/device-plugins' }, cni: { confDir: '/nonexistent/net.d', binDir: '/nonexistent/bin' } };
  return validateConfig({ ...paths, ...doc });
}

/** A PCIe config space with the given extended capabilities chained from 0x100 (0x40 apart). */
export function configSpace(caps: { id: number; version?: number; body?: number[] }[], size = 4096): Buffer {
  const buf = Buffer.alloc(size);
  buf.writeUInt16LE(0x8086, 0);
  caps.forEach((cap, i) => {
    const off = 0x100 + i * 0x40;
    const next = i + 1 < caps.length ? 0x100 + (i + 1) * 0x40 : 0;
    buf.writeUInt32LE(((next << 20) | ((cap.version ?? 1) << 16) | cap.id) >>> 0, off);
    (cap.body ?? []).forEach((b, k) => buf.writeUInt8(b, off + 4 + k));
  });
  return buf;
}

/** An ACS capability (after AER and a vendor capability) with the given control register. */
export function acsConfig(control: number, capability = 0x007f): Buffer {
  return configSpace([
    { id: 0x0001, version: 2 },
    { id: 0x000b },
    { id: 0x000d, body: [capability & 0xff, capability >> 8, control & 0xff, control >> 8] },
  ]);
}

/** Writes the binary `config` of every bridge between a GPU and its rail NIC. */
export function writeBridgeConfigs(host: FixtureHost, config: Config, content: (bridge: string) => Buffer): string[] {
  const snap = scan(host, config);
  const bridges = [...new Set(gpuRailPairs(snap).flatMap((p) => p.bridges))];
  for (const b of bridges) writeFileSync(join(host.sys, host.devPath(b), 'config'), content(b));
  return bridges;
}

export function scan(host: FixtureHost, config: Config): NodeSnapshot {
  return scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config, now: () => 0 });
}

export function probesFor(host: FixtureHost, config: Config, snapshot: NodeSnapshot): Probes {
  return gatherProbes({ snapshot, config, sys: new HostFs(host.sys) });
}

/** The fixture host's recorded netlink VF lists (ip-link.json), parsed as a read would; undefined without one. */
export function vfInfoOf(host: FixtureHost): VfInfoReading | undefined {
  if (!existsSync(host.ipLinkFile)) return undefined;
  return { ...parseIpLinkJson(readFileSync(host.ipLinkFile, 'utf8')), takenAtMs: 0, durationMs: 0 };
}

export function check(host: FixtureHost, config: Config, allocation: AllocationView = UNKNOWN_ALLOCATION): CheckReport {
  const snapshot = scan(host, config);
  const vfInfo = vfInfoOf(host);
  return runChecks(derive(snapshot, allocation, probesFor(host, config, snapshot), config, vfInfo));
}

export function resultOf(report: CheckReport, id: string): CheckResult {
  const r = report.results.find((x) => x.id === id);
  if (!r) throw new Error(`no result for ${id}`);
  return r;
}

/** Status of each check by id, for compact whole-report comparisons. */
export function statuses(report: CheckReport): Record<string, string> {
  return Object.fromEntries(report.results.map((r) => [r.id, r.status]));
}
