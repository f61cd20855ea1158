import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acsFlags, parseAcs, type AcsParse } from '../../agent/checks/acs.ts';
import { acsConfig, configSpace } from './helpers.ts';

const NONE = acsFlags(0);

function loop(): Buffer {
  const buf = configSpace([{ id: 0x0001 }, { id: 0x000b }]);
  // second capability points back at the first
  buf.writeUInt32LE(((0x100 << 20) | (1 << 16) | 0x000b) >>> 0, 0x140);
  return buf;
}

function pointerBelow(): Buffer {
  const buf = configSpace([{ id: 0x0001 }]);
  buf.writeUInt32LE(((0x40 << 20) | (1 << 16) | 0x0001) >>> 0, 0x100);
  return buf;
}

const cases: { name: string; input: Buffer; want: AcsParse }[] = [
  { name: 'unprivileged read: 64 bytes', input: Buffer.alloc(64), want: { kind: 'short', length: 64 } },
  { name: 'empty file', input: Buffer.alloc(0), want: { kind: 'short', length: 0 } },
  { name: 'conventional PCI: 256 bytes', input: Buffer.alloc(256), want: { kind: 'no-extended' } },
  { name: 'odd length between 128 and 256', input: Buffer.alloc(200), want: { kind: 'malformed', reason: 'config space of 200 bytes' } },
  { name: 'no extended capabilities (zero header)', input: Buffer.alloc(4096), want: { kind: 'absent' } },
  { name: 'all-ones header (device gone)', input: Buffer.alloc(4096, 0xff), want: { kind: 'absent' } },
  { name: 'AER and DPC, no ACS', input: configSpace([{ id: 0x0001 }, { id: 0x001d }]), want: { kind: 'absent' } },
  {
    name: 'ACS with nothing enabled',
    input: acsConfig(0x0000),
    want: { kind: 'present', offset: 0x180, version: 1, capability: acsFlags(0x7f), control: NONE, controlRaw: 0, redirect: [] },
  },
  {
    name: 'ACS source validation only (no redirection)',
    input: acsConfig(0x0001),
    want: { kind: 'present', offset: 0x180, version: 1, capability: acsFlags(0x7f), control: { ...NONE, sourceValidation: true }, controlRaw: 1, redirect: [] },
  },
  {
    name: 'ACS as Linux enables it with an IOMMU: SV RR CR UF',
    input: acsConfig(0x001d),
    want: {
      kind: 'present',
      offset: 0x180,
      version: 1,
      capability: acsFlags(0x7f),
      control: { ...NONE, sourceValidation: true, requestRedirect: true, completionRedirect: true, upstreamForwarding: true },
      controlRaw: 0x1d,
      redirect: ['RequestRedirect', 'CompletionRedirect', 'UpstreamForwarding'],
    },
  },
  {
    name: 'ACS egress control and direct translated P2P',
    input: acsConfig(0x0060, 0x0060),
    want: {
      kind: 'present',
      offset: 0x180,
      version: 1,
      capability: acsFlags(0x60),
      control: { ...NONE, egressControl: true, directTranslatedP2p: true },
      controlRaw: 0x60,
      redirect: ['EgressControl'],
    },
  },
  {
    name: 'ACS first in the chain',
    input: configSpace([{ id: 0x000d, body: [0x1f, 0, 0x04, 0] }, { id: 0x0001 }]),
    want: {
      kind: 'present',
      offset: 0x100,
      version: 1,
      capability: acsFlags(0x1f),
      control: { ...NONE, requestRedirect: true },
      controlRaw: 4,
      redirect: ['RequestRedirect'],
    },
  },
  { name: 'capability loop', input: loop(), want: { kind: 'malformed', reason: 'capability loop at 0x100' } },
  { name: 'next pointer below 0x100', input: pointerBelow(), want: { kind: 'malformed', reason: 'next pointer 0x40 below 0x100' } },
  {
    name: 'next pointer beyond a truncated dump',
    input: configSpace([{ id: 0x0001 }, { id: 0x000d }]).subarray(0, 0x120),
    want: { kind: 'malformed', reason: 'next pointer 0x140 beyond 288 bytes' },
  },
  {
    name: 'ACS header at the very end, registers cut off',
    input: configSpace([{ id: 0x0001 }, { id: 0x000d }]).subarray(0, 0x144),
    want: { kind: 'malformed', reason: 'ACS capability at 0x140 truncated' },
  },
];

for (const c of cases) {
  test(`parseAcs: ${c.name}`, () => {
    assert.deepEqual(parseAcs(c.input), c.want);
  });
}

test('parseAcs reads through a subarray view without copying the wrong bytes', () => {
  const big = Buffer.concat([Buffer.alloc(16, 0xee), acsConfig(0x0004)]);
  const r = parseAcs(big.subarray(16));
  assert.equal(r.kind, 'present');
  assert.deepEqual(r.kind === 'present' ? r.redirect : [], ['RequestRedirect']);
});
