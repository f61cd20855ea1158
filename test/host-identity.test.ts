import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerHooks } from 'node:module';
import { createLogger } from '../agent/log.ts';
import { parseCpuinfoIdentity } from '../agent/parse/values.ts';
import { FixtureHost } from './helpers/fixture-host.ts';

// every module resolved from here on: systeminformation must not be among them for roots that are not this host's
const resolved: string[] = [];
registerHooks({
  resolve(specifier, context, next) {
    resolved.push(specifier);
    return next(specifier, context);
  },
});
// imported after the hook, so a static import of systeminformation in it would be seen too
const { gatherHostIdentity, isOwnHost, rootIdentity } = await import('../agent/host-identity.ts');

const quiet = createLogger({ level: 'error' });

test('cpuinfo identity: brand cleaned of trademarks, CPU and clock; logical CPUs counted', () => {
  const cases: [string, { brand?: string; logicalCpus?: number }][] = [
    ['processor\t: 0\nmodel name\t: Intel(R) Xeon(R) CPU           L5640  @ 2.27GHz\nprocessor\t: 1\nmodel name\t: x\n', { brand: 'Intel Xeon L5640', logicalCpus: 2 }],
    ['processor\t: 0\nmodel name\t: 12th Gen Intel(R) Core(TM) i7-1270P\n', { brand: '12th Gen Intel Core i7-1270P', logicalCpus: 1 }],
    ['processor\t: 0\nmodel name\t: AMD Ryzen 5 1600 Six-Core Processor\n', { brand: 'AMD Ryzen 5 1600 Six-Core Processor', logicalCpus: 1 }],
    // arm64: no model name
    ['processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n', { logicalCpus: 1 }],
    ['', {}],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseCpuinfoIdentity(text), want, text);
});

test('own host only for /sys and /proc', () => {
  assert.equal(isOwnHost('/sys', '/proc'), true);
  assert.equal(isOwnHost('/sys/', '/proc/'), true);
  assert.equal(isOwnHost('/host/sys', '/host/proc'), false);
  assert.equal(isOwnHost('/sys', '/tmp/proc'), false);
});

test('a tree root gives its own kernel, CPU and DMI, never this machine, without loading systeminformation', async (t) => {
  const host = new FixtureHost();
  t.after(() => host.cleanup());
  host.writeProc('cpuinfo', 'processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2695 v4 @ 2.10GHz\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2695 v4 @ 2.10GHz\n');
  host.writeProc('sys/kernel/osrelease', '4.15.0-99-tree');
  host.write('class/dmi/id/sys_vendor', 'Supermicro');
  host.write('class/dmi/id/product_name', 'To Be Filled By O.E.M.');
  host.write('class/dmi/id/bios_vendor', 'American Megatrends Inc.');
  host.write('class/dmi/id/bios_version', '3.2');
  const want = { systemVendor: 'Supermicro', biosVendor: 'American Megatrends Inc.', biosVersion: '3.2', kernel: '4.15.0-99-tree', cpuBrand: 'Intel Xeon E5-2695 v4', cpuCores: 2 };
  assert.deepEqual(rootIdentity(host.sys, host.proc), want);
  assert.deepEqual(await gatherHostIdentity(quiet, host.sys, host.proc), want);
  assert.ok(!resolved.some((s) => s.includes('systeminformation')), `systeminformation was loaded: ${resolved.filter((s) => s.includes('systeminformation')).join(',')}`);
});

test('a tree without the files gives no identity facts (absent, not this host)', async (t) => {
  const host = new FixtureHost();
  t.after(() => host.cleanup());
  host.writeProc('cpuinfo', '');
  host.writeProc('sys/kernel/osrelease', '');
  assert.deepEqual(await gatherHostIdentity(quiet, host.sys, host.proc), {});
});
