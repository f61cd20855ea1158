#!/usr/bin/env node
// Entry point for the installed package: runs the compiled agent (dist/, built by `npm ci` via the prepare script).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(`railwatch: ${main.pathname} is missing: run \`npm run build\` (npm ci does it) in ${new URL('..', import.meta.url).pathname}\n`);
  process.exitCode = 69;
} else {
  await import(main.href);
}
