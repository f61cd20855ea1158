// Output for people: VF lists collapsed to ranges (--vfs lists each), long lines wrapped to the terminal width
// ($COLUMNS, else 80 when not a terminal), no trailing spaces; through the real CLI on an 8 x 128-VF host.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ranges, terminalWidth, wrapAll, wrapLine, wrapText } from '../../agent/cli/text.ts';
import { railwatch } from '../helpers/cli.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';

/** Every line at most `width` wide, unless it is one unbreakable word after its indent; none ends in a space. */
function assertFits(text: string, width: number, except?: RegExp): void {
  for (const line of text.split('\n')) {
    assert.equal(line, line.trimEnd(), `trailing space: ${JSON.stringify(line)}`);
    if (line.length > width && !(except?.test(line) ?? false)) assert.ok(!line.trim().includes(' '), `wider than ${width}: ${JSON.stringify(line)}`);
  }
}

describe('text helpers', () => {
  test('ranges', () => {
    assert.equal(ranges([]), '');
    assert.equal(ranges([5]), '5');
    assert.equal(ranges([0, 1, 2, 3, 7, 9, 10]), '0-3,7,9-10');
    assert.equal(ranges([10, 9, 0, 2, 1, 1]), '0-2,9-10');
  });

  test('terminalWidth: $COLUMNS, else the terminal, else 80', () => {
    assert.equal(terminalWidth({ isTTY: false }, {}), 80);
    assert.equal(terminalWidth({ isTTY: true, columns: 132 }, {}), 132);
    assert.equal(terminalWidth({ isTTY: true, columns: 132 }, { COLUMNS: '100' }), 100);
    assert.equal(terminalWidth({ isTTY: false }, { COLUMNS: '60' }), 60);
    assert.equal(terminalWidth({ isTTY: false }, { COLUMNS: 'wide' }), 80);
    assert.equal(terminalWidth({ isTTY: false }, { COLUMNS: '3' }), 80, 'absurd widths are ignored');
  });

  test('wrapText and wrapLine: words kept whole, hanging indents, no trailing spaces', () => {
    assert.deepEqual(wrapText('a bb ccc dddd', 6, '  '), ['  a bb', '  ccc', '  dddd']);
    assert.deepEqual(wrapText('averyveryverylongword x', 8, ''), ['averyveryverylongword', 'x']);
    assert.deepEqual(wrapLine('       fix: Enable VT-d in the BIOS and add intel_iommu=on', 30), [
      '       fix: Enable VT-d in the',
      '            BIOS and add',
      '            intel_iommu=on',
    ]);
    assert.deepEqual(wrapLine('  short   ', 30), ['  short']);
    // a line without a label continues indented by 2
    assert.equal(wrapAll('one two three\n\nfour five six\n', 9), 'one two\n  three\n\nfour five\n  six\n');
  });
});

describe('inventory and doctor through the CLI', () => {
  const host = buildDgxHost({ rails: 8, vfsPerPf: 128, vfNetdevsInHost: 2, extras: true });
  after(() => host.cleanup());
  const roots = ['--sysfs', host.sys, '--procfs', host.proc];
  host.writeProc('cmdline', `BOOT_IMAGE=/vmlinuz-6.8.0 root=/dev/nvme0n1p2 ro intel_iommu=on iommu=pt ${Array.from({ length: 12 }, (_, i) => `opt${i}=value${i}`).join(' ')}`);

  test('8 x 128 VFs: a summary with ranges by default, under 150 lines, 80 columns when not a terminal', async () => {
    const r = await railwatch(['inventory', '--no-identity', ...roots]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(lines.length < 150, `${lines.length} lines`);
    assert.equal(lines.filter((l) => /^ {8}vf 0-127: PCI 0000:[0-9a-f:.]+ \.\. 0000:[0-9a-f:.]+, driver=mlx5_core$/.test(l)).length, 8, r.stdout);
    assert.equal(lines.filter((l) => /no netdev in the host namespace .*: vf 2-127$/.test(l)).length, 8);
    assertFits(r.stdout, 80);
    // each GPU with the driver's model name beside its PCI device id
    assert.equal(lines.filter((l) => /^  0000:[0-9a-f:.]+ nvidia 0x2330 \(NVIDIA H100 80GB HBM3\) driver=nvidia numa=\d$/.test(l)).length, 8, r.stdout);
    // the kernel command line is wrapped under itself
    const at = lines.findIndex((l) => l.startsWith('  cmdline: '));
    assert.ok(at > 0 && lines[at + 1]?.startsWith('           ') === true, `cmdline continues indented: ${lines.slice(at, at + 3).join(' | ')}`);
    assert.match(lines.slice(at, at + 6).join(' '), /opt11=value11/);
  });

  test('--vfs lists every VF; $COLUMNS sets the width', async () => {
    const all = await railwatch(['inventory', '--no-identity', '--vfs', ...roots]);
    assert.equal(all.code, 0, all.stderr);
    const vfLines = all.stdout.split('\n').filter((l) => /^ {8}vf\d+ 0000:/.test(l));
    assert.equal(vfLines.length, 8 * 128);
    assertFits(all.stdout, 80);
    const narrow = await railwatch(['inventory', '--no-identity', ...roots], { env: { COLUMNS: '50' } });
    // the GPU<->NIC distance table is not wrapped (it fits 80 columns with 8 NICs)
    assertFits(narrow.stdout, 50, /^ {2}(GPU|[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.\d) +(mlx5_0|PIX|PXB|PHB|NODE|SYS) /);
    assert.ok(narrow.stdout.split('\n').length > all.stdout.split('\n').length - 8 * 128, 'narrower means more lines');
  });

  test('doctor: findings, details and fix: texts wrapped to the width, no trailing spaces', async () => {
    // no IOMMU units and no groups: steps 1 and 2 report with long fix: texts (a warning or a failure, as the
    // devices' own iommu_group links tell)
    for (const d of ['class/iommu', 'kernel/iommu_groups']) {
      host.remove(d);
      mkdirSync(join(host.sys, d));
    }
    for (const width of ['60', '80']) {
      const r = await railwatch(['doctor', ...roots], { env: { COLUMNS: width } });
      assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
      assertFits(r.stdout, Number(width));
      const fix = r.stdout.split('\n').findIndex((l) => /^ {7}fix: /.test(l));
      assert.ok(fix > 0, r.stdout);
    }
    const wide = await railwatch(['doctor', ...roots], { env: { COLUMNS: '60' } });
    const lines = wide.stdout.split('\n');
    const fix = lines.findIndex((l) => /^ {7}fix: /.test(l) && l.length > 50);
    assert.ok(fix > 0 && /^ {12}\S/.test(lines[fix + 1] ?? ''), `a long fix: continues under its text: ${lines.slice(fix, fix + 2).join(' | ')}`);
  });
});
