// Soak, short form: bench/soak.ts with 2,000 scan+scrape cycles in a child process with --expose-gc: the heap
// after GC grows less than 5 MiB and no file descriptor leaks. (`npm run bench:soak` runs 20,000.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SoakResult } from '../../bench/soak.ts';
import { NODE, REPO } from './helpers.ts';

test('2,000 scan+scrape cycles: heap after GC flat, no fd growth', async (t) => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(NODE, ['--expose-gc', join(REPO, 'bench/soak.ts'), '--cycles', '2000', '--json'], { cwd: REPO, timeout: 120_000 }, (err, stdout, stderr) =>
      err && !stdout ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout),
    ),
  );
  const r = JSON.parse(out) as SoakResult;
  t.diagnostic(`${r.cycles} cycles in ${r.seconds} s; heap ${r.heapStartMiB} -> ${r.heapEndMiB} MiB; fds ${r.fdStart} -> ${r.fdEnd}`);
  assert.ok(r.heapGrowthMiB < 5, `heap grew ${r.heapGrowthMiB} MiB`);
  assert.equal(r.fdEnd, r.fdStart);
});
