import { test } from 'node:test';
import assert from 'node:assert/strict';
import { json } from 'node:stream/consumers';
import { getHeapSnapshot } from 'node:v8';
import {
  comparePciAddress,
  flat,
  isRepresentorPortName,
  parseBareHex,
  parseBool01,
  parseCounter,
  parseCpuVendor,
  parseGuid,
  parseHexId,
  parseHexNumber,
  parseKernelCmdline,
  parseLinkSpeed,
  parseMeminfoHugepages,
  parseNetSpeed,
  parseNumaNode,
  parseNumberedName,
  parsePciAddress,
  parseRdmaRate,
  parseUint,
  type Parsed,
} from '../../agent/parse/values.ts';
import { naturalCompare, parseDevicePath } from '../../agent/scan/context.ts';

function table<T>(name: string, fn: (s: string) => Parsed<T>, rows: [string, T | 'ERR'][]): void {
  test(name, () => {
    for (const [input, want] of rows) {
      const got = fn(input);
      if (want === 'ERR') assert.equal(got.ok, false, `${JSON.stringify(input)} should not parse, got ${JSON.stringify(got, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
      else assert.deepEqual(got, { ok: true, value: want }, `input ${JSON.stringify(input)}`);
    }
  });
}

table('parseHexId', parseHexId, [
  ['0x15b3', '0x15b3'],
  ['0x020000\n', '0x020000'],
  ['0X10DE', '0x10de'],
  ['15b3', 'ERR'],
  ['', 'ERR'],
  ['0x', 'ERR'],
  ['0xzz', 'ERR'],
]);

table('parseBareHex (sriov_vf_device has no 0x)', parseBareHex, [
  ['101e', '0x101e'],
  ['1889\n', '0x1889'],
  ['0x101e', '0x101e'],
  ['xyz', 'ERR'],
  ['', 'ERR'],
]);

table('parseUint', parseUint, [
  ['0', 0],
  ['16\n', 16],
  ['4294967033', 4294967033],
  ['-1', 'ERR'],
  ['1.5', 'ERR'],
  ['', 'ERR'],
  ['99999999999999999999', 'ERR'],
  ['abc', 'ERR'],
]);

table('parseNumaNode', parseNumaNode, [
  ['0', 0],
  ['1\n', 1],
  ['-1', undefined],
  ['-2', 'ERR'],
  ['x', 'ERR'],
]);

table('parseBool01 (carrier)', parseBool01, [
  ['1', true],
  ['0\n', false],
  ['2', 'ERR'],
  ['', 'ERR'],
]);

table('parseNetSpeed', parseNetSpeed, [
  ['400000', 400000],
  ['-1', undefined],
  ['', 'ERR'],
]);

table('parseLinkSpeed', parseLinkSpeed, [
  ['32.0 GT/s PCIe', 32],
  ['2.5 GT/s PCIe', 2.5],
  ['8 GT/s', 8],
  ['16 GT/s', 16],
  ['64.0 GT/s PCIe', 64],
  ['Unknown', undefined],
  ['fast', 'ERR'],
]);

table('parseRdmaRate', parseRdmaRate, [
  ['400 Gb/sec (4X NDR)', 400e9],
  ['2.5 Gb/sec (1X SDR)', 2.5e9],
  ['100 Gb/sec (2X HDR)', 100e9],
  ['25 Gb/sec (1X EDR)', 25e9],
  ['10 Gb/sec', 10e9],
  ['', 'ERR'],
  ['fast', 'ERR'],
]);

table('parseNumberedName', parseNumberedName, [
  ['4: ACTIVE', { code: 4, name: 'ACTIVE' }],
  ['5: LinkUp\n', { code: 5, name: 'LinkUp' }],
  ['1: CA', { code: 1, name: 'CA' }],
  ['4: PortConfigurationTraining', { code: 4, name: 'PortConfigurationTraining' }],
  ['7: Phy Test', { code: 7, name: 'Phy Test' }],
  ['ACTIVE', 'ERR'],
  ['', 'ERR'],
]);

table('parseCounter keeps 64-bit values and refuses N/A', parseCounter, [
  ['0', 0n],
  ['4294967295', 4294967295n],
  ['18446744073709551615', 18446744073709551615n],
  ['9007199254740993', 9007199254740993n],
  ['18446744073709551616', 'ERR'],
  ['N/A (no PMA)', 'ERR'],
  ['-5', 'ERR'],
  ['', 'ERR'],
  ['12 34', 'ERR'],
]);

table('parseGuid', parseGuid, [
  ['b8ce:f603:00a1:b2c4', 'b8ce:f603:00a1:b2c4'],
  ['B8CE:F603:00A1:B2C4\n', 'b8ce:f603:00a1:b2c4'],
  ['b8cef60300a1b2c4', 'ERR'],
]);

table('parseHexNumber (lid)', parseHexNumber, [
  ['0x12', 18],
  ['0x0', 0],
  ['12', 'ERR'],
]);

table('parsePciAddress', parsePciAddress, [
  ['0000:3b:00.0', '0000:3b:00.0'],
  ['10000:01:00.1', '10000:01:00.1'],
  ['0000:3B:1f.7', '0000:3b:1f.7'],
  ['3b:00.0', 'ERR'],
  ['0000:3b:00.8', 'ERR'],
  ['0000:3b:20.0', 'ERR'],
  ['bonding_masters', 'ERR'],
]);

test('parseKernelCmdline', () => {
  assert.deepEqual(parseKernelCmdline('BOOT_IMAGE=/vmlinuz ro intel_iommu=on iommu=pt quiet intel_iommu=off a="b c" -- init=x'), {
    BOOT_IMAGE: '/vmlinuz',
    ro: true,
    intel_iommu: 'off',
    iommu: 'pt',
    quiet: true,
    a: 'b c',
  });
  assert.deepEqual(parseKernelCmdline(''), {});
});

test('parseCpuVendor and meminfo', () => {
  assert.equal(parseCpuVendor('processor\t: 0\nvendor_id\t: AuthenticAMD\n'), 'AuthenticAMD');
  assert.equal(parseCpuVendor('garbage'), undefined);
  assert.deepEqual(parseMeminfoHugepages('HugePages_Total:      16\nHugePages_Free:        8\nHugepagesize:    1048576 kB\n'), {
    total: 16,
    free: 8,
    sizeKb: 1048576,
  });
  assert.deepEqual(parseMeminfoHugepages(''), {});
});

test('representor port names', () => {
  for (const n of ['pf0vf3', 'c1pf0vf10', 'pf0sf88', 'pf1']) assert.equal(isRepresentorPortName(n), true, n);
  for (const n of ['p0', 'p1', '', 'eth0']) assert.equal(isRepresentorPortName(n), false, n);
});

test('natural sort and PCI order', () => {
  assert.deepEqual(['virtfn10', 'virtfn2', 'virtfn0', 'virtfn1'].sort(naturalCompare), ['virtfn0', 'virtfn1', 'virtfn2', 'virtfn10']);
  assert.deepEqual(['mlx5_10', 'mlx5_9', 'mlx5_1'].sort(naturalCompare), ['mlx5_1', 'mlx5_9', 'mlx5_10']);
  assert.deepEqual(['0000:c1:00.0', '0000:1b:00.1', '0000:1b:00.0', '0001:00:00.0'].sort(comparePciAddress), [
    '0000:1b:00.0',
    '0000:1b:00.1',
    '0000:c1:00.0',
    '0001:00:00.0',
  ]);
});

test('parseDevicePath', () => {
  assert.deepEqual(parseDevicePath('../../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0'), {
    hostBridge: 'pci0000:3a',
    chain: ['0000:3a:00.0', '0000:3b:00.0'],
  });
  assert.deepEqual(parseDevicePath('../../devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/mlx5_core.sf.2/net/en3f0pf0sf88'), {
    hostBridge: 'pci0000:3a',
    chain: ['0000:3a:00.0', '0000:3b:00.0'],
  });
  assert.deepEqual(parseDevicePath('../../devices/virtual/net/lo'), { chain: [] });
});

test('flat: the same text, and what it keeps is no tree of cons strings (counted in a heap snapshot)', async () => {
  const build = (i: number) => '{pf="' + 'ens' + (i % 8) + 'f0np0' + '",rail="' + String(i % 8) + '",vf="' + String(i) + '"}';
  assert.equal(flat(build(7)), build(7));
  assert.equal(flat(''), '');
  // the number of V8 cons strings in the heap while 2,000 label sets made by f are kept
  const consStrings = async (f: (s: string) => string): Promise<number> => {
    const kept = Array.from({ length: 2000 }, (_, i) => f(build(i)));
    const snap = (await json(getHeapSnapshot())) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[] };
    const meta = snap.snapshot.meta;
    const width = meta.node_fields.length;
    const type = meta.node_fields.indexOf('type');
    const cons = meta.node_types[0].indexOf('concatenated string');
    let n = 0;
    for (let i = 0; i < snap.nodes.length; i += width) if (snap.nodes[i + type] === cons) n++;
    assert.equal(kept.length, 2000);
    return n;
  };
  const asBuilt = await consStrings((s) => s);
  const flattened = await consStrings(flat);
  // each label set is built with five + of strings long enough to make a cons string
  assert.ok(asBuilt - flattened >= 2000 * 4, `cons strings: ${asBuilt} as built, ${flattened} flattened`);
});
