// The commands and their flags, in one table: `railwatch --help`, `railwatch COMMAND --help` and each command's flag
// parser (flagSpec) come from it, so a flag cannot be accepted without being documented. Adding a command is one
// entry in COMMANDS (and its case in main.ts).
import type { FlagSpec } from './args.ts';
import { EXIT_CODES } from './errors.ts';
import { wrapText } from './text.ts';

export interface FlagHelp {
  /** Without the leading `--`. */
  name: string;
  /** The value's placeholder (DIR, FILE, ...); absent for a boolean flag. */
  value?: string;
  text: string;
}

export interface CommandHelp {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Said after the usage line (what it reads, what it writes, its exit codes). */
  description: string;
  flags: readonly FlagHelp[];
  examples: readonly string[];
}

const SYSFS: FlagHelp = { name: 'sysfs', value: 'DIR', text: 'the sysfs root to read (default /sys; /host/sys in the DaemonSet)' };
const PROCFS: FlagHelp = { name: 'procfs', value: 'DIR', text: 'the procfs root to read (default /proc)' };
const ROOT: FlagHelp = {
  name: 'root',
  value: 'DIR',
  text: "the host root the config's kubelet and CNI paths (the pod-resources socket too) are read under (default /, or the directory above --sysfs when given); not / means a tree, not this host: ip is not run",
};
const IP_LINK_JSON: FlagHelp = {
  name: 'ip-link-json',
  value: 'FILE',
  text: "read the PFs' VF lists from this file (the output of ip -j -s -d link show) instead of running ip (which runs only when the host root is /)",
};
const CONFIG: FlagHelp = { name: 'config', value: 'FILE', text: 'YAML config (docs/config.md; example in config.example.yaml)' };
const LOG_LEVEL: FlagHelp = { name: 'log-level', value: 'LEVEL', text: 'debug, info, warn or error (JSON lines on stderr); debug also prints the stack of a failure' };
const SOCKET: FlagHelp = {
  name: 'pod-resources-socket',
  value: 'PATH',
  text: "the kubelet's pod-resources socket (default from the config, under the host root: /var/lib/kubelet/pod-resources/kubelet.sock)",
};
const JSON_FLAG = (what: string): FlagHelp => ({ name: 'json', text: what });

export const COMMANDS: readonly CommandHelp[] = [
  {
    name: 'inventory',
    summary: "the host's rails, PFs, VFs, RDMA ports, GPUs and GPU<->NIC PCIe distances",
    description: 'Reads sysfs and procfs once and prints what it found; exit 0 (a host without rails says so and exits 0 too).',
    flags: [
      JSON_FLAG('print the snapshot as JSON (docs/inventory.md) instead of text'),
      { name: 'vfs', text: 'list every VF on its own line (default: a summary per PF, with index ranges)' },
      SYSFS,
      PROCFS,
      CONFIG,
      { name: 'no-identity', text: 'skip the host identity (vendor, model, CPU brand; read with systeminformation)' },
      LOG_LEVEL,
    ],
    examples: [
      'railwatch inventory',
      'railwatch inventory --vfs --json',
      'railwatch inventory --sysfs /tmp/fx/sys --procfs /tmp/fx/proc',
    ],
  },
  {
    name: 'doctor',
    summary: 'checks the RDMA setup chain step by step and names the first link that broke',
    description:
      'Runs the setup chain (docs/checks.md) on the host; exit 0 when every check passes, 1 with a warning, 2 with a failure. ' +
      "It asks the kubelet which VFs are in pods when its pod-resources socket is there.",
    flags: [
      JSON_FLAG('print every result as JSON'), SYSFS, PROCFS, ROOT, CONFIG, SOCKET, IP_LINK_JSON,
      { name: 'no-kube', text: 'never ask the API server: step 11 (network attachments) is skipped with the reason' },
      LOG_LEVEL,
    ],
    examples: ['railwatch doctor', 'railwatch doctor --json --config /etc/railwatch/config.yaml', 'railwatch doctor --sysfs /tmp/fx/sys --procfs /tmp/fx/proc'],
  },
  {
    name: 'fleet',
    summary: 'the whole cluster from what the agents write: ready and not-ready nodes by failing step, outliers, events',
    description:
      'Reads Nodes and railwatch Events from the API server (kubeconfig: --kubeconfig, $KUBECONFIG, ~/.kube/config, or ' +
      'in-cluster), read-only (docs/fleet.md); exit 0 when every selected node is ready, 1 when some are not, 2 when the ' +
      'cluster cannot be read.',
    flags: [
      JSON_FLAG('print the report as JSON, every node name'),
      { name: 'kubeconfig', value: 'FILE', text: 'the kubeconfig to use (default $KUBECONFIG, ~/.kube/config, in-cluster)' },
      { name: 'context', value: 'NAME', text: "the kubeconfig context to use (default: the kubeconfig's current context)" },
      { name: 'selector', value: 'SELECTOR', text: 'label selector of the nodes (default railwatch.io/rdma=true)' },
      { name: 'max-names', value: 'K', text: 'node names shown per line (default 10)' },
      { name: 'stale-after', value: 'DURATION', text: 'a heartbeat older than this is stale (default 30m)' },
      { name: 'group-by', value: 'LABEL,...', text: 'label keys that group nodes for outliers (default node.kubernetes.io/instance-type)' },
      { name: 'label-prefix', value: 'PREFIX', text: "the agents' label prefix (default railwatch.io/)" },
      { name: 'events-since', value: 'DURATION', text: 'events last seen within this (default 1h)' },
      { name: 'page-size', value: 'N', text: 'nodes per list page (default 500)' },
      LOG_LEVEL,
    ],
    examples: [
      'railwatch fleet',
      'railwatch fleet --json',
      "railwatch fleet --selector railwatch.io/rdma=true,topology.kubernetes.io/zone=us-east-1a --stale-after 1h",
    ],
  },
  {
    name: 'serve',
    summary: 'the agent: rescans, serves /metrics, /healthz, /readyz, /status and keeps the Node up to date (default)',
    description:
      'Runs until SIGTERM or SIGINT; SIGHUP reloads the config. Without a kubeconfig and outside a pod it runs standalone: ' +
      'it serves HTTP and logs what it would write to the Node. Reads /etc/railwatch/config.yaml when it exists and no ' +
      '--config is given, and RAILWATCH_LOG_LEVEL when no --log-level is.',
    flags: [
      { name: 'listen', value: 'ADDR:PORT', text: 'where to serve HTTP (default 0.0.0.0:9839; :PORT, [IPv6]:PORT)' },
      SYSFS,
      PROCFS,
      ROOT,
      CONFIG,
      SOCKET,
      { name: 'interval', value: 'SECONDS', text: 'seconds between rescans, 1-3600 (default from the config: 10)' },
      { name: 'node-name', value: 'NAME', text: 'the Node to label (default $NODE_NAME, from the downward API)' },
      { name: 'no-kube', text: 'never talk to the API server: log what would be written' },
      IP_LINK_JSON,
      { name: 'no-monitors', text: 'no rtnetlink or uevent monitors: interval rescans only' },
      LOG_LEVEL,
    ],
    examples: [
      'railwatch serve --no-kube --listen 127.0.0.1:9839',
      'railwatch serve --sysfs /tmp/fx/sys --procfs /tmp/fx/proc --no-kube --listen 127.0.0.1:9839',
      'NODE_NAME=node-a railwatch serve --config /etc/railwatch/config.yaml',
    ],
  },
  {
    name: 'version',
    summary: 'prints the version',
    description: 'Prints `railwatch VERSION`.',
    flags: [],
    examples: ['railwatch version'],
  },
  {
    name: 'help',
    summary: 'this list, or a command\'s flags and examples (railwatch help COMMAND, railwatch COMMAND --help)',
    description: 'Prints the command list, or the help of COMMAND.',
    flags: [],
    examples: ['railwatch help', 'railwatch help doctor', 'railwatch inventory --help'],
  },
];

export function findCommand(name: string): CommandHelp | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The flag parser's spec for a command, from its table entry. */
export function flagSpec(command: string): FlagSpec {
  const c = findCommand(command);
  if (c === undefined) throw new Error(`no help entry for command ${command}`);
  return { values: c.flags.filter((f) => f.value !== undefined).map((f) => f.name), bools: c.flags.filter((f) => f.value === undefined).map((f) => f.name) };
}

function flagLabel(f: FlagHelp): string {
  return `--${f.name}${f.value !== undefined ? ` ${f.value}` : ''}`;
}

/** Two columns, the second wrapped to `width` and indented under itself. */
function table(rows: readonly (readonly [string, string])[], width: number): string[] {
  const left = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2);
  const out: string[] = [];
  for (const [l, r] of rows) {
    const first = `  ${l}`.padEnd(left + 2);
    if (first.length > left + 2) {
      out.push(`  ${l}`);
      out.push(...wrapText(r, width, ' '.repeat(left + 2)));
    } else {
      const [head, ...rest] = wrapText(r, width - first.length, '');
      out.push(first + (head ?? ''));
      for (const line of wrapText(rest.join(' '), width, ' '.repeat(left + 2))) if (line.trim() !== '') out.push(line);
    }
  }
  return out;
}

export function commandHelp(name: string, version: string, width: number): string {
  const c = findCommand(name);
  if (c === undefined) throw new Error(`no help entry for command ${name}`);
  const out: string[] = [];
  out.push(...wrapText(`railwatch ${c.name}: ${c.summary}`, width, ''));
  out.push('', `Usage: railwatch ${c.name}${c.name === 'help' ? ' [COMMAND]' : ''}${c.flags.length > 0 ? ' [flags]' : ''}`, '');
  out.push(...wrapText(c.description, width, ''));
  if (c.flags.length > 0) {
    out.push('', 'Flags:');
    out.push(...table([...c.flags.map((f) => [flagLabel(f), f.text] as const), ['--help, -h', 'this help']], width));
  }
  out.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  out.push('', ...wrapText(`railwatch ${version}; every command and its flags: railwatch --help`, width, ''));
  return out.map((l) => l.trimEnd()).join('\n') + '\n';
}

export function mainHelp(version: string, width: number): string {
  const out: string[] = [];
  out.push(...wrapText(`railwatch ${version}: SR-IOV/RDMA rail inventory, metrics and setup checks for GPU nodes`, width, ''));
  out.push('', 'Usage: railwatch COMMAND [flags]      (no command: serve)', '', 'Commands:');
  out.push(...table(COMMANDS.map((c) => [c.name, c.summary] as const), width));
  out.push('');
  out.push(...wrapText('inventory, doctor and serve take --sysfs DIR, --procfs DIR, --config FILE and --log-level LEVEL. Run `railwatch COMMAND --help` for its flags and examples.', width, ''));
  out.push('', 'Exit codes:');
  out.push(...table(EXIT_CODES.map((e) => [String(e.code), e.meaning] as const), width));
  return out.map((l) => l.trimEnd()).join('\n') + '\n';
}
