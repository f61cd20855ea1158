// Writes the Grafana dashboards built in dashboards/src/ as JSON into dashboards/.
// Usage: node scripts/gen-dashboards.ts [repository root, default: the current directory]

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { renderDashboards } from '../dashboards/src/registry.ts';

async function main(root: string): Promise<void> {
  for (const [path, content] of renderDashboards()) {
    const target = resolve(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    process.stdout.write(JSON.stringify({ level: 'info', msg: 'wrote', path }) + '\n');
  }
}

if (import.meta.main) {
  await main(process.argv[2] ?? process.cwd());
}
