// railwatch command line: flags and environment -> wiring -> run.
// First: `serve` re-executes itself under its memory flags when started without them (serve-flags.ts).
import './serve-flags.ts';
import { gatherHostIdentity } from './host-identity.ts';
import { createLogger } from './log.ts';
import { parseArgs, UsageError } from './cli/args.ts';
import { debugRequested, failureReport } from './cli/errors.ts';
import { COMMANDS, commandHelp, findCommand, flagSpec, mainHelp } from './cli/help.ts';
import { checkProcfsRoot, checkSysfsRoot } from './cli/paths.ts';
import { terminalWidth } from './cli/text.ts';
import { loadConfig, logLevelOf, VERSION } from './cli/common.ts';
import { inventoryJson, inventoryText } from './cli/inventory.ts';
import { scanNode } from './scan/registry.ts';

export { loadConfig, logLevelOf, VERSION };

/** `--help` or `-h` among a command's arguments (before a `--`). */
function wantsHelp(args: readonly string[]): boolean {
  return args.some((a) => a === '--help' || a === '-h');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  const width = terminalWidth(process.stdout, process.env);
  const named = findCommand(command) !== undefined ? command : command.startsWith('--') && !wantsHelp([command]) ? 'serve' : undefined;
  try {
    if (named !== undefined && named !== 'help' && wantsHelp(named === command ? rest : argv)) {
      process.stdout.write(commandHelp(named, VERSION, width));
      return 0;
    }
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
      case '-h': {
        const topic = command === 'help' ? rest[0] : undefined;
        if (topic !== undefined && findCommand(topic) === undefined) throw new UsageError(`no command ${JSON.stringify(topic)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
        process.stdout.write(topic !== undefined ? commandHelp(topic, VERSION, width) : mainHelp(VERSION, width));
        return 0;
      }
      default:
        if (command.startsWith('--')) {
          const { runServe } = await import('./cli/serve.ts');
          return await runServe(argv);
        }
        throw new UsageError(`unknown command ${JSON.stringify(command)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    }
  } catch (err) {
    const report = failureReport(err, named, debugRequested(argv, process.env));
    process.stderr.write(report.text);
    return report.exitCode;
  }
}


async function runInventory(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, flagSpec('inventory'));
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const log = createLogger({ level: logLevelOf(args.values['log-level'] ?? 'warn') });
  const config = loadConfig(args.values['config']);
  const sysfsRoot = args.values['sysfs'] ?? '/sys';
  const procfsRoot = args.values['procfs'] ?? '/proc';
  checkSysfsRoot(sysfsRoot);
  checkProcfsRoot(procfsRoot);
  const identity = args.bools.has('no-identity') ? undefined : await gatherHostIdentity(log, sysfsRoot, procfsRoot);
  const snapshot = scanNode({
    sysfsRoot,
    procfsRoot,
    config,
    ...(identity ? { identity } : {}),
  });
  const text = { vfs: args.bools.has('vfs'), width: terminalWidth(process.stdout, process.env) };
  process.stdout.write(args.bools.has('json') ? inventoryJson(snapshot) : inventoryText(snapshot, text));
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
      const report = failureReport(err, undefined, true);
      process.stderr.write(report.text);
      process.exitCode = report.exitCode;
    },
  );
}
