// Expected failures of the command line (a taken port, a path that is wrong, permission denied, a bad config) are
// one line naming the thing, with an exit code from EXIT_CODES; only real bugs (and --log-level debug) print a stack.
import { ConfigError } from '../config/config.ts';
import { UsageError } from './args.ts';

/** The exit codes of `railwatch` (README.md lists them; a test keeps the two in step). */
export const EXIT_CODES: readonly { code: number; name: string; meaning: string }[] = [
  { code: 0, name: 'ok', meaning: 'success; doctor: every check passes (skips allowed); fleet: every node is ready' },
  { code: 1, name: 'warn', meaning: 'doctor: a check warns, none fails; fleet: some nodes are not ready' },
  { code: 2, name: 'fail', meaning: 'doctor: a check fails; fleet: the cluster cannot be read' },
  { code: 64, name: 'usage', meaning: 'bad command line: unknown command or flag, bad value, a --sysfs/--procfs root that is not one, a socket path that is wrong' },
  { code: 69, name: 'unavailable', meaning: 'a resource is not available: the listen address is taken or not on this host, dist/ not built' },
  { code: 70, name: 'internal', meaning: 'a bug: the message comes with a stack trace (please report it)' },
  { code: 77, name: 'permission', meaning: 'permission denied: a port below 1024, a root-only socket or directory' },
  { code: 78, name: 'config', meaning: 'the config file is unreadable or invalid (every bad field is named)' },
];

export const EXIT = { ok: 0, warn: 1, fail: 2, usage: 64, unavailable: 69, internal: 70, permission: 77, config: 78 } as const;

/** An expected failure with its exit code: printed as one line, no stack. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

const ERRNO_WORDS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: 'the address is not on this host',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent is not a directory',
  ENOTSOCK: 'not a socket',
  ECONNREFUSED: 'nothing is listening there',
};

export function errnoWords(code: string | undefined): string {
  return code === undefined ? 'failed' : `${ERRNO_WORDS[code] ?? 'failed'} (${code})`;
}

export function errnoExitCode(code: string | undefined): number {
  return code === 'EACCES' || code === 'EPERM' ? EXIT.permission : EXIT.unavailable;
}

interface Classified {
  message: string;
  exitCode: number;
  /** Print the usage hint after the message. */
  usage: boolean;
}

/** What an error means for the user, or undefined when it is a bug. */
export function classify(err: unknown): Classified | undefined {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT.usage, usage: true };
  if (err instanceof ConfigError) return { message: err.message, exitCode: EXIT.config, usage: false };
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode, usage: false };
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e instanceof Error && e.syscall === 'listen') {
    // the HTTP server's bind: EADDRINUSE, EACCES (a port below 1024 without the capability), EADDRNOTAVAIL
    const where = e.address !== undefined ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port ?? '?'}` : 'the listen address';
    const hint = e.code === 'EADDRINUSE' ? '; another process has it: pick another --listen port' : e.code === 'EACCES' ? '; ports below 1024 need root or CAP_NET_BIND_SERVICE' : '';
    return { message: `cannot listen on ${where}: ${errnoWords(e.code)}${hint}`, exitCode: errnoExitCode(e.code), usage: false };
  }
  return undefined;
}

/** True when the command line (or RAILWATCH_LOG_LEVEL) asks for debug logs: then failures print their stack too. */
export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--log-level=debug' || (argv[i] === '--log-level' && argv[i + 1] === 'debug')) return true;
  }
  return !argv.includes('--log-level') && !argv.some((a) => a.startsWith('--log-level=')) && env['RAILWATCH_LOG_LEVEL'] === 'debug';
}

/**
 * The text and exit code for a failed command: one line for an expected failure (plus where to find help for a usage
 * error), the stack trace for a bug, and for both the stack at debug level.
 */
export function failureReport(err: unknown, command: string | undefined, debug: boolean): { text: string; exitCode: number } {
  const known = classify(err);
  const stack = (err as Error)?.stack ?? String(err);
  if (known === undefined) {
    return { text: `railwatch: internal error (a bug; please report it with this trace): ${stack}\n`, exitCode: EXIT.internal };
  }
  const prefix = command !== undefined ? `railwatch ${command}` : 'railwatch';
  const help = known.usage ? ` (see railwatch ${command !== undefined ? `${command} ` : ''}--help)` : '';
  const cause = (err as Error).cause;
  const trace = debug ? `${stack}\n${cause instanceof Error ? `caused by: ${cause.stack}\n` : ''}` : '';
  return { text: `${prefix}: ${known.message}${help}\n${trace}`, exitCode: known.exitCode };
}
