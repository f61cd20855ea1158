// Writes docs/checks.md from the check catalogue: node scripts/gen-check-docs.ts [--check]
// --check exits 1 when the committed file differs from the catalogue.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChecksMarkdown } from '../agent/checks/docs.ts';

const file = join(import.meta.dirname, '../docs/checks.md');
const text = renderChecksMarkdown();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // absent: stale
  }
  if (current !== text) {
    process.stderr.write('docs/checks.md is stale: run node scripts/gen-check-docs.ts\n');
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
  process.stdout.write(`wrote ${file}\n`);
}
