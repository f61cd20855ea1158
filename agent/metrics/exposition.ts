// A minimal Prometheus text-format (0.0.4) writer for the families prom-client cannot hold exactly: 64-bit
// counters kept as bigint, written with every decimal digit.

export type LabelSet = Readonly<Record<string, string>>;

export interface ExactSample {
  labels: LabelSet;
  value: bigint;
}

export interface ExactFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: readonly ExactSample[];
}

/** Label value escaping of the text format: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escaping of the text format: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatLabels(labels: LabelSet): string {
  let out = '';
  for (const key in labels) {
    out += `${out === '' ? '' : ','}${key}="${escapeLabelValue(labels[key] ?? '')}"`;
  }
  return out === '' ? '' : `{${out}}`;
}

/** Writes the families that have samples; a family without samples is left out entirely. */
export function writeExactFamilies(families: readonly ExactFamily[]): string {
  let out = '';
  for (const family of families) {
    if (family.samples.length === 0) continue;
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) out += `${family.name}${formatLabels(sample.labels)} ${sample.value.toString()}\n`;
  }
  return out;
}
