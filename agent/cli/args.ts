// Minimal, strict flag parsing: known flags only, clear errors.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** flags that take a value */
  values: readonly string[];
  /** boolean flags */
  bools: readonly string[];
}

export interface ParsedArgs {
  values: Record<string, string>;
  bools: Set<string>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  const out: ParsedArgs = { values: {}, bools: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (spec.bools.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      out.bools.add(name);
    } else if (spec.values.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      out.values[name] = value;
    } else {
      throw new UsageError(`unknown flag --${name}`);
    }
  }
  return out;
}
