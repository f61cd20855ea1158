// `railwatch serve`: the agent. Rescans the host on an interval and on triggers (rtnetlink, uevents, file
// watchers), asks the kubelet which VFs are allocated, runs the setup chain, serves /metrics, /healthz, /readyz
// and /status, and converges the Node's labels, condition and events. Runs with no cluster at all. This file
// parses the flags and wires the parts together; the parts (the scan cycle, the allocation refresh, the monitors,
// config reloads, the stop order) are in agent/serve/.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { createAllocationSource } from '../allocation/source.ts';
import type { Config } from '../config/config.ts';
import { rootIdentity } from '../host-identity.ts';
import { DEFAULT_LISTEN, parseListen, startHttpServer, type RunningHttpServer } from '../http/server.ts';
import { startAttachments, type AttachmentsOptions } from '../attach/agent.ts';
import { resolveKubeMode, resolveNodeName } from '../kube/client.ts';
import { createKubeSync, type KubeSync, type KubeSyncOptions } from '../kube/reconciler.ts';
import { createLogger, type Logger } from '../log.ts';
import { createMetricsRenderer } from '../metrics/render.ts';
import { hostRootOf, logLevelOf, loadConfig, podResourcesSocketOf, VERSION, vfInfoSourceOf } from './common.ts';
import { coalesce, createIpVfInfoSource, type VfInfoSource } from '../netlink/vf-info.ts';
import { createVfCounterSource } from '../netlink/vf-metrics.ts';
import type { ScanOptions } from '../scan/registry.ts';
import { AllocationRefresh } from '../serve/allocation.ts';
import { LiveConfig } from '../serve/config-reload.ts';
import { AgentLifecycle } from '../serve/lifecycle.ts';
import { startMonitors, watchProbeDirs } from '../serve/monitors.ts';
import { FullScanSchedule, ScanCycle } from '../serve/scan-cycle.ts';
import { ScanIssueLog } from '../serve/scan-issues.ts';
import { HostFs } from '../sysfs/host-fs.ts';
import { createAgentState, type AgentState } from '../state.ts';
import { createRescanLoop, type RescanLoop } from '../watch/rescan-loop.ts';
import { parseArgs, UsageError } from './args.ts';
import { flagSpec } from './help.ts';
import { checkServePaths } from './paths.ts';

export { FULL_SCAN_EVERY } from '../serve/scan-cycle.ts';

export interface ServeOptions {
  sysfsRoot: string;
  procfsRoot: string;
  /** The root the config's kubelet and CNI directories are read under (default `/`; see hostRootOf). */
  hostRoot?: string;
  configFile?: string;
  config: Config;
  listen: string;
  podResourcesSocket: string;
  intervalMs: number;
  nodeName?: string;
  noKube: boolean;
  /** Start the rtnetlink and uevent monitors (default true). */
  monitors: boolean;
  /** The scanner registry (default: all of them); tests swap one in. */
  scanners?: ScanOptions['scanners'];
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  /** Where the PFs' netlink VF lists come from (default: `ip -j -s -d link show`); a recorded answer on fixture hosts. */
  vfInfo?: VfInfoSource;
  /** Overrides for the Kubernetes sync (tests, benchmarks): a KubeConfig loader for a test API server, backoff, timeouts. */
  kube?: Pick<KubeSyncOptions, 'loadConfig' | 'backoff' | 'requestTimeoutMs' | 'watchTimeoutSeconds' | 'random'>;
  /** Overrides for the pod and NAD reads (tests, benchmarks): retry schedule, NAD cache age. */
  attach?: AttachmentsOptions['tuning'];
}

export interface RunningAgent {
  state: () => AgentState;
  http: RunningHttpServer;
  /** Asks for a rescan now (as a trigger would). */
  trigger(reason: string): void;
  /** Resolves after the next completed scan. */
  nextScan(): Promise<void>;
  reloadConfig(): void;
  stop(): Promise<void>;
}

/** The Node's name: the flag or NODE_NAME; standalone, the hostname will do. */
function nodeNameOf(opts: ServeOptions, kubeMode: ReturnType<typeof resolveKubeMode>): string {
  const nodeName = resolveNodeName(opts.nodeName, opts.env);
  if (nodeName !== undefined) return nodeName;
  if (kubeMode.kind !== 'standalone') {
    throw new UsageError('the node name is unknown: set NODE_NAME (downward API) or --node-name');
  }
  return hostname();
}

/** Starts the agent's parts (agent/serve/) and wires them together; stop() stops them in AgentLifecycle's order. */
export async function startAgent(opts: ServeOptions): Promise<RunningAgent> {
  const log = opts.log;
  const state = createAgentState(opts.config, VERSION);
  const sys = new HostFs(opts.sysfsRoot);
  const hostFs = new HostFs(opts.hostRoot ?? '/');
  const lifecycle = new AgentLifecycle();
  const config = new LiveConfig({ config: opts.config, file: opts.configFile, onApplied: () => loop.trigger('config'), errors: state.scanErrorsTotal, log });
  const issues = new ScanIssueLog(state.scanErrorsTotal, log);
  const source = createAllocationSource({ socketPath: opts.podResourcesSocket, log });
  const allocation = new AllocationRefresh({ source, socketPath: opts.podResourcesSocket, state, log });
  // one child process serves a scan and the scrapes around it: a reading at most 200 ms old is reused, and concurrent
  // callers share the read in flight (the fresh reader coalesces scrapes at 100 ms on top)
  const vfInfo = coalesce(opts.vfInfo ?? createIpVfInfoSource({ log }), 200);

  const kubeMode = resolveKubeMode({ noKube: opts.noKube, env: opts.env });
  const nodeName = nodeNameOf(opts, kubeMode);
  const sync: KubeSync = createKubeSync({
    nodeName,
    labelPrefix: opts.config.labelPrefix,
    counters: state.kubeRequests,
    log,
    mode: kubeMode,
    heartbeatMs: opts.config.conditionHeartbeatSeconds * 1000,
    ...opts.kube,
  });
  const attachments = startAttachments({
    mode: kubeMode,
    counters: state.kubeRequests,
    log,
    onChange: () => loop.trigger('attachments'),
    ...(opts.kube?.loadConfig ? { loadConfig: opts.kube.loadConfig } : {}),
    ...(opts.kube?.requestTimeoutMs ? { requestTimeoutMs: opts.kube.requestTimeoutMs } : {}),
    ...(opts.attach ? { tuning: opts.attach } : {}),
  });
  lifecycle.stopFirst(() => attachments.stop());

  const renderer = createMetricsRenderer({ log, freshSources: [createVfCounterSource(vfInfo)] });
  const http = await startHttpServer({ listen: opts.listen, state: () => state, log, nodeName, render: renderer });
  lifecycle.stopTogether(() => http.close());
  log.info('railwatch serving', { version: VERSION, address: http.address, port: http.port, sysfs: opts.sysfsRoot, node: nodeName, kube: kubeMode.kind });

  const loop: RescanLoop = createRescanLoop({ intervalMs: opts.intervalMs, scan: (trigger) => cycle.run(trigger), log });
  // identity first (from the host's DMI and cpuinfo files, once, off the scan path), then the scanning starts
  const identity = rootIdentity(opts.sysfsRoot, opts.procfsRoot);
  const cycle = new ScanCycle({
    state,
    config: () => config.current,
    target: { sysfsRoot: opts.sysfsRoot, procfsRoot: opts.procfsRoot, identity, ...(opts.scanners ? { scanners: opts.scanners } : {}) },
    sys,
    host: hostFs,
    schedule: new FullScanSchedule(),
    issues,
    allocation,
    vfInfo,
    attachments,
    renderer,
    sync,
    log,
  });
  loop.start();
  sync.start();
  lifecycle.stopTogether(() => loop.stop());
  lifecycle.stopTogether(() => sync.stop());

  const trigger = (reason: string) => loop.trigger(reason);
  if (opts.monitors) {
    const monitors = startMonitors({ sys, snapshot: () => state.snapshot, trigger, log });
    lifecycle.stopTogether(() => monitors.link.stop());
    lifecycle.stopTogether(() => monitors.uevent.stop());
  }
  const configWatch = config.watch();
  if (configWatch !== undefined) lifecycle.stopTogether(() => configWatch.close());
  const dirWatch = watchProbeDirs({ host: hostFs, config: config.current, trigger, log });
  lifecycle.stopTogether(() => dirWatch.close());
  // after the loop has stopped: no scan reads the kubelet any more, and whoever waits for a scan is let go
  lifecycle.stopLast(() => allocation.close());
  lifecycle.stopLast(() => cycle.releaseWaiters());

  return {
    state: () => state,
    http,
    trigger,
    nextScan: () => cycle.nextScan(),
    reloadConfig: () => config.reloadFile(),
    stop: () => lifecycle.stop(),
  };
}

const SERVE_FLAGS = flagSpec('serve');

/** Default config file path inside the DaemonSet (the ConfigMap mount); used when it exists. */
export const DEFAULT_CONFIG_FILE = '/etc/railwatch/config.yaml';

export async function runServe(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SERVE_FLAGS);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  checkServePaths(args.values);
  const log = createLogger({ level: logLevelOf(args.values['log-level'] ?? process.env['RAILWATCH_LOG_LEVEL']) });
  const configFile = args.values['config'] ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const config = loadConfig(configFile);
  const listen = args.values['listen'] ?? DEFAULT_LISTEN;
  try {
    parseListen(listen);
  } catch (err) {
    throw new UsageError(`--listen: ${(err as Error).message}`);
  }
  let intervalS = config.scanIntervalSeconds;
  if (args.values['interval'] !== undefined) {
    intervalS = Number(args.values['interval']);
    if (!Number.isFinite(intervalS) || intervalS < 1 || intervalS > 3600) throw new UsageError('--interval must be between 1 and 3600 seconds');
  }
  const hostRoot = hostRootOf(args.values['root'], args.values['sysfs']);
  const agent = await startAgent({
    sysfsRoot: args.values['sysfs'] ?? '/sys',
    procfsRoot: args.values['procfs'] ?? '/proc',
    hostRoot,
    ...(configFile !== undefined ? { configFile } : {}),
    config,
    listen,
    podResourcesSocket: podResourcesSocketOf(args.values['pod-resources-socket'], config, hostRoot),
    intervalMs: intervalS * 1000,
    ...(args.values['node-name'] !== undefined ? { nodeName: args.values['node-name'] } : {}),
    noKube: args.bools.has('no-kube'),
    monitors: !args.bools.has('no-monitors'),
    vfInfo: vfInfoSourceOf(args.values['ip-link-json'], hostRoot, { log }),
    log,
    env: process.env,
  });
  return await new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      log.info('shutting down', { signal });
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      // hard deadline: the kubelet waits terminationGracePeriodSeconds, railwatch wants to be gone in 2 s
      const deadline = setTimeout(() => {
        log.warn('shutdown deadline reached; exiting');
        resolve(0);
      }, 1800);
      deadline.unref();
      agent.stop().then(
        () => {
          clearTimeout(deadline);
          resolve(0);
        },
        (err: unknown) => {
          log.error('error during shutdown', { err });
          clearTimeout(deadline);
          resolve(0);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => agent.reloadConfig());
  });
}
