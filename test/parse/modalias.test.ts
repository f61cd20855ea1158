import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePciModalias } from '../../agent/parse/values.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import { FixtureHost } from '../helpers/fixture-host.ts';

test('parsePciModalias: ids and class in the forms of the vendor, device and class files', () => {
  assert.deepEqual(parsePciModalias('pci:v00008086d00001572sv00008086sd00000004bc02sc00i00\n'), {
    ok: true,
    value: { vendor: '0x8086', device: '0x1572', subsystemVendor: '0x8086', subsystemDevice: '0x0004', class: '0x020000' },
  });
  assert.deepEqual(parsePciModalias('pci:v000015B3d0000101Dsv000015B3sd00000016bc02sc07i00').ok && parsePciModalias('pci:v000015B3d0000101Dsv000015B3sd00000016bc02sc07i00'), {
    ok: true,
    value: { vendor: '0x15b3', device: '0x101d', subsystemVendor: '0x15b3', subsystemDevice: '0x0016', class: '0x020700' },
  });
  for (const bad of ['', 'pci:v8086d1572', 'usb:v1D6Bp0002d0606dc09dsc00dp03ic09isc00ip00in00', 'pci:v00008086d00001572sv00008086sd00000004bc02sc00i00 trailing']) {
    assert.equal(parsePciModalias(bad).ok, false, bad);
  }
});

test('a PCI function without vendor, device and class files takes them from its modalias, without a skip', (t) => {
  const host = new FixtureHost();
  t.after(() => host.cleanup());
  host.addPci({ address: '0000:00:00.0', hostBridge: 'pci0000:00', driver: 'i40e' });
  const dev = host.devPath('0000:00:00.0');
  for (const f of ['vendor', 'device', 'class', 'subsystem_vendor', 'subsystem_device']) host.remove(`${dev}/${f}`);
  host.write(`${dev}/modalias`, 'pci:v00008086d00001572sv00008086sd00000004bc02sc00i00');
  const s = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} } });
  const fn = s.pci.find((f) => f.address === '0000:00:00.0');
  assert.deepEqual([fn?.vendor, fn?.device, fn?.class, fn?.subsystemVendor, fn?.subsystemDevice], ['0x8086', '0x1572', '0x020000', '0x8086', '0x0004']);
  assert.deepEqual(s.issues.filter((i) => i.scanner === 'pci'), []);
  // with neither, the missing identity files are the counted skips they were
  host.remove(`${dev}/modalias`);
  const bare = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} } });
  assert.deepEqual(bare.issues.filter((i) => i.scanner === 'pci').map((i) => i.path.split('/').at(-1)).sort(), ['class', 'device', 'vendor']);
});
