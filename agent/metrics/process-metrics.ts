// The standard process metrics (the names every Prometheus client library uses), read at scrape time from
// process.* and /proc/self: CPU, memory, file descriptors, start time, and the V8 heap.
import { HostFs } from '../sysfs/host-fs.ts';
import { single, type MetricFamily } from './exposition.ts';

const proc = new HostFs('/proc');
const startTimeSeconds = Math.round((Date.now() - performance.now()) / 1000);

function maxFds(): number | undefined {
  const r = proc.read('self/limits');
  if (!r.ok) return undefined;
  const m = /^Max open files\s+(\d+)/m.exec(r.value);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function openFds(): number | undefined {
  const fds = proc.list('self/fd');
  return fds.ok ? fds.value.length : undefined;
}

function gauge(name: string, help: string, value: () => number | undefined): MetricFamily<void> {
  return { name, help, type: 'gauge', labels: [], collect: () => single(value()) };
}

function counter(name: string, help: string, value: () => number): MetricFamily<void> {
  return { name, help, type: 'counter', labels: [], collect: () => single(value()) };
}

export const PROCESS_FAMILIES: readonly MetricFamily<void>[] = [
  counter('process_cpu_user_seconds_total', 'User CPU time spent in seconds.', () => process.cpuUsage().user / 1e6),
  counter('process_cpu_system_seconds_total', 'System CPU time spent in seconds.', () => process.cpuUsage().system / 1e6),
  counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }),
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss()),
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => startTimeSeconds),
  gauge('process_open_fds', 'Number of open file descriptors.', openFds),
  gauge('process_max_fds', 'Maximum number of open file descriptors.', maxFds),
  gauge('nodejs_heap_size_used_bytes', 'V8 heap used in bytes.', () => process.memoryUsage().heapUsed),
  gauge('nodejs_heap_size_total_bytes', 'V8 heap size in bytes.', () => process.memoryUsage().heapTotal),
  gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects (buffers included) in bytes.', () => process.memoryUsage().external),
  {
    name: 'nodejs_version_info',
    help: 'Node.js version info, valued 1.',
    type: 'gauge',
    labels: ['version'],
    collect: () => [{ labels: [process.version], value: 1 }],
  },
];
