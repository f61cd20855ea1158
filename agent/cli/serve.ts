// `railwatch serve`: the agent. Rescans the host on an interval and on triggers (rtnetlink, uevents, file
// watchers), asks the kubelet which VFs are allocated, runs the setup chain, serves /metrics, /healthz, /readyz
// and /status, and converges the Node's labels, condition and events. Runs with no cluster at all.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { createAllocationSource } from '../allocation/source.ts';
import { gatherProbes } from '../checks/probe.ts';
import { runChecks } from '../checks/run.ts';
import { ConfigError, loadConfigFile, type Config } from '../config/config.ts';
import { rootIdentity } from '../host-identity.ts';
import { DEFAULT_LISTEN, parseListen, startHttpServer, type RunningHttpServer } from '../http/server.ts';
import { startAttachments, type AttachmentsOptions } from '../attach/agent.ts';
import { resolveKubeMode, resolveNodeName } from '../kube/client.ts';
import { kubeDesired, observation } from '../kube/desired.ts';
import { createKubeSync, type KubeSync, type KubeSyncOptions } from '../kube/reconciler.ts';
import { createLogger, type Logger } from '../log.ts';
import { createMetricsRenderer } from '../metrics/render.ts';
import { hostRootOf, logLevelOf, loadConfig, VERSION } from './common.ts';
import type { HostIdentity, NodeSnapshot } from '../model.ts';
import { coalesce, createFileVfInfoSource, createIpVfInfoSource, type VfInfoReading, type VfInfoSource } from '../netlink/vf-info.ts';
import { createVfCounterSource } from '../netlink/vf-metrics.ts';
import { UNSUPPORTED } from '../scan/infiniband.ts';
import type { Scan, ScanOptions } from '../scan/registry.ts';
import { rescanNodeYielding } from '../scan/rescan.ts';
import { HostFs } from '../sysfs/host-fs.ts';
import { bump, createAgentState, type AgentState } from '../state.ts';
import { watchConfig, watchDirs, type Closable } from '../watch/files.ts';
import { startLinkMonitor, type LinkEvent, type LinkMonitor } from '../watch/netlink.ts';
import { createRescanLoop, type RescanLoop } from '../watch/rescan-loop.ts';
import { startUeventMonitor, type Uevent, type UeventMonitor } from '../watch/uevent.ts';
import { createVirtualNetdevFilter } from '../watch/virtual-netdevs.ts';
import { parseArgs, UsageError } from './args.ts';
import { flagSpec } from './help.ts';
import { checkServePaths } from './paths.ts';
import { derive } from '../view/derive.ts';

/** A full scan at least every this many interval scans, even when the cheap rescan sees no structural change. */
export const FULL_SCAN_EVERY = 6;
/** Distinct skipped-attribute paths logged (each once); beyond this only the counters grow. */
const MAX_LOGGED_ISSUES = 500;

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

export async function startAgent(opts: ServeOptions): Promise<RunningAgent> {
  const log = opts.log;
  let config = opts.config;
  const state = createAgentState(config, VERSION);
  const sys = new HostFs(opts.sysfsRoot);
  const hostFs = new HostFs(opts.hostRoot ?? '/');
  let identity: HostIdentity | undefined;
  const loggedIssues = new Set<string>();
  let lastAllocationError: string | undefined;
  let prevObs: ReturnType<typeof observation> | undefined;
  let scansSinceFull = 0;
  /** The latest complete scan: its records are what the next cheap rescan reuses. */
  let lastScan: Scan | undefined;
  let probes: ReturnType<typeof gatherProbes> | undefined;
  let waiters: (() => void)[] = [];

  const podResources = createAllocationSource({ socketPath: opts.podResourcesSocket, log });
  const loggedVfIssues = new Set<string>();
  /** Counts and logs (each kind once) what a VF netlink read skipped; shared by scans and scrapes. */
  function recordVfIssues(reading: VfInfoReading): void {
    for (const issue of reading.issues) {
      bump(state.scanErrorsTotal, 'vf-netlink');
      const key = `${issue.path}:${issue.code}`;
      if (loggedVfIssues.has(key) || loggedVfIssues.size >= MAX_LOGGED_ISSUES) continue;
      loggedVfIssues.add(key);
      log.warn('VF netlink list incomplete', { path: issue.path, code: issue.code, detail: issue.detail });
    }
  }
  // one child process serves a scan and the scrapes around it: a reading at most 200 ms old is reused, and concurrent
  // callers share the read in flight (the fresh reader coalesces scrapes at 100 ms on top)
  const vfInfo = coalesce(opts.vfInfo ?? createIpVfInfoSource({ log }), 200);

  const kubeMode = resolveKubeMode({ noKube: opts.noKube, env: opts.env });
  let nodeName = resolveNodeName(opts.nodeName, opts.env);
  if (nodeName === undefined) {
    if (kubeMode.kind !== 'standalone') {
      throw new UsageError('the node name is unknown: set NODE_NAME (downward API) or --node-name');
    }
    nodeName = hostname();
  }
  const sync: KubeSync = createKubeSync({
    nodeName,
    labelPrefix: config.labelPrefix,
    counters: state.kubeRequests,
    log,
    mode: kubeMode,
    heartbeatMs: config.conditionHeartbeatSeconds * 1000,
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

  // counter files the driver reported as unsupported in the previous scan: counted again only after a change of state
  let unsupported = new Set<string>();

  function recordIssues(snapshot: NodeSnapshot): void {
    const nowUnsupported = new Set<string>();
    for (const issue of snapshot.issues) {
      const key = `${issue.scanner}:${issue.path}:${issue.code}`;
      if (issue.code === UNSUPPORTED) {
        nowUnsupported.add(key);
        if (unsupported.has(key)) continue;
      }
      bump(state.scanErrorsTotal, issue.scanner);
      if (loggedIssues.has(key) || loggedIssues.size >= MAX_LOGGED_ISSUES) continue;
      loggedIssues.add(key);
      log.warn('skipped an unreadable attribute', { scanner: issue.scanner, path: issue.path, code: issue.code, detail: issue.detail });
    }
    // a failed scan may not have reached the counter files: their state is unchanged, not cleared
    if (snapshot.failedScanners.length === 0) unsupported = nowUnsupported;
  }

  async function refreshAllocation(): Promise<void> {
    const { view, err } = await podResources.read();
    state.allocation = view;
    if (view.error === undefined) {
      if (lastAllocationError !== undefined) log.info('kubelet pod-resources reachable again', { socket: opts.podResourcesSocket });
      lastAllocationError = undefined;
      return;
    }
    bump(state.scanErrorsTotal, 'pod-resources');
    if (view.error !== lastAllocationError) {
      log.warn('VF allocation unknown: cannot read the kubelet pod-resources API', {
        socket: opts.podResourcesSocket,
        reason: view.error,
        err: err?.message,
      });
    }
    lastAllocationError = view.error;
  }

  async function scanOnce(trigger: string): Promise<void> {
    const scanOpts: ScanOptions = {
      sysfsRoot: opts.sysfsRoot,
      procfsRoot: opts.procfsRoot,
      config,
      ...(identity ? { identity } : {}),
      ...(opts.scanners ? { scanners: opts.scanners } : {}),
    };
    const forceFull = trigger !== 'interval' || scansSinceFull >= FULL_SCAN_EVERY || state.snapshot === undefined;
    // the scan yields to the event loop every ~2 ms of work, so a scrape waits for a slice, never a whole scan
    // (docs/metrics.md: a worker thread measured as well and cost ~30 MiB RSS)
    const res = await rescanNodeYielding(lastScan, scanOpts, forceFull ? trigger : undefined);
    scansSinceFull = res.mode === 'full' ? 0 : scansSinceFull + 1;
    const snapshot = res.snapshot;
    recordIssues(snapshot);
    if (snapshot.failedScanners.length > 0) {
      // A scanner threw: its part of this snapshot is empty, not zero. Keep serving the last complete snapshot
      // (railwatch_last_scan_timestamp_seconds shows its age, railwatch_scan_errors_total{scanner} the failure)
      // and write nothing to the Node from a partial picture; before any complete scan /readyz stays 503.
      log.error('scanners failed; keeping the last complete snapshot', { scanners: snapshot.failedScanners, kept: state.snapshot !== undefined });
      scansSinceFull = FULL_SCAN_EVERY;
      bump(state.scansTotal, 'failed');
    } else {
      await refreshAllocation();
      // probes (PCI config space for ACS, kubelet and CNI directories) change rarely: re-read on full scans, which
      // every trigger (including the directory watchers) and every sixth interval causes
      if (res.mode === 'full' || probes === undefined) probes = gatherProbes({ snapshot, config, sys, host: hostFs });
      const vfReading = await vfInfo.read();
      // what the scan's read skipped counts as scan errors; the scrapes' skips count in railwatch_scrape_read_errors_total
      recordVfIssues(vfReading);
      const view = derive(snapshot, state.allocation, probes, config, vfReading);
      const attached = attachments.observe(view);
      const checks = runChecks({ ...view, attachments: attached });
      state.vfInfo = vfReading;
      lastScan = res;
      state.snapshot = snapshot;
      state.view = view;
      state.attachments = attached;
      state.checks = checks;
      state.config = config;
      // the structural part of /metrics is rendered now, not by the first scrape after the scan
      renderer.prepare(state);
      bump(state.scansTotal, trigger);
      const obs = observation(view, checks);
      const desired = kubeDesired(prevObs, obs, config, log);
      // Pod events: step 11's problems, and RailMisaligned from the GPU/VF alignment of each pod (view.pods)
      const alignment = (view.pods ?? []).map((p) => ({ namespace: p.namespace, pod: p.pod, aligned: p.aligned, message: p.misaligned.join('; ') }));
      sync.update({ ...desired, events: [...(desired.events ?? []), ...attachments.events(attached, alignment)] });
      prevObs = obs;
    }
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  }

  const renderer = createMetricsRenderer({ log, freshSources: [createVfCounterSource(vfInfo)] });
  const http = await startHttpServer({ listen: opts.listen, state: () => state, log, nodeName, render: renderer });
  log.info('railwatch serving', { version: VERSION, address: http.address, port: http.port, sysfs: opts.sysfsRoot, node: nodeName, kube: kubeMode.kind });

  const loop: RescanLoop = createRescanLoop({ intervalMs: opts.intervalMs, scan: scanOnce, log });
  // identity first (from the host's DMI and cpuinfo files, once, off the scan path), then the scanning starts
  identity = rootIdentity(opts.sysfsRoot, opts.procfsRoot);
  loop.start();
  sync.start();

  let link: LinkMonitor | undefined;
  let uevent: UeventMonitor | undefined;
  if (opts.monitors) {
    // virtual netdevs (pod veths) come and go with every pod: their events do not trigger scans
    const virtual = createVirtualNetdevFilter(sys, () => state.snapshot);
    const onLink = (ev: LinkEvent) => {
      if (!virtual.link(ev)) loop.trigger('netlink');
    };
    const onUevent = (ev: Uevent) => {
      if (!virtual.uevent(ev)) loop.trigger('uevent');
    };
    link = startLinkMonitor({ onEvent: onLink, onResync: () => loop.trigger('netlink'), log });
    uevent = startUeventMonitor({ onEvent: onUevent, onResync: () => loop.trigger('uevent'), log });
  }

  function applyConfig(next: Config, source: string): void {
    const restartOnly = (
      [
        ['labelPrefix', next.labelPrefix !== config.labelPrefix],
        ['scanIntervalSeconds', next.scanIntervalSeconds !== config.scanIntervalSeconds],
        ['conditionHeartbeatSeconds', next.conditionHeartbeatSeconds !== config.conditionHeartbeatSeconds],
        ['kubelet.podResourcesSocket', next.kubelet.podResourcesSocket !== config.kubelet.podResourcesSocket],
        ['kubelet.devicePluginsDir', next.kubelet.devicePluginsDir !== config.kubelet.devicePluginsDir],
        ['cni.confDir', next.cni.confDir !== config.cni.confDir],
      ] as const
    )
      .filter(([, changed]) => changed)
      .map(([field]) => field);
    if (restartOnly.length > 0) log.warn('these settings take effect at the next restart', { source, fields: restartOnly });
    config = next;
    log.info('config reloaded', { source });
    loop.trigger('config');
  }

  const closables: Closable[] = [];
  if (opts.configFile !== undefined) {
    closables.push(
      watchConfig({
        file: opts.configFile,
        onConfig: (cfg) => applyConfig(cfg, 'file watch'),
        // watchConfig logs the rejection (naming the field) itself
        onError: () => bump(state.scanErrorsTotal, 'config'),
        log,
      }),
    );
  }
  closables.push(watchDirs({ dirs: [config.kubelet.devicePluginsDir, config.cni.confDir].map((d) => hostFs.abs(d.replace(/^\/+/, ''))), onChange: () => loop.trigger('file'), log }));

  let stopped = false;
  return {
    state: () => state,
    http,
    trigger: (reason) => loop.trigger(reason),
    nextScan: () => new Promise<void>((resolve) => waiters.push(resolve)),
    reloadConfig() {
      if (opts.configFile === undefined) {
        log.info('no config file to reload');
        return;
      }
      try {
        applyConfig(loadConfigFile(opts.configFile), 'SIGHUP');
      } catch (err) {
        const e = err as ConfigError;
        log.error('rejected the new config; keeping the old one', { err: e.message, field: e.field });
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      attachments.stop();
      await Promise.allSettled([
        http.close(),
        loop.stop(),
        sync.stop(),
        link?.stop(),
        uevent?.stop(),
        ...closables.map((c) => c.close()),
      ]);
      podResources.close();
      for (const resolve of waiters) resolve();
      waiters = [];
    },
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
  const agent = await startAgent({
    sysfsRoot: args.values['sysfs'] ?? '/sys',
    procfsRoot: args.values['procfs'] ?? '/proc',
    hostRoot: hostRootOf(args.values['root'], args.values['sysfs']),
    ...(configFile !== undefined ? { configFile } : {}),
    config,
    listen,
    podResourcesSocket: args.values['pod-resources-socket'] ?? config.kubelet.podResourcesSocket,
    intervalMs: intervalS * 1000,
    ...(args.values['node-name'] !== undefined ? { nodeName: args.values['node-name'] } : {}),
    noKube: args.bools.has('no-kube'),
    monitors: !args.bools.has('no-monitors'),
    ...(args.values['ip-link-json'] !== undefined ? { vfInfo: createFileVfInfoSource(args.values['ip-link-json']) } : {}),
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
