// The one Prometheus text-format (0.0.4) writer of railwatch: every family of a scrape (snapshot gauges, fresh
// counters, the agent's own counters, process metrics) is a table entry {name, help, type, labels, collect} and is
// written here. Values are JS numbers or bigints: 64-bit counters stay bigint and keep every decimal digit
// (prom-client holds JS numbers, exact only below 2^53; see docs/metrics.md).

export type MetricType = 'gauge' | 'counter';
export type SampleValue = number | bigint;

/** One sample: label values in the order of the family's `labels`, and the value. */
export interface Sample {
  readonly labels: readonly string[];
  readonly value: SampleValue;
}

/** A metric family: what it is, and how to collect its samples from an input. */
export interface MetricFamily<In> {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  collect(input: In): Iterable<Sample>;
}

/** A sample without labels. */
export function single(value: SampleValue | undefined): Sample[] {
  return value === undefined ? [] : [{ labels: [], value }];
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

/** A sample value as text; undefined for NaN and the infinities, which railwatch never exports. */
export function formatValue(value: SampleValue): string | undefined {
  if (typeof value === 'bigint') return value.toString();
  return Number.isFinite(value) ? String(value) : undefined;
}

/** `{a="x",b="y"}` for label names and values of the same length; '' without labels. */
export function formatLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let out = '{';
  for (let i = 0; i < names.length; i++) out += `${i === 0 ? '' : ','}${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  return out + '}';
}

/**
 * Writes one family with its samples; a family without (finite) samples is left out entirely, HELP and TYPE
 * included. A sample whose label count differs from the family's is a programming error and throws.
 */
export function writeFamily(family: Pick<MetricFamily<unknown>, 'name' | 'help' | 'type' | 'labels'>, samples: Iterable<Sample>): string {
  const lines: string[] = [];
  appendFamily(lines, family, samples);
  return lines.join('');
}

/**
 * writeFamily into `lines`. A scrape's text is joined once from such lines: built with `+=` it would be a tree of
 * V8 cons strings (measured: 3.6 MiB held for the 635 KB of 1024 VFs' counters) until something flattens it.
 */
function appendFamily(lines: string[], family: Pick<MetricFamily<unknown>, 'name' | 'help' | 'type' | 'labels'>, samples: Iterable<Sample>): void {
  // the HELP/TYPE slot, filled once the family turns out to have a sample
  const header = lines.push('') - 1;
  for (const sample of samples) {
    const value = formatValue(sample.value);
    if (value === undefined) continue;
    if (sample.labels.length !== family.labels.length) {
      throw new Error(`${family.name}: ${sample.labels.length} label values for ${family.labels.length} labels`);
    }
    lines.push(family.name, formatLabels(family.labels, sample.labels), ' ', value, '\n');
  }
  if (lines.length === header + 1) lines.length = header;
  else lines[header] = `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
}

/** Writes every family of a table, in table order, collected from one input. */
export function writeFamilies<In>(families: readonly MetricFamily<In>[], input: In): string {
  const lines: string[] = [];
  for (const family of families) appendFamily(lines, family, family.collect(input));
  return lines.join('');
}
