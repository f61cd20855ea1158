// Writes generated files (path relative to the repository root -> content), one JSON log line each.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export async function writeGenerated(root: string, files: Iterable<[string, string]>): Promise<void> {
  for (const [path, content] of files) {
    const target = resolve(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    process.stdout.write(JSON.stringify({ level: 'info', msg: 'wrote', path }) + '\n');
  }
}
