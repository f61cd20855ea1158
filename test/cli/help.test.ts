// Help: `railwatch --help` lists every command, `railwatch COMMAND --help` its flags and examples, all from the one
// table the flag parsers are built from.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseArgs, UsageError } from '../../agent/cli/args.ts';
import { COMMANDS, commandHelp, flagSpec, mainHelp } from '../../agent/cli/help.ts';
import { railwatch, REPO } from '../helpers/cli.ts';

test('railwatch --help, -h and help list every command; exit 0, nothing on stderr', async () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await railwatch(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} +\\S`, 'm'), `${args.join(' ')} lists ${c.name}`);
  }
});

test('COMMAND --help (and help COMMAND): usage, every flag, examples; exit 0', async () => {
  for (const c of COMMANDS.filter((x) => x.name !== 'help')) {
    for (const args of [[c.name, '--help'], ['help', c.name], [c.name, '-h']]) {
      const r = await railwatch(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^Usage: railwatch ${c.name}`, 'm'));
      const shown = (f: { name: string; value?: string }) => `  --${f.name}${f.value ? ` ${f.value}` : ''}`;
      for (const f of c.flags) assert.ok(r.stdout.split('\n').some((l) => l === shown(f) || l.startsWith(`${shown(f)} `)), `${c.name} --help shows --${f.name}`);
      assert.match(r.stdout, /^Examples:\n  railwatch /m);
    }
  }
  // --help wins over the other flags, even ones that would fail
  const r = await railwatch(['inventory', '--sysfs', '/nonexistent', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: railwatch inventory/m);
  const bad = await railwatch(['help', 'nosuch']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /no command "nosuch"/);
});

test('every documented flag is accepted by its command, and nothing else', () => {
  for (const c of COMMANDS) {
    const spec = flagSpec(c.name);
    for (const f of c.flags) {
      const parsed = parseArgs(f.value !== undefined ? [`--${f.name}`, 'x'] : [`--${f.name}`], spec);
      assert.ok(f.value !== undefined ? parsed.values[f.name] === 'x' : parsed.bools.has(f.name), `${c.name} --${f.name}`);
    }
    assert.throws(() => parseArgs(['--not-a-flag'], spec), UsageError);
  }
});

test('help text: fits the width, no trailing spaces, every example runs a real command', () => {
  for (const width of [60, 80, 120]) {
    const texts = [mainHelp('0.0.0', width), ...COMMANDS.map((c) => commandHelp(c.name, '0.0.0', width))];
    for (const text of texts) {
      for (const line of text.split('\n')) {
        // examples are commands to copy: never wrapped
        const example = /^ {2}(\S+=\S+ )?railwatch /.test(line);
        assert.ok(line.length <= width || example || !line.trim().includes(' '), `at most ${width} wide: ${JSON.stringify(line)}`);
        assert.equal(line, line.trimEnd(), `no trailing space: ${JSON.stringify(line)}`);
      }
    }
  }
  for (const c of COMMANDS) {
    for (const e of c.examples) {
      const words = e.replace(/^\S+=\S+ /, '').split(' ');
      assert.equal(words[0], 'railwatch');
      const sub = words[1] ?? '';
      assert.ok(COMMANDS.some((x) => x.name === sub), `example runs a known command: ${e}`);
      const flags = words.slice(2).filter((w) => w !== '--help' && w !== '-h');
      if (sub !== 'help') assert.doesNotThrow(() => parseArgs(flags, flagSpec(sub)), `example parses: ${e}`);
    }
  }
});

test('README.md names every command', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  for (const c of COMMANDS.filter((x) => x.name !== 'help' && x.name !== 'version')) assert.match(readme, new RegExp(`\`railwatch ${c.name}`), c.name);
  assert.match(readme, /railwatch COMMAND --help|railwatch <command> --help|--help/);
});
