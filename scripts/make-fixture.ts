// Writes a fixture host to a directory: node scripts/make-fixture.ts DIR [rails] [vfsPerPf]
import { rmSync } from 'node:fs';
import { buildDgxHost } from '../test/helpers/fixture-host.ts';

const [dir, rails = '8', vfs = '4'] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: make-fixture.ts DIR [rails] [vfsPerPf]\n');
  process.exit(64);
}
rmSync(dir, { recursive: true, force: true });
const host = buildDgxHost({ root: dir, rails: Number(rails), vfsPerPf: Number(vfs), vfNetdevsInHost: Math.min(2, Number(vfs)), extras: true });
process.stdout.write(`${host.sys}\n`);
