// Hosts nobody here built: the nine real sysfs trees of other projects' test suites (../shared/reference/
// peer-fixtures, see SOURCES.md there). On every tree the real CLI runs as a child process (`inventory --json`,
// `doctor --json`, `serve`) beside the real node_exporter (infiniband and netclass collectors), and:
//  - nothing crashes: inventory exits 0, doctor 0/1/2, serve stops cleanly on SIGTERM; no stack trace on stderr;
//  - every counter and port fact node_exporter exports (node_infiniband_*, and node_network_* of the RDMA and PF
//    netdevs) railwatch exports with the same value, through the explicit mapping tables below;
//  - no doctor check contradicts the inventory (the contradictions are defined in `contradictions()`);
//  - the inventory's identity comes from the tree, never from this machine.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { DoctorJson } from '../../agent/cli/doctor.ts';
import type { NodeSnapshot, RdmaDevice, RdmaPort } from '../../agent/model.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { freeLoopbackPort } from '../helpers/prometheus.ts';
import { findShared, sharedRequired, useShared } from '../helpers/shared.ts';
import { httpGet, spawnRailwatch, until } from '../reliability/helpers.ts';

const FIXTURES = 'reference/peer-fixtures';
const TREES = ['procfs', 'node_exporter', 'gpud-h100', 'ghw-xeon', 'ghw-i7', 'ghw-nvidia', 'ghw-ryzen', 'sriov-cni', 'sndp-pf-vf'] as const;
const NODE_EXPORTER = 'prometheus-node-exporter';

// ---- what node_exporter exports, and where railwatch exports the same value ------------------------------------

/** A railwatch source of one node_exporter series: a metric (with a `stat` label value), or an inventory field. */
type Source =
  | { metric: string; stat?: string }
  | { inventory: string; value: (port: RdmaPort) => number | undefined };

/** node_infiniband_<name>{device, port} -> railwatch. */
const INFINIBAND_PORT: Record<string, Source> = {
  node_infiniband_port_data_transmitted_bytes_total: { metric: 'railwatch_rdma_port_transmit_bytes_total' },
  node_infiniband_port_data_received_bytes_total: { metric: 'railwatch_rdma_port_receive_bytes_total' },
  node_infiniband_port_packets_transmitted_total: { metric: 'railwatch_rdma_port_transmit_packets_total' },
  node_infiniband_port_packets_received_total: { metric: 'railwatch_rdma_port_receive_packets_total' },
  node_infiniband_unicast_packets_transmitted_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'unicast_xmit_packets' },
  node_infiniband_unicast_packets_received_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'unicast_rcv_packets' },
  node_infiniband_multicast_packets_transmitted_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'multicast_xmit_packets' },
  node_infiniband_multicast_packets_received_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'multicast_rcv_packets' },
  node_infiniband_link_downed_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'link_downed' },
  node_infiniband_link_error_recovery_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'link_error_recovery' },
  node_infiniband_excessive_buffer_overrun_errors_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'excessive_buffer_overrun_errors' },
  node_infiniband_local_link_integrity_errors_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'local_link_integrity_errors' },
  node_infiniband_port_constraint_errors_received_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'port_rcv_constraint_errors' },
  node_infiniband_port_constraint_errors_transmitted_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'port_xmit_constraint_errors' },
  node_infiniband_port_discards_received_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'port_rcv_discards' },
  node_infiniband_port_discards_transmitted_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'port_xmit_discards' },
  node_infiniband_port_errors_received_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'port_rcv_errors' },
  node_infiniband_port_receive_remote_physical_errors_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'port_rcv_remote_physical_errors' },
  node_infiniband_port_receive_switch_relay_errors_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'port_rcv_switch_relay_errors' },
  node_infiniband_port_transmit_wait_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'port_xmit_wait' },
  node_infiniband_symbol_error_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'symbol_error' },
  node_infiniband_vl15_dropped_total: { metric: 'railwatch_rdma_port_stat_total', stat: 'VL15_dropped' },
  // counters_ext/ (mlx4)
  node_infiniband_legacy_data_transmitted_bytes_total: { metric: 'railwatch_rdma_port_legacy_transmit_bytes_total' },
  node_infiniband_legacy_data_received_bytes_total: { metric: 'railwatch_rdma_port_legacy_receive_bytes_total' },
  node_infiniband_legacy_packets_transmitted_total: { metric: 'railwatch_rdma_port_legacy_stat_total', stat: 'port_xmit_packets_64' },
  node_infiniband_legacy_packets_received_total: { metric: 'railwatch_rdma_port_legacy_stat_total', stat: 'port_rcv_packets_64' },
  node_infiniband_legacy_unicast_packets_transmitted_total: { metric: 'railwatch_rdma_port_legacy_stat_total', stat: 'port_unicast_xmit_packets' },
  node_infiniband_legacy_unicast_packets_received_total: { metric: 'railwatch_rdma_port_legacy_stat_total', stat: 'port_unicast_rcv_packets' },
  node_infiniband_legacy_multicast_packets_transmitted_total: { metric: 'railwatch_rdma_port_legacy_stat_total', stat: 'port_multicast_xmit_packets' },
  node_infiniband_legacy_multicast_packets_received_total: { metric: 'railwatch_rdma_port_legacy_stat_total', stat: 'port_multicast_rcv_packets' },
  // port facts
  node_infiniband_rate_bytes_per_second: { metric: 'railwatch_rdma_port_rate_bytes_per_second' },
  // railwatch exports the state as railwatch_rdma_port_up (ACTIVE and LinkUp); the codes are in the inventory
  node_infiniband_state_id: { inventory: 'rdmaDevices[].ports[].stateCode', value: (p) => p.stateCode },
  node_infiniband_physical_state_id: { inventory: 'rdmaDevices[].ports[].physStateCode', value: (p) => p.physStateCode },
};

/** node_network_<name>{device} of an RDMA or PF netdev -> the inventory's netdevs[] field. */
const NETWORK: Record<string, { field: string; value: (n: NodeSnapshot['netdevs'][number]) => number | undefined }> = {
  node_network_mtu_bytes: { field: 'mtu', value: (n) => n.mtu },
  // node_exporter writes an unknown speed (-1) as -125000; railwatch leaves it absent
  node_network_speed_bytes: { field: 'speedMbps x 125000', value: (n) => (n.speedMbps === undefined ? -125000 : n.speedMbps * 125000) },
  node_network_carrier: { field: 'carrier', value: (n) => (n.carrier === undefined ? undefined : n.carrier ? 1 : 0) },
  node_network_up: { field: 'operstate == up', value: (n) => (n.operstate === 'up' ? 1 : 0) },
  node_network_iface_id: { field: 'ifindex', value: (n) => n.ifindex },
};

/** node_network_* families that are no RDMA or SR-IOV fact: railwatch does not export them. */
const NETWORK_NOT_EXPORTED = new Set([
  'node_network_address_assign_type',
  'node_network_carrier_changes_total',
  'node_network_carrier_down_changes_total',
  'node_network_carrier_up_changes_total',
  'node_network_device_id',
  'node_network_dormant',
  'node_network_flags',
  'node_network_iface_link',
  'node_network_iface_link_mode',
  'node_network_name_assign_type',
  'node_network_net_dev_group',
  'node_network_protocol_type',
  'node_network_transmit_queue_length',
]);

// ---- exposition parsing ----------------------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function find(samples: readonly Sample[], name: string, labels: Record<string, string>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

// ---- the contradictions --------------------------------------------------------------------------------------

/**
 * A doctor result contradicts the inventory when:
 *  1. driver: it FAILs (or warns) that a module is not loaded while the inventory shows a PCI function bound to that
 *     module's driver, or gpu-driver FAILs while every NVIDIA GPU of the inventory is bound to `nvidia`;
 *  2. IOMMU: hardware-iommu or kernel-iommu FAILs while the inventory shows IOMMU groups (a PCI function's
 *     `iommuGroup`, or entries of /sys/kernel/iommu_groups);
 *  3. rail count: rail-count FAILs on a host whose inventory has no compute GPU (and no expectedRails is configured),
 *     or its "expected N (the GPU count)" is not the inventory's GPU count;
 *  4. RDMA devices: rdma-devices FAILs a PF as having no RDMA device while the inventory gives that PF one.
 */
function contradictions(inv: NodeSnapshot, doc: DoctorJson): string[] {
  const out: string[] = [];
  const drivers = new Set(inv.pci.flatMap((f) => (f.driver === undefined ? [] : [f.driver, f.driver.replace(/-/g, '_')])));
  for (const r of doc.results) {
    if (r.status !== 'fail' && r.status !== 'warn') continue;
    const text = [r.finding, ...(r.details ?? [])].join('\n');
    for (const m of text.matchAll(/(?:module (\S+) is not loaded|(\S+) module is not loaded)/g)) {
      const mod = m[1] ?? m[2]!;
      if (drivers.has(mod)) out.push(`${r.id}: "${m[0]}" but the inventory has a device bound to ${mod}`);
    }
  }
  const byId = new Map(doc.results.map((r) => [r.id, r]));
  const nvidia = inv.gpus.filter((g) => g.vendorName === 'nvidia');
  const gpuDriver = byId.get('gpu-driver');
  if (gpuDriver?.status === 'fail' && nvidia.length > 0 && nvidia.every((g) => g.driver === 'nvidia')) {
    out.push(`gpu-driver fails (${gpuDriver.finding}) but every NVIDIA GPU is bound to nvidia`);
  }
  const grouped = inv.pci.filter((f) => f.iommuGroup !== undefined).length;
  for (const id of ['hardware-iommu', 'kernel-iommu']) {
    const r = byId.get(id);
    if (r?.status === 'fail' && (grouped > 0 || inv.host.iommu.groups > 0)) {
      out.push(`${id} fails (${r.finding}) but the inventory shows IOMMU groups (${grouped} PCI functions, ${inv.host.iommu.groups} groups)`);
    }
  }
  const railCount = byId.get('rail-count');
  if (railCount?.status === 'fail') {
    if (inv.gpus.length === 0) out.push(`rail-count fails (${railCount.finding}) on a host without a compute GPU`);
    const m = /expected (\d+) \(the GPU count\)/.exec(railCount.finding);
    if (m && Number(m[1]) !== inv.gpus.length) out.push(`rail-count expects ${m[1]} GPUs, the inventory has ${inv.gpus.length}`);
  }
  const rdma = byId.get('rdma-devices');
  if (rdma?.status === 'fail') {
    for (const d of rdma.details ?? []) {
      const pf = inv.pfs.find((p) => d.includes(p.pci));
      if (pf !== undefined && pf.rdmaDevices.length > 0 && /no RDMA device/.test(d)) out.push(`rdma-devices: "${d}" but the inventory gives ${pf.pci} ${pf.rdmaDevices.join(', ')}`);
    }
  }
  return out;
}

// ---- running things ------------------------------------------------------------------------------------------

/** A stack trace: `    at fn (file:line:col)` lines, or an uncaught error banner. */
function stackTraces(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^\s+at .+:\d+:\d+\)?$/.test(l) || /fatal|Uncaught|node:internal/.test(l));
}

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnRailwatch(args);
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

async function scrape(port: number, path: string, ok: (status: number) => boolean, what: string): Promise<string> {
  let body = '';
  await until(async () => {
    try {
      const r = await httpGet(port, path);
      body = r.body;
      return ok(r.status);
    } catch {
      return false;
    }
  }, what, 30_000);
  return body;
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    // a child killed by a signal has exitCode null and signalCode set
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

function nodeExporterPresent(): boolean {
  return spawnSync(NODE_EXPORTER, ['--version'], { stdio: 'ignore' }).status === 0;
}

// ---- the test, per tree ---------------------------------------------------------------------------------------

interface TreeReport {
  tree: string;
  compared: number;
  agreed: number;
  disagreed: string[];
  notExported: number;
  otherNetdevs: number;
  networkCompared: number;
  contradictions: string[];
}

const reports: TreeReport[] = [];
const fixtures = findShared(FIXTURES);
if (fixtures === undefined) {
  test('peer trees: inventory, doctor, serve and node_exporter agree', (t) => {
    useShared(t, FIXTURES);
  });
} else {
  for (const tree of TREES) {
    test(`peer tree ${tree}: no crash, the same values as node_exporter, no check contradicting the inventory`, { timeout: 120_000 }, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), `railwatch-peer-${tree}-`));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const untar = spawnSync('tar', ['-xzf', join(fixtures, `${tree}.tar.gz`), '-C', dir]);
      assert.equal(untar.status, 0, `tar: ${untar.stderr.toString()}`);
      await checkTree(t, tree, join(dir, tree, 'sys'), join(dir, tree, 'proc'));
    });
  }
}

// a tree built here, with RoCE rails whose PF netdevs node_exporter's netclass sees too: the netdev mapping runs
test('code-built DGX-like host: the same values as node_exporter, PF netdevs included', { timeout: 120_000 }, async (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2, vfNetdevsInHost: 1 });
  t.after(() => host.cleanup());
  const r = await checkTree(t, 'dgx-fixture', host.sys, host.proc);
  if (r !== undefined) assert.ok(r.networkCompared >= 2 * 6, `the PF netdevs were compared (${r.networkCompared})`);
});

test('peer trees: summary', (t) => {
  for (const r of reports) {
    t.diagnostic(
      `${r.tree}: ${r.agreed}/${r.compared} node_exporter series agree (${r.networkCompared} of RDMA/PF netdevs)` +
        (r.disagreed.length ? `; disagree: ${r.disagreed.join('; ')}` : '') +
        `; ${r.notExported} node_network series of no RDMA/SR-IOV fact; ${r.otherNetdevs} node_network series of other netdevs`,
    );
  }
});

async function checkTree(t: TestContext, tree: string, sys: string, proc: string): Promise<TreeReport | undefined> {
  const roots = ['--sysfs', sys, '--procfs', proc];

  // inventory --json
  const inv = await run(['inventory', '--json', ...roots]);
  assert.equal(inv.code, 0, `inventory exit ${inv.code}: ${inv.stderr}`);
  assert.deepEqual(stackTraces(inv.stderr), [], 'no stack trace from inventory');
  const snapshot = JSON.parse(inv.stdout) as NodeSnapshot;

  // the identity is the tree's own: nothing of this machine
  const cpuinfo = (() => {
    try {
      return readFileSync(join(proc, 'cpuinfo'), 'utf8');
    } catch {
      return undefined;
    }
  })();
  const identity = snapshot.identity ?? {};
  const osrelease = (() => {
    try {
      return readFileSync(join(proc, 'sys/kernel/osrelease'), 'utf8').trim();
    } catch {
      return undefined;
    }
  })();
  assert.equal(identity.kernel, osrelease || undefined, "the tree's kernel release, or none");
  assert.equal(identity.cpuCores, cpuinfo === undefined ? undefined : (cpuinfo.match(/^processor\s*:/gm)?.length ?? 0) || undefined, 'logical CPUs of the tree');
  if (cpuinfo === undefined || !/^model name/m.test(cpuinfo)) assert.equal(identity.cpuBrand, undefined);
  else assert.ok(identity.cpuBrand !== undefined && cpuinfo.includes(identity.cpuBrand.split(' ').at(-1)!), `brand ${identity.cpuBrand} from the tree's cpuinfo`);

  // doctor --json
  const doc = await run(['doctor', '--json', ...roots]);
  assert.ok(doc.code === 0 || doc.code === 1 || doc.code === 2, `doctor exit ${doc.code}: ${doc.stderr}`);
  assert.deepEqual(stackTraces(doc.stderr), [], 'no stack trace from doctor');
  const report = JSON.parse(doc.stdout) as DoctorJson;
  const found = contradictions(snapshot, report);

  // serve, scraped once its first complete scan is in
  const rwPort = await freeLoopbackPort();
  const serve = spawnRailwatch(['serve', ...roots, '--listen', `127.0.0.1:${rwPort}`, '--no-kube', '--no-monitors', '--node-name', `peer-${tree}`]);
  t.after(() => stop(serve.child));
  await scrape(rwPort, '/readyz', (s) => s === 200, `railwatch serve on ${tree} ready`);
  const rwText = await scrape(rwPort, '/metrics', (s) => s === 200, 'railwatch /metrics');
  assert.equal(await stop(serve.child), 0, `serve exits 0 on SIGTERM: ${serve.stderr()}`);
  assert.deepEqual(stackTraces(serve.stderr()), [], 'no stack trace from serve');
  const rw = parseExposition(rwText);

  // node_exporter on the same tree
  if (!nodeExporterPresent()) {
    if (sharedRequired()) assert.fail(`${NODE_EXPORTER} is required when CI=true`);
    t.skip(`${NODE_EXPORTER} is not installed: the comparison with node_exporter is not run`);
    return undefined;
  }
  const nePort = await freeLoopbackPort();
  const ne = spawn(
    NODE_EXPORTER,
    [`--path.sysfs=${sys}`, `--path.procfs=${proc}`, '--collector.disable-defaults', '--collector.infiniband', '--collector.netclass', `--web.listen-address=127.0.0.1:${nePort}`],
    { stdio: 'ignore' },
  );
  t.after(() => stop(ne));
  const neText = await scrape(nePort, '/metrics', (s) => s === 200, `node_exporter on ${tree}`);
  await stop(ne);
  const nodeSamples = parseExposition(neText).filter((s) => s.name.startsWith('node_infiniband_') || s.name.startsWith('node_network_'));

  const rdma = new Map(snapshot.rdmaDevices.map((d) => [d.name, d]));
  const portOf = (labels: Record<string, string>): { dev?: RdmaDevice; port?: RdmaPort } => {
    const dev = rdma.get(labels['device'] ?? '');
    return { ...(dev ? { dev } : {}), ...(dev?.ports.find((p) => String(p.port) === labels['port']) ? { port: dev.ports.find((p) => String(p.port) === labels['port'])! } : {}) };
  };
  // the RDMA and PF netdevs: the PFs' netdevs and the RDMA ports' (VF netdevs are not read per VF, by design: a
  // thousand VFs would make the scan costly; their names are in pfs[].vfs[].netdev)
  const railNetdevs = new Set([
    ...snapshot.pfs.flatMap((p) => p.netdevs),
    ...snapshot.rdmaDevices.flatMap((d) => d.ports.flatMap((p) => (p.netdev ? [p.netdev] : []))),
  ]);
  const netdevs = new Map(snapshot.netdevs.map((n) => [n.name, n]));

  const disagreed: string[] = [];
  let compared = 0;
  let notExported = 0;
  let otherNetdevs = 0;
  let networkCompared = 0;
  const agree = (what: string, want: number, got: number | undefined) => {
    compared++;
    if (got !== want) disagreed.push(`${what}: node_exporter ${want}, railwatch ${got ?? 'absent'}`);
  };
  for (const s of nodeSamples) {
    const key = `${s.name}${JSON.stringify(s.labels)}`;
    if (s.name === 'node_infiniband_info') {
      const dev = rdma.get(s.labels['device'] ?? '');
      compared++;
      const same = dev !== undefined && (dev.boardId ?? '') === s.labels['board_id'] && (dev.fwVer ?? '') === s.labels['firmware_version'] && (dev.hcaType ?? '') === s.labels['hca_type'];
      const ports = find(rw, 'railwatch_rdma_port_info', { device: s.labels['device']! });
      if (!same || ports.length === 0 || ports.some((p) => p.labels['fw_version'] !== s.labels['firmware_version'])) {
        disagreed.push(`${key}: inventory ${JSON.stringify({ boardId: dev?.boardId, fwVer: dev?.fwVer, hcaType: dev?.hcaType })}, railwatch_rdma_port_info fw_version ${ports.map((p) => p.labels['fw_version']).join(',') || 'absent'}`);
      }
      continue;
    }
    if (s.name.startsWith('node_infiniband_')) {
      const src = INFINIBAND_PORT[s.name];
      assert.ok(src !== undefined, `no mapping for ${s.name}: add it to INFINIBAND_PORT`);
      const id = { device: s.labels['device']!, port: s.labels['port']! };
      if ('metric' in src) {
        const got = find(rw, src.metric, src.stat === undefined ? id : { ...id, stat: src.stat });
        assert.ok(got.length <= 1, `one ${src.metric} series for ${key}`);
        agree(`${key} <- ${src.metric}${src.stat ? `{stat="${src.stat}"}` : ''}`, s.value, got[0]?.value);
      } else {
        agree(`${key} <- inventory ${src.inventory}`, s.value, portOf(id).port ? src.value(portOf(id).port!) : undefined);
      }
      continue;
    }
    // node_network_*
    const dev = s.labels['device'] ?? '';
    if (!railNetdevs.has(dev)) {
      otherNetdevs++;
      continue;
    }
    if (NETWORK_NOT_EXPORTED.has(s.name)) {
      notExported++;
      continue;
    }
    const nd = netdevs.get(dev);
    networkCompared++;
    if (s.name === 'node_network_info') {
      compared++;
      if (nd === undefined || (nd.address ?? '') !== s.labels['address'] || (nd.operstate ?? '') !== s.labels['operstate']) {
        disagreed.push(`${key}: inventory ${JSON.stringify({ address: nd?.address, operstate: nd?.operstate })}`);
      }
      continue;
    }
    const src = NETWORK[s.name];
    assert.ok(src !== undefined, `no mapping for ${s.name}: add it to NETWORK or NETWORK_NOT_EXPORTED`);
    agree(`${key} <- inventory netdevs[].${src.field}`, s.value, nd ? src.value(nd) : undefined);
  }
  const result: TreeReport = { tree, compared, agreed: compared - disagreed.length, disagreed, notExported, otherNetdevs, networkCompared, contradictions: found };
  reports.push(result);
  assert.deepEqual(disagreed, [], `railwatch and node_exporter disagree on ${tree}`);
  assert.deepEqual(found, [], `doctor contradicts the inventory on ${tree}`);
  return result;
}
