// The one Prometheus text-format (0.0.4) writer of railwatch: every family of a scrape (snapshot gauges, fresh
// counters, the agent's own counters, process metrics) is a table entry {name, help, type, labels, collect} and is
// written here. Values are JS numbers or bigints: 64-bit counters stay bigint and keep every decimal digit
// (prom-client holds JS numbers, exact only below 2^53; see docs/metrics.md).
import { flat } from '../parse/values.ts';

export type MetricType = 'gauge' | 'counter';
export type SampleValue = number | bigint;

/** One sample: label values in the order of the family's `labels`, and the value. */
export interface Sample {
  readonly labels: readonly string[];
  readonly value: SampleValue;
  /**
   * `labels` already formatted for the family's label names (labelBlock()): a family whose label sets are the same
   * on every scrape (one per VF of a snapshot) formats each once, not once per sample.
   */
  readonly formatted?: string;
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

// Module-level patterns: a regular expression literal in a function body is a new object at every call, and the
// writer calls these for every label value of a scrape.
const LABEL_ESCAPE = /[\\"\n]/;

/** Label value escaping of the text format: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  if (!LABEL_ESCAPE.test(value)) return value;
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
  let out = '{' + names[0] + '="' + escapeLabelValue(values[0] ?? '') + '"';
  for (let i = 1; i < names.length; i++) out += ',' + names[i] + '="' + escapeLabelValue(values[i] ?? '') + '"';
  return out + '}';
}

/** A label set formatted once for reuse in samples (Sample.formatted). */
export function labelBlock(names: readonly string[], values: readonly string[]): { labels: readonly string[]; formatted: string } {
  if (values.length !== names.length) throw new Error(`${values.length} label values for ${names.length} labels`);
  return { labels: values, formatted: flat(formatLabels(names, values)) };
}

/** Where the writer puts the rows of a scrape: one text row (a HELP/TYPE header or a sample line) at a time. */
export interface ExpositionSink {
  add(row: string): void;
}

/** Rows collected as strings and joined once (writeFamilies): for small texts (the live part, pod attachments, tests). */
class ExpositionLines implements ExpositionSink {
  readonly rows: string[] = [];
  add(row: string): void {
    this.rows.push(row);
  }
}

/**
 * Rows written straight into UTF-8 bytes, for the large texts (the fresh counters on every scrape, the structural
 * part on every scan): 1024 VFs' counters are 8,192 rows, and a list of their strings joined at the end outlives
 * young-generation collections, so V8 promotes it (measured in lite mode: 2.2 MiB allocated per 8,192 rows that way,
 * 0.4 MiB of row strings that die young here). Start from the size of the previous text to write it without growing.
 */
export class ExpositionBytes implements ExpositionSink {
  #buf: Buffer;
  #len = 0;
  /** Rows not written yet: written PENDING_CHARS at a time, not one Buffer.write per row (see add()). */
  #pending = '';

  constructor(capacity = 4096) {
    this.#buf = Buffer.allocUnsafeSlow(Math.max(256, capacity));
  }

  add(row: string): void {
    // Buffer.write validates its offset through a wrapper that makes an argument list per call: one call per row
    // was 0.8 MiB of garbage per scrape on 8 x 128 VFs. The rows are joined into a string of up to ~16 K characters
    // and written at once.
    this.#pending += row;
    if (this.#pending.length >= PENDING_CHARS) this.#flush();
  }

  #flush(): void {
    const text = this.#pending;
    if (text === '') return;
    this.#pending = '';
    // a UTF-16 code unit is at most 3 UTF-8 bytes
    const need = this.#len + text.length * 3;
    if (need > this.#buf.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(next, 0, 0, this.#len);
      this.#buf = next;
    }
    this.#len += this.#buf.write(text, this.#len);
  }

  /** The bytes written so far (a view of the sink's buffer). */
  bytes(): Buffer {
    this.#flush();
    return this.#buf.subarray(0, this.#len);
  }
}

/** How many characters of rows ExpositionBytes gathers before one write into its buffer. */
const PENDING_CHARS = 16 * 1024;

type FamilyHead = Pick<MetricFamily<unknown>, 'name' | 'help' | 'type' | 'labels'>;

const headers = new WeakMap<FamilyHead, string>();

/** The HELP and TYPE rows of a family, made once per family object. */
function headerOf(family: FamilyHead): string {
  let h = headers.get(family);
  if (h === undefined) {
    h = `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    headers.set(family, h);
  }
  return h;
}

/**
 * Writes one family with its samples; a family without (finite) samples is left out entirely, HELP and TYPE
 * included. A sample whose label count differs from the family's is a programming error and throws.
 */
export function writeFamily(family: FamilyHead, samples: Iterable<Sample>): string {
  const sink = new ExpositionLines();
  appendFamily(sink, family, samples);
  return sink.rows.join('');
}

/** writeFamily into a sink: the header once the family turns out to have a sample, then one row per sample. */
function appendFamily(sink: ExpositionSink, family: FamilyHead, samples: Iterable<Sample>): void {
  let started = false;
  for (const sample of samples) {
    const value = formatValue(sample.value);
    if (value === undefined) continue;
    if (sample.labels.length !== family.labels.length) {
      throw new Error(`${family.name}: ${sample.labels.length} label values for ${family.labels.length} labels`);
    }
    if (!started) {
      sink.add(headerOf(family));
      started = true;
    }
    sink.add(family.name + (sample.formatted ?? formatLabels(family.labels, sample.labels)) + ' ' + value + '\n');
  }
}

/** Writes every family of a table, in table order, collected from one input, into a sink. */
export function writeFamiliesTo<In>(sink: ExpositionSink, families: readonly MetricFamily<In>[], input: In): void {
  for (const family of families) appendFamily(sink, family, family.collect(input));
}

/**
 * One table of families written as bytes again and again (on every scrape, or every scan), each time into a buffer
 * sized from the previous text, so a text about as large as the last one is written without growing.
 */
export class FamiliesBytesWriter<In> {
  readonly families: readonly MetricFamily<In>[];
  #last = 0;

  constructor(families: readonly MetricFamily<In>[]) {
    this.families = families;
  }

  /** The families' bytes for `input` (a view of a buffer made for this write, ~1/16 larger than the text). */
  write(input: In): Buffer {
    const sink = new ExpositionBytes(this.#last + (this.#last >> 4));
    writeFamiliesTo(sink, this.families, input);
    const bytes = sink.bytes();
    this.#last = bytes.length;
    return bytes;
  }
}

/** Writes every family of a table, in table order, collected from one input. */
export function writeFamilies<In>(families: readonly MetricFamily<In>[], input: In): string {
  const sink = new ExpositionLines();
  writeFamiliesTo(sink, families, input);
  return sink.rows.join('');
}
