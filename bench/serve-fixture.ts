// Benchmark child: railwatch's HTTP server on a fixture host, in its own process so its RSS is its own.
// Usage: node bench/serve-fixture.ts SYSFS PROCFS
// Talks to the parent over IPC: it sends {ready, port} once serving; it answers {cmd: 'rescan'} with
// {rescanned, ms}, {cmd: 'scan-times', n} with {scanTimes: number[]} (ms of n full scans) and
// {cmd: 'memory'} with {memory: process.memoryUsage()}.
import { defaultConfig } from '../agent/config/config.ts';
import { startHttpServer } from '../agent/http/server.ts';
import { createLogger } from '../agent/log.ts';
import { runScan, type Scan } from '../agent/scan/registry.ts';
import { rescanNode } from '../agent/scan/rescan.ts';
import { bump, createAgentState } from '../agent/state.ts';

const [sysfsRoot, procfsRoot] = process.argv.slice(2);
if (sysfsRoot === undefined || procfsRoot === undefined || process.send === undefined) {
  process.stderr.write('usage: serve-fixture.ts SYSFS PROCFS (as an IPC child)\n');
  process.exit(64);
}
const send = (msg: unknown) => process.send?.(msg);
const config = defaultConfig();
const state = createAgentState(config, 'bench');
let last: Scan | undefined;
function scan(): number {
  const started = performance.now();
  last = runScan({ sysfsRoot: sysfsRoot!, procfsRoot: procfsRoot!, config });
  state.snapshot = last.snapshot;
  bump(state.scansTotal, 'interval');
  return performance.now() - started;
}
/** What `railwatch serve` does on an interval tick: the cheap rescan path (a full scan only on change). */
function rescan(): number {
  const started = performance.now();
  last = rescanNode(last, { sysfsRoot: sysfsRoot!, procfsRoot: procfsRoot!, config });
  state.snapshot = last.snapshot;
  bump(state.scansTotal, 'interval');
  return performance.now() - started;
}
scan();
const server = await startHttpServer({ listen: '127.0.0.1:0', state: () => state, log: createLogger({ level: 'warn' }) });

process.on('message', (msg: { cmd: string; n?: number }) => {
  if (msg.cmd === 'rescan') send({ rescanned: true, ms: rescan() });
  else if (msg.cmd === 'scan-times') send({ scanTimes: Array.from({ length: msg.n ?? 30 }, scan) });
  else if (msg.cmd === 'memory') send({ memory: process.memoryUsage() });
  else if (msg.cmd === 'stop') void server.close().then(() => process.exit(0));
});
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
send({ ready: true, port: server.port });
