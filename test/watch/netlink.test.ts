import { createVethNetns, ip, kernelSkipReason, quietly } from '../helpers/netns.ts';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { memoryLogger, silentLogger } from '../../agent/log.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import { backoffDelay, superviseLineProcess } from '../../agent/watch/line-process.ts';
import { classifyLinkLine, parseLinkLine, startLinkMonitor, type LinkEvent, type LinkLine } from '../../agent/watch/netlink.ts';
import { parseUeventLine, startUeventMonitor, ueventDeviceName, type Uevent } from '../../agent/watch/uevent.ts';

async function eventually(cond: () => boolean, what: string, boundMs = 10_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Lines captured from `ip -o monitor link` (iproute2 6.1, kernel 6.18) while a veth pair was created, one end
// moved into a network namespace, its MTU changed, and deleted.
const CAPTURED: [string, LinkLine | undefined][] = [
  [
    '10: rwtcapb@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether fe:fc:b0:c1:65:a2 brd ff:ff:ff:ff:ff:ff',
    { deleted: false, ifindex: 10, ifname: 'rwtcapb' },
  ],
  [
    '11: rwtcapa@rwtcapb: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default \\    link/ether 56:08:70:52:98:ef brd ff:ff:ff:ff:ff:ff',
    { deleted: false, ifindex: 11, ifname: 'rwtcapa' },
  ],
  [
    'Deleted 10: rwtcapb@rwtcapa: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether fe:fc:b0:c1:65:a2 brd ff:ff:ff:ff:ff:ff new-netns rwtcapns new-ifindex 10',
    { deleted: true, ifindex: 10, ifname: 'rwtcapb', newNetns: 'rwtcapns' },
  ],
  [
    '11: rwtcapa@if10: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1400 qdisc noqueue state LOWERLAYERDOWN group default \\    link/ether 56:08:70:52:98:ef brd ff:ff:ff:ff:ff:ff link-netns rwtcapns',
    { deleted: false, ifindex: 11, ifname: 'rwtcapa' },
  ],
  [
    'Deleted 11: rwtcapa@NONE: <BROADCAST,MULTICAST> mtu 1400 qdisc noop state DOWN group default \\    link/ether 56:08:70:52:98:ef brd ff:ff:ff:ff:ff:ff',
    { deleted: true, ifindex: 11, ifname: 'rwtcapa' },
  ],
  // the same move when the namespace existed before ip started: ip prints the nsid
  [
    'Deleted 102: rwtyb@rwtya: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN group default \\    link/ether 42:64:8a:49:1e:ff brd ff:ff:ff:ff:ff:ff new-netnsid 1 new-ifindex 102',
    { deleted: true, ifindex: 102, ifname: 'rwtyb', newNetns: '1' },
  ],
  // `ip -o link show` (the seed listing) uses the same layout
  [
    '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
    { deleted: false, ifindex: 1, ifname: 'lo' },
  ],
  // a VF netdev as mlx5 names it, with the [LINK] prefix some iproute2 versions print
  [
    '[LINK]Deleted 42: ens1f0np0v3: <BROADCAST,MULTICAST> mtu 9000 qdisc mq state DOWN group default \\    link/ether 02:00:00:00:00:03 brd ff:ff:ff:ff:ff:ff new-nsid 2 new-ifindex 3',
    { deleted: true, ifindex: 42, ifname: 'ens1f0np0v3', newNetns: '2' },
  ],
  ['', undefined],
  ['    link/ether fe:fc:b0:c1:65:a2 brd ff:ff:ff:ff:ff:ff', undefined],
  ['Terminated', undefined],
];

describe('parseLinkLine', () => {
  for (const [line, want] of CAPTURED) {
    test(JSON.stringify(line.slice(0, 48)), () => {
      assert.deepEqual(parseLinkLine(line), want);
    });
  }
});

test('classifyLinkLine tells add from change by the ifindexes already known', () => {
  const known = new Set([1, 11]);
  const events = CAPTURED.slice(0, 5).map(([line]) => classifyLinkLine(parseLinkLine(line) as LinkLine, known));
  assert.deepEqual(events, [
    { kind: 'add', ifname: 'rwtcapb', ifindex: 10 },
    { kind: 'change', ifname: 'rwtcapa', ifindex: 11 },
    { kind: 'del', ifname: 'rwtcapb', ifindex: 10, newNetns: 'rwtcapns' },
    { kind: 'change', ifname: 'rwtcapa', ifindex: 11 },
    { kind: 'del', ifname: 'rwtcapa', ifindex: 11 },
  ]);
  assert.deepEqual([...known], [1]);
});

describe('parseUeventLine', () => {
  const cases: [string, Uevent | undefined][] = [
    // captured from `udevadm monitor --kernel --subsystem-match=pci --subsystem-match=net --subsystem-match=infiniband`
    ['KERNEL[499.865203] add      /devices/virtual/net/rwtcapb (net)', { action: 'add', devpath: '/devices/virtual/net/rwtcapb', subsystem: 'net' }],
    ['KERNEL[499.884342] remove   /devices/virtual/net/rwtcapb (net)', { action: 'remove', devpath: '/devices/virtual/net/rwtcapb', subsystem: 'net' }],
    ['KERNEL[12.5] bind     /devices/pci0000:00/0000:00:01.0/0000:3b:00.2 (pci)', { action: 'bind', devpath: '/devices/pci0000:00/0000:00:01.0/0000:3b:00.2', subsystem: 'pci' }],
    ['monitor will print the received events for:', undefined],
    ['KERNEL - the kernel uevent', undefined],
    ['', undefined],
    ['KERNEL[1.0] frobnicate /devices/x (net)', undefined],
  ];
  for (const [line, want] of cases) {
    test(JSON.stringify(line.slice(0, 48)), () => assert.deepEqual(parseUeventLine(line), want));
  }
  test('ueventDeviceName', () => {
    assert.equal(ueventDeviceName({ action: 'add', devpath: '/devices/pci0000:00/0000:00:01.0/0000:3b:00.2', subsystem: 'pci' }), '0000:3b:00.2');
  });
});

describe('monitor process supervision', () => {
  test('backoff doubles from the initial delay and is capped', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelay(n, { initialMs: 1000, maxMs: 60_000 })),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
    );
  });

  test('a monitor that dies is restarted, and each restart asks for a resync', async () => {
    const lines: string[] = [];
    let resyncs = 0;
    const log = memoryLogger();
    const p = superviseLineProcess({
      name: 'test',
      command: [process.execPath, '-e', 'console.log("7: eth7: <UP> mtu 1500"); process.exit(3)'],
      onLine: (l) => lines.push(l),
      onRestart: () => (resyncs += 1),
      log,
      backoff: { initialMs: 10, maxMs: 40 },
    });
    const restarts = () => log.lines.filter((l) => l.msg === 'monitor process ended; restarting');
    try {
      await eventually(() => restarts().length >= 3 && lines.length >= 3, 'three exits');
    } finally {
      await p.stop();
    }
    assert.deepEqual(lines.slice(0, 3), ['7: eth7: <UP> mtu 1500', '7: eth7: <UP> mtu 1500', '7: eth7: <UP> mtu 1500']);
    assert.ok(resyncs >= 2, `resyncs ${resyncs}`);
    assert.deepEqual(
      restarts()
        .slice(0, 3)
        .map((l) => [l.meta?.['code'], l.meta?.['restartInMs']]),
      [
        [3, 10],
        [3, 20],
        [3, 40],
      ],
    );
    assert.equal(p.state(), 'stopped');
  });

  test('an absent command is logged once and not retried', async () => {
    const log = memoryLogger();
    const events: LinkEvent[] = [];
    const m = startLinkMonitor({
      onEvent: (e) => events.push(e),
      log,
      command: ['/nonexistent/railwatch/ip', '-o', 'monitor', 'link'],
      seedCommand: null,
      backoff: { initialMs: 1, maxMs: 1 },
    });
    try {
      await eventually(() => m.state() === 'absent', 'the monitor to give up');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(log.lines, [
        { level: 'warn', msg: 'monitor command not found; relying on the interval rescan', meta: { monitor: 'netlink', command: '/nonexistent/railwatch/ip' } },
      ]);
      assert.equal(m.state(), 'absent');
    } finally {
      await m.stop();
    }
  });

  test('an absent udevadm is an optional source: logged once at info', async () => {
    const log = memoryLogger();
    const m = startUeventMonitor({ onEvent: () => {}, log, command: ['/nonexistent/railwatch/udevadm', 'monitor'] });
    try {
      await eventually(() => m.state() === 'absent', 'the monitor to give up');
      assert.deepEqual(log.lines, [
        { level: 'info', msg: 'monitor command not found; relying on the interval rescan', meta: { monitor: 'uevent', command: '/nonexistent/railwatch/udevadm' } },
      ]);
    } finally {
      await m.stop();
    }
  });

  test('stop() kills a running monitor', async () => {
    const p = superviseLineProcess({
      name: 'test',
      command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'],
      onLine: () => {},
      log: silentLogger,
    });
    await eventually(() => p.state() === 'running', 'the process to run');
    await p.stop();
    assert.equal(p.state(), 'stopped');
  });
});

// ---------------------------------------------------------------------------------------------------------
// On the real kernel: a veth pair whose peer moves into a new network namespace stands in for a VF netdev moved
// into a pod.

function hasUdevadm(): boolean {
  try {
    execFileSync('udevadm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hostNetdevs(): string[] {
  return scanNode({ sysfsRoot: '/sys', procfsRoot: '/proc', config: { rails: {} } }).netdevs.map((n) => n.name);
}

const skip = kernelSkipReason() ?? false;

describe('on the real kernel', { skip }, () => {
  test('the netlink monitor sees a veth peer leave for another namespace, and the sysfs scan agrees', async () => {
    const pair = createVethNetns(`rwt${process.pid}`);
    const events: LinkEvent[] = [];
    const m = startLinkMonitor({ onEvent: (e) => events.push(e), log: silentLogger });
    try {
      await m.seeded;
      // the monitor subscribes some time after spawn: poke the other end until its events arrive
      let probe = 0;
      await eventually(() => {
        if (events.some((e) => e.ifname === pair.a)) return true;
        ip('link', 'set', 'dev', pair.a, 'mtu', String(1400 + (probe++ % 2)));
        return false;
      }, 'the monitor to subscribe');
      const parsed = parseLinkLine(ip('-o', 'link', 'show', 'dev', pair.b));
      assert.ok(parsed, 'ip -o link show parses');
      assert.ok(hostNetdevs().includes(pair.b), 'the peer is in /sys/class/net before the move');

      ip('link', 'set', pair.b, 'netns', pair.ns);

      await eventually(() => events.some((e) => e.kind === 'del' && e.ifname === pair.b), 'the del event');
      const del = events.find((e) => e.kind === 'del' && e.ifname === pair.b);
      // ip prints the namespace's name when it can map the nsid, else the nsid
      const ns = del?.newNetns ?? '(none)';
      assert.ok(ns === pair.ns || /^\d+$/.test(ns), `newNetns ${ns}`);
      assert.deepEqual(del, { kind: 'del', ifname: pair.b, ifindex: parsed.ifindex, newNetns: ns });
      const after = hostNetdevs();
      assert.equal(after.includes(pair.b), false, 'the peer is gone from /sys/class/net');
      assert.equal(after.includes(pair.a), true, 'the host end stays');
      assert.match(ip('-n', pair.ns, '-o', 'link', 'show', 'dev', pair.b), new RegExp(`: ${pair.b}@`), 'the peer lives in the namespace');
    } finally {
      await m.stop();
      pair.cleanup();
    }
    assert.equal(hostNetdevs().includes(pair.a), false, 'cleanup removed the pair');
  });

  test('kernel uevents report the move as a net remove', { skip: hasUdevadm() ? false : 'udevadm is not installed (package udev)' }, async () => {
    const pair = createVethNetns(`rwu${process.pid}`);
    const events: Uevent[] = [];
    const m = startUeventMonitor({ onEvent: (e) => events.push(e), log: silentLogger });
    const probeA = `rwp${process.pid}a`;
    try {
      let probe = 0;
      await eventually(() => {
        if (events.some((e) => ueventDeviceName(e) === probeA)) return true;
        quietly(() => ip('link', 'del', probeA));
        if (probe++ % 5 === 0) ip('link', 'add', probeA, 'type', 'veth', 'peer', 'name', `rwp${process.pid}b`);
        return false;
      }, 'the uevent monitor to subscribe');
      quietly(() => ip('link', 'del', probeA));

      ip('link', 'set', pair.b, 'netns', pair.ns);

      await eventually(() => events.some((e) => ueventDeviceName(e) === pair.b), 'the uevent for the peer');
      assert.deepEqual(
        events.filter((e) => ueventDeviceName(e) === pair.b),
        [{ action: 'remove', devpath: `/devices/virtual/net/${pair.b}`, subsystem: 'net' }],
      );
    } finally {
      await m.stop();
      quietly(() => ip('link', 'del', probeA));
      pair.cleanup();
    }
  });
});
