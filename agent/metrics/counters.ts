// RDMA port counters, read fresh at scrape time. The structure (which devices, ports and counter files exist) comes
// from the latest snapshot; the values are re-read from sysfs when a scrape comes, as node_exporter does, so rate()
// sees the time a value was sampled. A file that vanished, failed or no longer parses has no series in that scrape
// (dropped, never 0) and is a counted skip; new files and ports appear with the next scan.
import type { NodeSnapshot } from '../model.ts';
import { parseCounter } from '../parse/values.ts';
import type { HostFs } from '../sysfs/host-fs.ts';
import { FamiliesBytesWriter, type MetricFamily, type Sample } from './exposition.ts';
import type { FreshReading, FreshSource, Skip } from './fresh.ts';

/**
 * The per-port counter directories read at scrape time: the directory under `ports/N/` and the RdmaPort field whose
 * keys (from the scan) name the files to read. A new directory (e.g. mlx4's `counters_ext/`) is one more entry here
 * and one more family reading `dirs[dir]`.
 */
export const COUNTER_DIRS: readonly { dir: string; field: 'counters' | 'hwCounters' | 'countersExt'; skip?: ReadonlySet<string> }[] = [
  { dir: 'counters', field: 'counters' },
  // `hw_counters/lifespan` is the counter cache period in ms, not a counter
  { dir: 'hw_counters', field: 'hwCounters', skip: new Set(['lifespan']) },
  // mlx4: the 64-bit PMA counters, apart from counters/
  { dir: 'counters_ext', field: 'countersExt' },
];

/** The counter values of one RDMA port read at one time: directory -> file name -> value. */
export interface PortCounters {
  device: string;
  port: string;
  dirs: Record<string, ReadonlyMap<string, bigint>>;
}

interface PlannedFile {
  rel: string;
  dir: string;
  name: string;
}

interface PlannedPort {
  device: string;
  port: string;
  files: PlannedFile[];
}

/** The counter files of a snapshot's RDMA ports, in export order. */
export function planCounterReads(snapshot: NodeSnapshot | undefined): PlannedPort[] {
  const out: PlannedPort[] = [];
  for (const dev of snapshot?.rdmaDevices ?? []) {
    for (const port of dev.ports) {
      const files: PlannedFile[] = [];
      for (const { dir, field, skip } of COUNTER_DIRS) {
        for (const name of Object.keys(port[field] ?? {})) {
          if (skip?.has(name)) continue;
          files.push({ rel: `class/infiniband/${dev.name}/ports/${port.port}/${dir}/${name}`, dir, name });
        }
      }
      out.push({ device: dev.name, port: String(port.port), files });
    }
  }
  return out;
}

/** errno codes that mean the file (or its device) is gone, as opposed to present but failing. */
const VANISHED = new Set(['ENOENT', 'ENODEV', 'ENXIO']);

/**
 * Reads the planned counter files now. Stops at `deadlineMs` (performance.now() time): files not read by then have
 * no series this time and are reported as `timeout` skips.
 */
export function readPortCounters(sys: HostFs, plan: readonly PlannedPort[], deadlineMs: number): FreshReading<PortCounters[]> {
  const ports: PortCounters[] = [];
  const skips: Skip[] = [];
  let late = false;
  for (const planned of plan) {
    const dirs: Record<string, Map<string, bigint>> = {};
    for (const { dir } of COUNTER_DIRS) dirs[dir] = new Map();
    for (const file of planned.files) {
      if (late || performance.now() > deadlineMs) {
        late = true;
        skips.push({ path: file.rel, reason: 'timeout' });
        continue;
      }
      const r = sys.read(file.rel);
      if (!r.ok) {
        skips.push({ path: file.rel, reason: VANISHED.has(r.code) ? 'vanished' : 'unreadable', detail: r.code });
        continue;
      }
      const v = parseCounter(r.value);
      if (!v.ok) {
        skips.push({ path: file.rel, reason: 'unparsable', detail: v.reason });
        continue;
      }
      dirs[file.dir]!.set(file.name, v.value);
    }
    ports.push({ device: planned.device, port: planned.port, dirs });
  }
  return { value: ports, skips };
}

/** Counter files exported under their own names; every other `counters/` file goes to railwatch_rdma_port_stat_total. */
const NAMED_COUNTERS = new Set(['port_xmit_data', 'port_rcv_data', 'port_xmit_packets', 'port_rcv_packets']);
/** `counters_ext/` files exported under their own names; the others go to railwatch_rdma_port_legacy_stat_total. */
const LEGACY_NAMED = new Set(['port_xmit_data_64', 'port_rcv_data_64']);

function named(name: string, help: string, file: string, scale: bigint, dir = 'counters'): MetricFamily<readonly PortCounters[]> {
  return {
    name,
    help,
    type: 'counter',
    labels: ['device', 'port'],
    *collect(ports) {
      for (const p of ports) {
        const v = p.dirs[dir]?.get(file);
        if (v !== undefined) yield { labels: [p.device, p.port], value: v * scale };
      }
    },
  };
}

function byStat(name: string, help: string, dir: string, exclude?: ReadonlySet<string>): MetricFamily<readonly PortCounters[]> {
  return {
    name,
    help,
    type: 'counter',
    labels: ['device', 'port', 'stat'],
    *collect(ports): Iterable<Sample> {
      for (const p of ports) {
        for (const [stat, value] of p.dirs[dir] ?? []) {
          if (exclude?.has(stat)) continue;
          yield { labels: [p.device, p.port, stat], value };
        }
      }
    },
  };
}

/** The RDMA counter families, exact from their 64-bit values. */
export const RDMA_COUNTER_FAMILIES: readonly MetricFamily<readonly PortCounters[]>[] = [
  // 4-octet words (IBA PortXmitData/PortRcvData) to bytes
  named('railwatch_rdma_port_transmit_bytes_total', 'Bytes transmitted on the RDMA port (counters/port_xmit_data x 4).', 'port_xmit_data', 4n),
  named('railwatch_rdma_port_receive_bytes_total', 'Bytes received on the RDMA port (counters/port_rcv_data x 4).', 'port_rcv_data', 4n),
  named('railwatch_rdma_port_transmit_packets_total', 'Packets transmitted on the RDMA port (counters/port_xmit_packets).', 'port_xmit_packets', 1n),
  named('railwatch_rdma_port_receive_packets_total', 'Packets received on the RDMA port (counters/port_rcv_packets).', 'port_rcv_packets', 1n),
  byStat('railwatch_rdma_port_stat_total', 'Every other file of the RDMA port counters/ directory, by file name.', 'counters', NAMED_COUNTERS),
  byStat('railwatch_rdma_hw_stat_total', 'Every file of the RDMA port hw_counters/ directory except lifespan, by file name.', 'hw_counters'),
  // counters_ext/ (mlx4): the 64-bit data counters are 4-octet words too
  named('railwatch_rdma_port_legacy_transmit_bytes_total', 'Bytes transmitted on the RDMA port, from the 64-bit counters_ext/port_xmit_data_64 (mlx4) x 4.', 'port_xmit_data_64', 4n, 'counters_ext'),
  named('railwatch_rdma_port_legacy_receive_bytes_total', 'Bytes received on the RDMA port, from the 64-bit counters_ext/port_rcv_data_64 (mlx4) x 4.', 'port_rcv_data_64', 4n, 'counters_ext'),
  byStat(
    'railwatch_rdma_port_legacy_stat_total',
    'Every other file of the RDMA port counters_ext/ directory (mlx4: 64-bit packet counters), by file name.',
    'counters_ext',
    LEGACY_NAMED,
  ),
];

/** The RDMA counter files as a fresh source: the ports of the state's snapshot, re-read at each read. */
export function createRdmaCounterSource(fsFor: (root: string) => HostFs): FreshSource {
  // one plan per snapshot, dropped with it: holding the snapshot here kept the previous scan's alive until a scrape
  const plans = new WeakMap<NodeSnapshot, PlannedPort[]>();
  const writer = new FamiliesBytesWriter(RDMA_COUNTER_FAMILIES);
  return {
    name: 'rdma',
    read({ state, deadlineMs }) {
      const snapshot = state.snapshot;
      if (snapshot === undefined) return { value: '', skips: [] };
      let plan = plans.get(snapshot);
      if (plan === undefined) {
        plan = planCounterReads(snapshot);
        plans.set(snapshot, plan);
      }
      const reading = readPortCounters(fsFor(snapshot.sysfsRoot), plan, deadlineMs);
      return { value: writer.write(reading.value), skips: reading.skips };
    },
  };
}
