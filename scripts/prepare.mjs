// npm's `prepare` hook (runs after `npm ci` / `npm install` in a checkout): bundles agent/ into dist/ so that
// `npx railwatch ...` works right away. Plain JavaScript, so it also runs where only production dependencies (and
// an older system Node) are installed; there, with no agent/ sources or no esbuild, there is nothing to build.
// The image build runs `npm ci` where this file is absent (package.json alone): the script in package.json then
// does nothing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
if (!existsSync(join(root, 'agent/main.ts')) || !existsSync(join(root, 'node_modules/esbuild'))) process.exit(0);
execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
