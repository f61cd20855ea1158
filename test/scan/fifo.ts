// mkfifo for tests (node has no fs.mkfifo): uses the coreutils binary with fixed arguments.
import { execFileSync } from 'node:child_process';

export function mkfifoSync(path: string): void {
  execFileSync('mkfifo', [path]);
}
