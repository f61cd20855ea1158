// The standard process metrics (the names every Prometheus client library uses), read at scrape time from
// process.* and /proc/self: CPU, memory, file descriptors, start time, and the V8 heap.
import type { Registry } from './prom.ts';
import { Counter, Gauge } from './prom.ts';
import { HostFs } from '../sysfs/host-fs.ts';

const proc = new HostFs('/proc');
const startTimeSeconds = Math.round((Date.now() - performance.now()) / 1000);

function maxFds(): number | undefined {
  const r = proc.read('self/limits');
  if (!r.ok) return undefined;
  const m = /^Max open files\s+(\d+)/m.exec(r.value);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'User CPU time spent in seconds.',
    registers,
    collect() {
      this.reset();
      this.inc(process.cpuUsage().user / 1e6);
    },
  });
  new Counter({
    name: 'process_cpu_system_seconds_total',
    help: 'System CPU time spent in seconds.',
    registers,
    collect() {
      this.reset();
      this.inc(process.cpuUsage().system / 1e6);
    },
  });
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers,
    collect() {
      this.reset();
      const u = process.cpuUsage();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    registers,
    collect() {
      this.set(startTimeSeconds);
    },
  });
  new Gauge({
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    registers,
    collect() {
      this.reset();
      const fds = proc.list('self/fd');
      if (fds.ok) this.set(fds.value.length);
    },
  });
  new Gauge({
    name: 'process_max_fds',
    help: 'Maximum number of open file descriptors.',
    registers,
    collect() {
      this.reset();
      const n = maxFds();
      if (n !== undefined) this.set(n);
    },
  });
  new Gauge({
    name: 'nodejs_heap_size_used_bytes',
    help: 'V8 heap used in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'nodejs_heap_size_total_bytes',
    help: 'V8 heap size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().heapTotal);
    },
  });
  new Gauge({
    name: 'nodejs_external_memory_bytes',
    help: 'Memory of C++ objects bound to JavaScript objects (buffers included) in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().external);
    },
  });
  new Gauge({
    name: 'nodejs_version_info',
    help: 'Node.js version info, valued 1.',
    labelNames: ['version'],
    registers,
    collect() {
      this.reset();
      this.set({ version: process.version }, 1);
    },
  });
}
