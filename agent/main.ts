// railwatch command line: flags and environment -> wiring -> run.
import { gatherHostIdentity } from './host-identity.ts';
import { createLogger } from './log.ts';
import { ConfigError } from './config/config.ts';
import { parseArgs, UsageError } from './cli/args.ts';
import { loadConfig, logLevelOf, VERSION } from './cli/common.ts';
import { inventoryJson, inventoryText } from './cli/inventory.ts';
import { scanNode } from './scan/registry.ts';

export { loadConfig, logLevelOf, VERSION };

const USAGE = `railwatch ${VERSION}: SR-IOV/RDMA rail inventory, metrics and setup checks for GPU nodes

Usage:
  railwatch inventory [--json] [--sysfs DIR] [--procfs DIR] [--config FILE]
  railwatch doctor    [--json] [--sysfs DIR] [--procfs DIR] [--config FILE] [--pod-resources-socket PATH] [--no-kube]
  railwatch serve     [--listen ADDR:PORT] [--sysfs DIR] [--procfs DIR] [--config FILE]
                      [--pod-resources-socket PATH] [--interval SECONDS] [--node-name NAME] [--no-kube]
                      [--no-monitors]
  railwatch fleet     [--json] [--kubeconfig FILE] [--context NAME] [--selector SELECTOR] [--max-names K]
                      [--stale-after 30m] [--group-by LABEL,...] [--events-since 1h] [--label-prefix PREFIX]
                      [--page-size N]
  every command: [--log-level debug|info|warn|error] (serve also reads RAILWATCH_LOG_LEVEL)
  serve reads /etc/railwatch/config.yaml when it exists and no --config is given
  railwatch version
`;

const COMMON_VALUES = ['sysfs', 'procfs', 'config', 'log-level'] as const;


export async function main(argv: readonly string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  try {
    switch (command) {
      case 'inventory':
        return await runInventory(rest);
      case 'doctor': {
        const { runDoctor } = await import('./cli/doctor.ts');
        return await runDoctor(rest);
      }
      case 'fleet': {
        const { runFleet } = await import('./cli/fleet.ts');
        return await runFleet(rest);
      }
      case 'serve': {
        const { runServe } = await import('./cli/serve.ts');
        return await runServe(rest);
      }
      case 'version':
      case '--version':
        process.stdout.write(`railwatch ${VERSION}\n`);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      default:
        if (command.startsWith('--')) {
          const { runServe } = await import('./cli/serve.ts');
          return await runServe(argv);
        }
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`railwatch: ${err.message}\n\n${USAGE}`);
      return 64;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`railwatch: ${err.message}\n`);
      return 78;
    }
    throw err;
  }
}


async function runInventory(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { values: COMMON_VALUES, bools: ['json', 'no-identity'] });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const log = createLogger({ level: logLevelOf(args.values['log-level'] ?? 'warn') });
  const config = loadConfig(args.values['config']);
  const sysfsRoot = args.values['sysfs'] ?? '/sys';
  const procfsRoot = args.values['procfs'] ?? '/proc';
  const identity = args.bools.has('no-identity') ? undefined : await gatherHostIdentity(log, sysfsRoot, procfsRoot);
  const snapshot = scanNode({
    sysfsRoot,
    procfsRoot,
    config,
    ...(identity ? { identity } : {}),
  });
  process.stdout.write(args.bools.has('json') ? inventoryJson(snapshot) : inventoryText(snapshot));
  return 0;
}

const isEntry = process.argv[1] !== undefined && /(?:^|\/)(main\.(?:ts|js)|railwatch(?:\.js)?)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // serve leaves nothing running after a clean stop; a forced stop must not hang on a stuck handle
      const cmd = process.argv[2];
      if (code !== 0 || cmd === undefined || cmd === 'serve' || cmd.startsWith('--')) setTimeout(() => process.exit(code), 100).unref();
    },
    (err: unknown) => {
      process.stderr.write(`railwatch: fatal: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
