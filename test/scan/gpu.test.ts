import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyGpu, scanDisplayGpus, scanGpus } from '../../agent/scan/gpu-class.ts';
import type { PciFunction } from '../../agent/model.ts';

test('compute GPUs vs display graphics vs no GPU, by vendor, class and address', () => {
  const cases: [string, string, string, 'compute' | 'display' | 'none'][] = [
    // address, vendor, class, kind
    ['0000:06:00.0', '0x10de', '0x030200', 'compute'], // NVIDIA 3D controller (P100, H100)
    ['0000:41:00.0', '0x10de', '0x030000', 'compute'], // NVIDIA VGA (L40 in display mode, workstation cards)
    ['0000:c1:00.0', '0x1002', '0x038000', 'compute'], // AMD Instinct MI250
    ['0000:c1:00.0', '0x1002', '0x120000', 'compute'], // AMD Instinct MI300X
    ['0000:0a:00.0', '0x1002', '0x030000', 'display'], // AMD Radeon
    ['0000:00:02.0', '0x8086', '0x030000', 'display'], // Intel integrated graphics
    ['0000:00:02.0', '0x8086', '0x038000', 'display'], // Intel integrated graphics, not the primary VGA
    ['0000:03:00.0', '0x8086', '0x030000', 'display'], // Intel Arc
    ['0000:3a:00.0', '0x8086', '0x038000', 'compute'], // Intel Data Center GPU
    ['0000:03:00.0', '0x1a03', '0x030000', 'none'], // ASPEED BMC graphics
    ['0000:08:00.0', '0x102b', '0x030000', 'none'], // Matrox BMC graphics
    ['0000:00:0b.0', '0x8086', '0x120000', 'none'], // Intel processing accelerator (NPU): not a GPU
    ['0000:3b:00.0', '0x15b3', '0x020700', 'none'], // a NIC
  ];
  for (const [address, vendor, cls, kind] of cases) {
    assert.equal(classifyGpu({ address, vendor, class: cls }).kind, kind, `${address} ${vendor} ${cls}`);
  }
  assert.equal(classifyGpu({ address: '0000:06:00.1', vendor: '0x10de', class: '0x030200', physfn: '0000:06:00.0' }).kind, 'none', 'a VF');
  assert.equal(classifyGpu({ address: '0000:06:00.0', vendor: '0x10de' }).kind, 'none', 'class unknown');
});

test('the scanners split compute GPUs from display graphics', () => {
  const fn = (address: string, vendor: string, cls: string): PciFunction => ({ address, vendor, class: cls, upstream: [], link: {} });
  const pci = [fn('0000:00:02.0', '0x8086', '0x030000'), fn('0000:06:00.0', '0x10de', '0x030200'), fn('0000:0a:00.0', '0x1002', '0x030000')];
  assert.deepEqual(scanGpus(pci).map((g) => g.pci), ['0000:06:00.0']);
  assert.deepEqual(scanDisplayGpus(pci).map((g) => [g.pci, g.vendorName]), [['0000:00:02.0', 'intel'], ['0000:0a:00.0', 'amd']]);
});
