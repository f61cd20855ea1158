// `railwatch fleet`: the whole cluster in one command, from what the agents write. Read-only: list on nodes and
// events (manifests/fleet-reader). Exit 0 every selected node ready, 1 some not, 2 the cluster cannot be read.
import { existsSync } from 'node:fs';
import { FleetReadError, readEvents, readNodes, type ListStats } from '../fleet/read.ts';
import { fleetExitCode, fleetReport, fleetText } from '../fleet/report.ts';
import { createKubeClient, loadKubeConfig, resolveKubeMode, type ApiConnection, type KubeMode } from '../kube/client.ts';
import { parseArgs, UsageError } from './args.ts';

export const FLEET_DEFAULTS = {
  selector: 'railwatch.io/rdma=true',
  maxNames: 10,
  /** Three heartbeat periods of the default conditionHeartbeatSeconds (600). */
  staleAfterSeconds: 1800,
  groupBy: ['node.kubernetes.io/instance-type'],
  labelPrefix: 'railwatch.io/',
  eventsSinceSeconds: 3600,
  pageSize: 500,
} as const;

const FLEET_FLAGS = {
  values: ['kubeconfig', 'context', 'selector', 'max-names', 'stale-after', 'group-by', 'label-prefix', 'events-since', 'page-size', 'log-level'],
  bools: ['json'],
} as const;

/** `90`, `90s`, `30m`, `2h`, `1h30m` -> seconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  let seconds: number;
  if (/^\d+$/.test(text.trim())) seconds = Number(text.trim());
  else if (m !== null && text.trim() !== '') seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  else throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a duration (e.g. 90s, 30m, 2h, 1h30m)`);
  if (seconds < 1 || seconds > 30 * 86_400) throw new UsageError(`--${flag} must be between 1s and 30 days`);
  return seconds;
}

function positiveInt(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`--${flag} must be an integer between ${min} and ${max}`);
  return Number(text);
}

/** A kubeconfig file with another context than its current one; an unknown context is an error naming the known ones. */
async function kubeConfigContext(path: string, context: string): Promise<ApiConnection> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  const names = kc.getContexts().map((c) => c.name);
  if (!names.includes(context)) throw new Error(`no context ${JSON.stringify(context)} in ${path} (contexts: ${names.join(', ') || 'none'})`);
  kc.setCurrentContext(context);
  return kc;
}

export interface FleetCommandOptions {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Home directory for ~/.kube/config (tests); default os.homedir(). */
  home?: string;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Overrides the connection (tests, benchmarks). */
  loadConfig?: () => Promise<ApiConnection>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Filled with the list statistics (tests, benchmarks). */
  stats?: ListStats;
}

export async function fleetCommand(o: FleetCommandOptions): Promise<number> {
  const args = parseArgs(o.argv, FLEET_FLAGS);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const v = args.values;
  const maxNames = v['max-names'] === undefined ? FLEET_DEFAULTS.maxNames : positiveInt('max-names', v['max-names'], 0, 100_000);
  const pageSize = v['page-size'] === undefined ? FLEET_DEFAULTS.pageSize : positiveInt('page-size', v['page-size'], 1, 10_000);
  const staleAfterS = v['stale-after'] === undefined ? FLEET_DEFAULTS.staleAfterSeconds : parseDuration('stale-after', v['stale-after']);
  const eventsSinceS = v['events-since'] === undefined ? FLEET_DEFAULTS.eventsSinceSeconds : parseDuration('events-since', v['events-since']);
  const groupBy = v['group-by'] === undefined ? [...FLEET_DEFAULTS.groupBy] : v['group-by'].split(',').map((s) => s.trim()).filter(Boolean);
  if (groupBy.length === 0) throw new UsageError('--group-by needs at least one label key');
  const labelPrefix = v['label-prefix'] ?? FLEET_DEFAULTS.labelPrefix;
  if (!labelPrefix.endsWith('/')) throw new UsageError('--label-prefix must end with "/", e.g. railwatch.io/');
  const selector = v['selector'] ?? FLEET_DEFAULTS.selector;

  let loadConfig = o.loadConfig;
  if (loadConfig === undefined) {
    let mode: KubeMode;
    if (v['kubeconfig'] !== undefined) {
      if (!existsSync(v['kubeconfig'])) {
        o.err(`railwatch fleet: cannot read the cluster: kubeconfig ${v['kubeconfig']} does not exist\n`);
        return 2;
      }
      mode = { kind: 'kubeconfig', path: v['kubeconfig'] };
    } else {
      mode = resolveKubeMode({ noKube: false, env: o.env, ...(o.home === undefined ? {} : { home: o.home }) });
    }
    if (mode.kind === 'standalone') {
      o.err(`railwatch fleet: cannot read the cluster: ${mode.why} (set KUBECONFIG or --kubeconfig)\n`);
      return 2;
    }
    const m = mode;
    const context = v['context'];
    if (context !== undefined && m.kind !== 'kubeconfig') throw new UsageError('--context needs a kubeconfig (--kubeconfig or KUBECONFIG)');
    loadConfig = context === undefined || m.kind !== 'kubeconfig' ? () => loadKubeConfig(m) : () => kubeConfigContext(m.path, context);
  }
  // the kubeconfig is read once, up front: a broken one is an answer, not something to retry
  let connection: ApiConnection;
  try {
    connection = await loadConfig();
  } catch (err) {
    o.err(`railwatch fleet: cannot read the cluster: kubeconfig: ${(err as Error).message}\n`);
    return 2;
  }
  const client = createKubeClient({ loadConfig: () => Promise.resolve(connection), counters: new Map(), requestTimeoutMs: 60_000, maxBodyBytes: 256 * 1024 * 1024 });
  const stop = new AbortController();
  const read = { client, pageSize, signal: stop.signal, ...(o.sleep ? { sleep: o.sleep } : {}), ...(o.stats ? { stats: o.stats } : {}) };
  let nodes;
  let events;
  try {
    // both lists at once; the first failure decides the message and stops the other
    const failFast = <T>(p: Promise<T>) => p.catch((err: unknown) => (stop.abort(), Promise.reject(err)));
    [nodes, events] = await Promise.all([failFast(readNodes(selector, read)), failFast(readEvents(read))]);
  } catch (err) {
    if (!(err instanceof FleetReadError)) throw err;
    o.err(`railwatch fleet: cannot read the cluster: ${err.message}\n`);
    return 2;
  }
  const report = fleetReport(nodes, events, {
    nowMs: (o.now ?? Date.now)(),
    staleAfterMs: staleAfterS * 1000,
    groupBy,
    labelPrefix,
    eventsSinceMs: eventsSinceS * 1000,
    selector,
  });
  o.out(args.bools.has('json') ? JSON.stringify(report, null, 2) + '\n' : fleetText(report, maxNames));
  return fleetExitCode(report);
}

export async function runFleet(argv: readonly string[]): Promise<number> {
  return fleetCommand({ argv, env: process.env, out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
}
