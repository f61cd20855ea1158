// The real railwatch CLI as a child process, as a user runs it (optionally as an unprivileged user).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const REPO = join(import.meta.dirname, '../..');
export const NODE = join(REPO, 'node_modules/.bin/node');
export const MAIN = join(REPO, 'agent/main.ts');
/** nobody */
export const UNPRIVILEGED_UID = 65534;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `railwatch ARGS` (agent/main.ts on the project's Node) to its end; `uid` runs it as that user. */
export function railwatch(args: readonly string[], opts: { env?: Record<string, string>; uid?: number; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [MAIN, ...args], {
      cwd: REPO,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Why the CLI cannot be run as an unprivileged user here (not root, or a directory above the clone that others may
 * not search), or undefined when it can.
 */
export function unprivilegedSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'runs the CLI as another user, which needs root';
  for (let dir = REPO; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return `the unprivileged user cannot reach the clone: ${dir} is not searchable by others`;
    if (dir === dirname(dir)) return undefined;
  }
}
