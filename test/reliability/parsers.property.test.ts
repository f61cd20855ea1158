// Bad input, property-based: every pure parser gets arbitrary text (empty, huge, binary, negative, overflowing,
// unicode, `N/A`, whitespace) and returns a value or a typed reason. It never throws, never gives NaN or
// Infinity, and exact values keep every digit. The metrics renderer gets snapshots with random counter values
// (2^64-1 included) and its exposition parses line by line with no NaN or Inf.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { defaultConfig } from '../../agent/config/config.ts';
import { renderMetricsText } from '../../agent/metrics/render.ts';
import * as values from '../../agent/parse/values.ts';
import type { Parsed } from '../../agent/parse/values.ts';
import { parseDevicePath } from '../../agent/scan/context.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import { createAgentState } from '../../agent/state.ts';
import { buildDgxHost, MLX5_COUNTERS, MLX5_HW_COUNTERS } from '../helpers/fixture-host.ts';
import { expositionProblems } from './helpers.ts';

const UINT64_MAX = (1n << 64n) - 1n;

/** Hostile attribute text: arbitrary unicode and binary, numbers of every size, kernel placeholders, whitespace. */
const nasty: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.stringMatching(/^-?\d{1,400}(\.\d{0,400})?$/),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map(String),
  fc.tuple(fc.constantFrom('', ' ', '\n', '\t', '\r\n', ' \n\n'), fc.stringMatching(/^\d{1,25}$/), fc.constantFrom('', ' ', '\n', '\t\n', '\0')).map(([a, b, c]) => a + b + c),
  fc.constantFrom(
    '',
    ' ',
    '\n',
    'N/A',
    'N/A (no PMA)',
    '-1',
    '-0',
    '1e309',
    'Infinity',
    '-Infinity',
    'NaN',
    '0x',
    '0xffffffffffffffffff',
    '18446744073709551615',
    '18446744073709551616',
    '99999999999999999999',
    '9007199254740993',
    '4: ACTIVE',
    '400 Gb/sec (4X NDR)',
    '32.0 GT/s PCIe',
    '1'.repeat(400) + ' GT/s',
    '9'.repeat(400) + ' Gb/sec',
    '\u0000\u0001\uffff',
    '\ud800',
    '٣٤',
    '１２３',
  ),
  fc.constant('7'.repeat(70_000)),
);

type NumberParser = (text: string) => Parsed<number | undefined>;

const NUMBER_PARSERS: Record<string, NumberParser> = {
  parseUint: values.parseUint,
  parseInt: values.parseInt,
  parseNumaNode: values.parseNumaNode,
  parseNetSpeed: values.parseNetSpeed,
  parseLinkSpeed: values.parseLinkSpeed,
  parseRdmaRate: values.parseRdmaRate,
  parseHexNumber: values.parseHexNumber,
};

const STRING_PARSERS: Record<string, (text: string) => Parsed<string>> = {
  parseHexId: values.parseHexId,
  parseBareHex: values.parseBareHex,
  parseGuid: values.parseGuid,
  parsePciAddress: values.parsePciAddress,
};

/** A Parsed result is well formed: ok with a value, or not ok with a non-empty reason string. */
function wellFormed(r: Parsed<unknown>): boolean {
  if (r.ok) return true;
  return typeof r.reason === 'string' && r.reason.length > 0 && r.reason.length < 200;
}

function finiteOrUndefined(v: number | undefined): boolean {
  return v === undefined || (Number.isFinite(v) && !Object.is(v, -0));
}

const RUNS = { numRuns: 400 };

describe('parsers never throw, never give NaN or Infinity', () => {
  for (const [name, parse] of Object.entries(NUMBER_PARSERS)) {
    test(name, () => {
      fc.assert(
        fc.property(nasty, (text) => {
          const r = parse(text);
          return wellFormed(r) && (!r.ok || finiteOrUndefined(r.value));
        }),
        RUNS,
      );
    });
  }

  for (const [name, parse] of Object.entries(STRING_PARSERS)) {
    test(name, () => {
      fc.assert(
        fc.property(nasty, (text) => {
          const r = parse(text);
          return wellFormed(r) && (!r.ok || (r.value.length > 0 && r.value.length <= 32));
        }),
        RUNS,
      );
    });
  }

  test('parseCounter: a bigint in [0, 2^64-1] or a reason', () => {
    fc.assert(
      fc.property(nasty, (text) => {
        const r = values.parseCounter(text);
        return wellFormed(r) && (!r.ok || (typeof r.value === 'bigint' && r.value >= 0n && r.value <= UINT64_MAX));
      }),
      RUNS,
    );
  });

  test('parseBool01 and parseNumberedName', () => {
    fc.assert(
      fc.property(nasty, (text) => {
        const b = values.parseBool01(text);
        const n = values.parseNumberedName(text);
        return wellFormed(b) && wellFormed(n) && (!n.ok || (Number.isInteger(n.value.code) && n.value.code >= 0 && n.value.name !== ''));
      }),
      RUNS,
    );
  });

  test('text scanners of /proc files: kernel cmdline, cpuinfo, meminfo, hugepage dir names', () => {
    fc.assert(
      fc.property(nasty, nasty, (text, key) => {
        const cmdline = values.parseKernelCmdline(`${key}=${text} ${text}`);
        const cpu = values.parseCpuVendor(`vendor_id\t: ${text}\n`);
        const mem = values.parseMeminfoHugepages(`HugePages_Total: ${text}\nHugePages_Free: ${text}\nHugepagesize: ${text} kB\n`);
        const dir = values.parseHugepageDirName(`hugepages-${text}kB`);
        return (
          typeof cmdline === 'object' &&
          (cpu === undefined || typeof cpu === 'string') &&
          [mem.total, mem.free, mem.sizeKb, dir].every((v) => v === undefined || Number.isSafeInteger(v))
        );
      }),
      RUNS,
    );
  });

  test('PCI address helpers and name predicates', () => {
    fc.assert(
      fc.property(nasty, nasty, (a, b) => {
        const c = values.comparePciAddress(a, b);
        return (
          Number.isFinite(c) &&
          Math.sign(c) === -Math.sign(values.comparePciAddress(b, a)) &&
          typeof values.isPciAddress(a) === 'boolean' &&
          typeof values.isRepresentorPortName(a) === 'boolean' &&
          typeof values.nicVendorName(a) === 'string' &&
          typeof values.gpuVendorName(a) === 'string' &&
          typeof values.isNetworkClass(a) === 'boolean' &&
          typeof values.isGpuClass(a, b) === 'boolean'
        );
      }),
      RUNS,
    );
  });

  test('parseDevicePath: any path gives a chain of valid PCI addresses', () => {
    const segment = fc.oneof(
      nasty,
      fc.constantFrom('devices', '..', '.', '', 'pci0000:3a', 'pci0000:zz', '0000:3b:00.0', '0000:3b:00.8', 'net', 'ens1'),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 30 }), (segs) => {
        const r = parseDevicePath(segs.join('/'));
        return (
          Array.isArray(r.chain) &&
          r.chain.every((a) => values.isPciAddress(a)) &&
          (r.hostBridge === undefined || /^pci[0-9a-f]{4,8}:[0-9a-f]{2}$/.test(r.hostBridge))
        );
      }),
      RUNS,
    );
    assert.deepEqual(parseDevicePath('../../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/net/ens1'), {
      hostBridge: 'pci0000:3a',
      chain: ['0000:3a:00.0', '0000:3b:00.0'],
    });
  });
});

describe('exact values keep every digit', () => {
  test('parseCounter round-trips every value up to 2^64-1, with kernel whitespace', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: UINT64_MAX }), fc.constantFrom('', '\n', ' \n', '\t'), (v, ws) => {
        const r = values.parseCounter(v.toString() + ws);
        return r.ok && r.value === v && r.value.toString() === v.toString();
      }),
      { numRuns: 1000 },
    );
    assert.deepEqual(values.parseCounter('18446744073709551615'), { ok: true, value: UINT64_MAX });
    assert.equal(values.parseCounter('18446744073709551616').ok, false);
  });

  test('parseCounter refuses values above 2^64-1 and negatives instead of wrapping', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: UINT64_MAX + 1n, max: 1n << 80n }), (v) => !values.parseCounter(v.toString()).ok && !values.parseCounter('-' + v.toString()).ok),
    );
  });

  test('parseUint and parseInt: exact below 10^15, refused above (never rounded)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (v) => {
        const u = values.parseUint(v.toString());
        const i = values.parseInt(v.toString());
        const exact = v >= -(10n ** 15n) + 1n && v <= 10n ** 15n - 1n;
        const uOk = u.ok ? v >= 0n && BigInt(u.value) === v : !(v >= 0n && exact);
        const iOk = i.ok ? BigInt(i.value) === v : !exact;
        return uOk && iOk;
      }),
      { numRuns: 1000 },
    );
  });

  test('parseHexNumber and parseHexId round-trip 32-bit values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const h = values.parseHexNumber('0x' + n.toString(16));
        const id = values.parseHexId('0X' + n.toString(16).toUpperCase() + '\n');
        return h.ok && h.value === n && id.ok && id.value === '0x' + n.toString(16);
      }),
    );
  });
});

describe('the metrics renderer on snapshots with random counter values', () => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
  after(() => host.cleanup());
  const counterNames = Object.keys(MLX5_COUNTERS);
  const hwNames = Object.keys(MLX5_HW_COUNTERS);
  const counterValue = fc.oneof(
    fc.bigInt({ min: 0n, max: UINT64_MAX }).map(String),
    fc.constantFrom('18446744073709551615', '0', '9007199254740993', 'N/A (no PMA)', '', '-5', '18446744073709551616', 'garbage\n\n', '1e3'),
  );

  test('no NaN or Inf, every line parses, every valid 64-bit counter exported with all its digits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(counterValue, { minLength: counterNames.length, maxLength: counterNames.length }),
        fc.array(counterValue, { minLength: hwNames.length, maxLength: hwNames.length }),
        fc.constantFrom('400 Gb/sec (4X NDR)', '9'.repeat(400) + ' Gb/sec', 'N/A', ''),
        fc.constantFrom('400000', '-1', '99999999999999999999', 'N/A'),
        fc.constantFrom('32.0 GT/s PCIe', 'Unknown', '1'.repeat(400) + ' GT/s'),
        async (counters, hw, rate, speed, linkSpeed) => {
          for (const [i, name] of counterNames.entries()) host.write(`class/infiniband/mlx5_0/ports/1/counters/${name}`, counters[i]!);
          for (const [i, name] of hwNames.entries()) host.write(`class/infiniband/mlx5_1/ports/1/hw_counters/${name}`, hw[i]!);
          host.write('class/infiniband/mlx5_0/ports/1/rate', rate);
          host.write('class/net/ens1f0np0/speed', speed);
          host.write(`${host.devPath('0000:16:00.0')}/current_link_speed`, linkSpeed);
          const config = defaultConfig();
          const state = createAgentState(config, '0.1.0');
          state.snapshot = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config });
          const text = await renderMetricsText(state, { defaultMetrics: false });
          assert.deepEqual(expositionProblems(text), []);
          for (const [i, name] of counterNames.entries()) {
            const v = values.parseCounter(counters[i]!);
            if (!v.ok) continue;
            const family = name === 'port_xmit_packets' ? 'railwatch_rdma_port_transmit_packets_total{' : name === 'port_rcv_packets' ? 'railwatch_rdma_port_receive_packets_total{' : undefined;
            if (family === undefined && (name === 'port_xmit_data' || name === 'port_rcv_data')) continue;
            const line = text
              .split('\n')
              .find((l) => l.includes('device="mlx5_0"') && (family === undefined ? l.startsWith('railwatch_rdma_port_stat_total{') && l.includes(`stat="${name}"`) : l.startsWith(family)));
            assert.ok(line !== undefined, `counter ${name} of mlx5_0 exported`);
            assert.ok(line.endsWith(' ' + v.value.toString()), `${name}: want ${v.value}, line ${line}`);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
