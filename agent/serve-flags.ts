// The memory flags of `serve` (V8's and Node's), wherever it runs (the image's ENTRYPOINT, `npx railwatch serve`,
// `npm run railwatch -- serve`, `node dist/main.js`), and glibc's malloc thresholds (SERVE_MALLOC_ENV). Without the
// flags V8 lets the garbage of scans and scrapes grow the heap, and the RSS under 200 scrapers reaches 230-290 MiB,
// past the DaemonSet's memory limit. When `serve` starts without a heap cap, the process replaces itself (execve:
// same pid, no parent left behind) with the same command under these flags and that environment. A cap given by
// the caller (`node --max-old-space-size=...` or NODE_OPTIONS) is kept as it is.
// Imported first by main.ts, before any other module is evaluated.
import { basename } from 'node:path';

/**
 * A small young generation, a capped old space, lite mode (no optimizing compiler), and Node's bootstrap run from
 * its builtins instead of its startup snapshot (see docs/metrics.md). Deserializing the snapshot maps about 4 MiB
 * of the node binary that stay resident for the life of the process; without it the builtins serve needs are
 * compiled from the binary's code cache, and serve's RSS on 8x128 is 2.5-4 MiB lower for under 0.1 s more startup.
 */
export const SERVE_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=64', '--lite-mode', '--no-node-snapshot'] as const;

/**
 * The flags for an entry: lite mode disables WebAssembly, which Node's TypeScript type stripping needs, so a `.ts`
 * entry (`npm run railwatch -- serve` from a checkout) gets the heap caps only.
 */
export function serveFlagsFor(entry: string): readonly string[] {
  return entry.endsWith('.ts') ? SERVE_NODE_FLAGS.filter((f) => f !== '--lite-mode') : SERVE_NODE_FLAGS;
}

/**
 * glibc malloc settings of `serve` (the image sets them too): fixed mmap and trim thresholds of 128 KiB. Left
 * dynamic, glibc raises its mmap threshold to the largest block freed so far, so after the first few the 0.4-0.7 MB
 * buffers of each VF read (the netlink answer, the counters' bytes) come from the main heap and leave it fragmented
 * (measured on 8x128: 1.5-2 MiB more resident at 60 s). A value the caller set is kept.
 */
export const SERVE_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };

/** The command line `argv` (process.argv) runs `serve`: no command, `serve`, or flags only. */
export function runsServe(argv: readonly string[]): boolean {
  const entry = argv[1];
  if (entry === undefined || !/^(main\.(ts|js)|railwatch(\.js)?)$/.test(basename(entry))) return false;
  const command = argv[2];
  return command === undefined || command === 'serve' || command.startsWith('--');
}

/** The caller already chose the heap limits. */
export function heapCapped(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const all = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return all.some((a) => a.startsWith('--max-old-space-size') || a.startsWith('--max-semi-space-size'));
}

function reexecWithFlags(): void {
  if (!runsServe(process.argv) || heapCapped(process.execArgv, process.env['NODE_OPTIONS'])) return;
  if (typeof process.execve !== 'function') {
    process.stderr.write(`railwatch: node ${process.version} cannot re-execute itself with the memory flags; serving without heap caps (start it with ${SERVE_NODE_FLAGS.join(' ')})\n`);
    return;
  }
  try {
    process.execve(process.execPath, [process.execPath, ...serveFlagsFor(process.argv[1] ?? ''), ...process.execArgv, ...process.argv.slice(1)], { ...SERVE_MALLOC_ENV, ...process.env });
  } catch (err) {
    // execve only returns on failure: serve runs on, uncapped, and says so
    process.stderr.write(`railwatch: could not restart with the memory flags (${(err as Error).message}); serving without heap caps\n`);
  }
}

reexecWithFlags();
