import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanNode } from '../../agent/scan/registry.ts';
import { HostFs } from '../../agent/sysfs/host-fs.ts';
import { createVirtualNetdevFilter } from '../../agent/watch/virtual-netdevs.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';

test('virtual netdev events (pod veths) trigger no scan; PF and VF netdev events and unknown names do', (t) => {
  const host = buildDgxHost({ rails: 1, vfsPerPf: 2 });
  t.after(() => host.cleanup());
  const snapshot = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} } });
  const filter = createVirtualNetdevFilter(new HostFs(host.sys), () => snapshot);
  host.addNetdev(null, { name: 'veth1a2b' });
  const ev = (kind: 'add' | 'del' | 'change', ifname: string) => ({ kind, ifname, ifindex: 99 });
  assert.deepEqual(
    [
      filter.link(ev('add', 'veth1a2b')),
      filter.link(ev('change', 'lo')),
      filter.link(ev('change', 'ens1f0np0')),
      filter.link(ev('del', 'ens1f0np0v1')),
      filter.link(ev('add', 'never-seen')),
    ],
    [true, true, false, false, false],
  );
  // gone from class/net (moved into a pod): still known as virtual from its earlier event, once
  host.removeNetdev(null, 'veth1a2b');
  assert.deepEqual([filter.link(ev('del', 'veth1a2b')), filter.link(ev('del', 'veth1a2b'))], [true, false]);
  assert.deepEqual(
    [
      filter.uevent({ action: 'add', devpath: '/devices/virtual/net/veth9', subsystem: 'net' }),
      filter.uevent({ action: 'remove', devpath: '/devices/pci0000:10/0000:10:01.0/0000:16:00.2/net/ens1f0np0v0', subsystem: 'net' }),
      filter.uevent({ action: 'add', devpath: '/devices/pci0000:10/0000:16:00.3', subsystem: 'pci' }),
    ],
    [true, false, false],
  );
});
