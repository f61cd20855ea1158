// Text output for people: the terminal width, word wrapping with hanging indents, index ranges.

/** $COLUMNS when set to a number, else the terminal's width when `stream` is one, else 80. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env['COLUMNS']);
  if (env['COLUMNS'] !== undefined && Number.isInteger(fromEnv) && fromEnv >= 20) return Math.min(fromEnv, 1000);
  if (stream.isTTY === true && typeof stream.columns === 'number' && stream.columns >= 20) return stream.columns;
  return 80;
}

/** The visible length of `s` (ANSI colour sequences do not count). */
export function visibleLength(s: string): number {
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/**
 * Words of `text` on lines of at most `width` visible characters, each starting with `indent`. A word longer than a
 * line stays whole on a line of its own (a path or a command is not broken). Never a trailing space.
 */
export function wrapText(text: string, width: number, indent: string): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return [indent.trimEnd()];
  const lines: string[] = [];
  let line = indent;
  let empty = true;
  for (const w of words) {
    if (!empty && visibleLength(line) + 1 + visibleLength(w) > width) {
      lines.push(line);
      line = indent;
      empty = true;
    }
    line += (empty ? '' : ' ') + w;
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => l.trimEnd());
}

/**
 * One output line wrapped to `width`: continuation lines are indented like the line itself plus `hang` (by default
 * as far as the text after a leading `label: ` or `- `, so `fix: ...` and `- detail` read as blocks; else by 2).
 */
export function wrapLine(line: string, width: number, hang?: number): string[] {
  if (visibleLength(line) <= width) return [line.trimEnd()];
  const lead = /^\s*/.exec(line)?.[0] ?? '';
  const body = line.slice(lead.length);
  const label = /^(?:- |[A-Za-z][\w -]{0,24}: )/.exec(body)?.[0] ?? '';
  const cont = ' '.repeat(lead.length + (hang ?? (label !== '' ? label.length : 2)));
  const first = wrapText(body.slice(label.length), width - lead.length - label.length, '');
  const rest = wrapText(first.slice(1).join(' '), width, cont);
  return [`${lead}${label}${first[0] ?? ''}`.trimEnd(), ...(first.length > 1 ? rest : [])];
}

/** Every line of `text` wrapped to `width`, with no trailing spaces. */
export function wrapAll(text: string, width: number): string {
  const trailingNewline = text.endsWith('\n');
  const lines = (trailingNewline ? text.slice(0, -1) : text).split('\n').flatMap((l) => wrapLine(l, width));
  return lines.join('\n') + (trailingNewline ? '\n' : '');
}

/** Sorted integers as ranges: [0,1,2,3,7,9,10] -> `0-3,7,9-10`. */
export function ranges(values: readonly number[]): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
