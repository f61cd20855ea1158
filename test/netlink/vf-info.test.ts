// The VF netlink reader: iproute2's JSON (recorded per driver as print_vfinfo prints it, and the real `ip` of this
// host), the bounds of the child process, the coalescing of reads, and the join with the snapshot's VFs.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { defaultConfig } from '../../agent/config/config.ts';
import { coalesce, createFileVfInfoSource, createIpVfInfoSource, parseIpLinkJson, parseVfEntry, type VfInfoReading } from '../../agent/netlink/vf-info.ts';
import { joinVfLinks } from '../../agent/netlink/vf-view.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import { buildBroadcomHost, buildDgxHost, buildE810Host, type FixtureHost } from '../helpers/fixture-host.ts';
import { ipLinkEntry, ipLinkJson, LOOPBACK_ENTRY, type VfDriverStyle } from '../helpers/ip-link.ts';

function recording(style: VfDriverStyle, vfs = 2): string {
  return ipLinkJson([LOOPBACK_ENTRY, ipLinkEntry({ ifindex: 7, ifname: 'pf0', parentDev: '0000:3b:00.0', style, address: '0c:42:a1:00:00:07', mtu: 9000, vfs: Array.from({ length: vfs }, () => ({})) })]);
}

describe('parseIpLinkJson on recordings of each driver', () => {
  test('mlx5 RoCE: MAC, VLAN list, rates, spoof check, trust, RSS query, stats with drops', () => {
    const { links, issues } = parseIpLinkJson(recording('mlx5-roce'));
    assert.deepEqual(issues, []);
    assert.equal(links.length, 1);
    assert.deepEqual(links[0]!.vfs[1], {
      vf: 1,
      linkType: 'ether',
      mac: '02:07:00:00:00:01',
      maxTxRateMbps: 0,
      minTxRateMbps: 0,
      spoofchk: false,
      trust: false,
      queryRssEn: false,
      linkState: 'auto',
      stats: { rxBytes: 7002000000n, rxPackets: 7002000n, txBytes: 14004000000n, txPackets: 14004000n, multicast: 70020n, broadcast: 21006n, rxDropped: 7001n, txDropped: 0n },
    });
    assert.equal(links[0]!.parentDev, '0000:3b:00.0');
    assert.equal(links[0]!.ifindex, 7);
  });

  test('mlx5 InfiniBand: GUIDs, no spoof check or trust', () => {
    const vf = parseIpLinkJson(recording('mlx5-ib')).links[0]!.vfs[0]!;
    assert.equal(vf.linkType, 'infiniband');
    assert.equal(vf.nodeGuid, 'b8:ce:f6:07:00:00:00:00');
    assert.equal(vf.portGuid, 'b8:ce:f6:07:00:01:00:00');
    assert.equal(vf.spoofchk, undefined);
    assert.equal(vf.trust, undefined);
    assert.equal(vf.mac, '00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00');
  });

  test('ice: spoof checking on; bnxt: no RSS query, zero-filled stats', () => {
    assert.equal(parseIpLinkJson(recording('ice')).links[0]!.vfs[0]!.spoofchk, true);
    const bnxt = parseIpLinkJson(recording('bnxt')).links[0]!.vfs[0]!;
    assert.equal(bnxt.queryRssEn, undefined);
    assert.equal(bnxt.stats?.rxBytes, 0n);
  });

  test('the JSON of a real iproute2 line, older key names, counters past 2^53', () => {
    // print_vfinfo of iproute2 6.1 for a VF with a port VLAN, QoS and a rate limit (ip -j -s -d link show)
    const real =
      '{"vf":3,"link_type":"ether","address":"aa:bb:cc:dd:ee:03","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{"vlan":100,"qos":3}],' +
      '"rate":{"max_tx":25000,"min_tx":0},"spoofchk":true,"link_state":"disable","trust":true,"query_rss_en":false,' +
      '"stats":{"rx":{"bytes":18446744073709551615,"packets":9007199254740993,"multicast":1,"broadcast":2,"dropped":3},"tx":{"tx_bytes":4,"tx_packets":5,"dropped":6}}}';
    const out = parseIpLinkJson(`[{"ifindex":4,"ifname":"ens1f0","vfinfo_list":[${real}]}]`).links[0]!.vfs[0]!;
    assert.equal(out.vlan, 100);
    assert.equal(out.qos, 3);
    assert.equal(out.maxTxRateMbps, 25000);
    assert.equal(out.linkState, 'disable');
    assert.equal(out.stats?.rxBytes, 18446744073709551615n);
    assert.equal(out.stats?.rxPackets, 9007199254740993n);
    assert.equal(out.stats?.txDropped, 6n);
    // before iproute2 5.x: `mac`, a flat vlan, no link_type, no dropped counters
    const old = parseVfEntry(JSON.parse('{"vf":0,"mac":"AA:BB:CC:00:00:01","vlan":7,"spoofchk":false,"link_state":"auto","stats":{"rx":{"bytes":1,"packets":2,"multicast":3,"broadcast":4},"tx":{"tx_bytes":5,"tx_packets":6}}}'));
    assert.equal(old?.mac, 'aa:bb:cc:00:00:01');
    assert.equal(old?.vlan, 7);
    assert.equal(old?.stats?.rxDropped, undefined);
  });

  test('long integers stay exact on both paths, and never pass as text', () => {
    const stats = (rx: string) => `"stats":{"rx":{"bytes":${rx},"packets":12345678901234567,"multicast":0,"broadcast":0},"tx":{"tx_bytes": 99999999999999999 ,"tx_packets":1}}`;
    const doc = (alias: string) =>
      `[{"ifindex":4,"ifname":"ens1f0","ifalias":${JSON.stringify(alias)},"vfinfo_list":[{"vf":0,${stats('18446744073709551615')}},{"vf":1,"address":1234567890123456789,${stats('-12345678901234567')}}]},` +
      `{"ifindex":12345678901234567,"ifname":12345678901234567,"vfinfo_list":[]}]`;
    // the second alias holds what a long-integer value looks like in the text: the quick path leaves invalid JSON
    // there, and the exact reviver parses the text instead
    for (const alias of ['plain', 'x:12345678901234567,y', ',[1234567890123456]']) {
      const { links, issues } = parseIpLinkJson(doc(alias));
      assert.equal(links.length, 1, alias);
      const [vf0, vf1] = links[0]!.vfs;
      assert.equal(vf0?.stats?.rxBytes, 18446744073709551615n, alias);
      assert.equal(vf0?.stats?.rxPackets, 12345678901234567n, alias);
      assert.equal(vf0?.stats?.txBytes, 99999999999999999n, alias);
      // a negative counter is no counter; an integer where a MAC is expected is no MAC
      assert.equal(vf1?.stats, undefined, alias);
      assert.equal(vf1?.mac, undefined, alias);
      // an integer where the ifname is expected: the link is an issue, not a link named by digits
      assert.deepEqual(issues.map((i) => i.detail), ['a link with a VF list has no ifname'], alias);
    }
  });

  test('bad entries are skipped and counted; truncated lists flagged; garbage throws', () => {
    const text = '[{"ifindex":4,"ifname":"ens1f0","vfinfo_list":[{"mac":"x"},{"vf":0},{"vf":0}]},{"ifindex":5,"vfinfo_list":[]}]';
    const { links, issues } = parseIpLinkJson(text, 'Truncated VF list: ens1f0\n');
    assert.deepEqual(links.map((l) => [l.ifname, l.vfs.length, l.truncated]), [['ens1f0', 1, true]]);
    assert.deepEqual(issues.map((i) => i.code).sort(), ['PARSE', 'PARSE', 'PARSE', 'TRUNCATED']);
    assert.throws(() => parseIpLinkJson('Cannot open netlink socket'), /no valid JSON/);
    assert.throws(() => parseIpLinkJson('{"a":1}'), /not a list of links/);
  });
});

describe('the ip child process', () => {
  test('the real ip of this host answers: links without VF lists, no error', async () => {
    const r = await createIpVfInfoSource().read();
    assert.equal(r.error, undefined);
    assert.ok(Array.isArray(r.links));
  });

  test('bounded: a timeout, an output cap and a missing executable give an error reading, never a throw', async () => {
    const slow = await createIpVfInfoSource({ command: ['sleep', '5'], timeoutMs: 100 }).read();
    assert.match(slow.error ?? '', /^TIMEOUT/);
    assert.ok(slow.durationMs < 4000);
    const big = await createIpVfInfoSource({ maxBytes: 16 }).read();
    assert.match(big.error ?? '', /^TOO_LARGE/);
    const absent = await createIpVfInfoSource({ command: ['/nonexistent/ip', 'link'] }).read();
    assert.match(absent.error ?? '', /^ENOENT/);
    const bad = await createIpVfInfoSource({ command: ['ip', '-j', 'link', 'show', 'dev', 'no-such-link-x'] }).read();
    assert.match(bad.error ?? '', /^EXIT/);
  });

  test('coalesced: concurrent reads share one child, a fresh reading is reused, a stale one re-read', async () => {
    let calls = 0;
    let now = 0;
    const source = coalesce(
      {
        async read(): Promise<VfInfoReading> {
          calls++;
          await new Promise((r) => setTimeout(r, 20));
          return { links: [], issues: [], takenAtMs: calls, durationMs: 0 };
        },
      },
      1000,
      () => now,
    );
    const [a, b, c] = await Promise.all([source.read(), source.read(), source.read()]);
    assert.equal(calls, 1);
    assert.ok(a === b && b === c);
    now = 999;
    assert.equal(await source.read(), a);
    now = 1000;
    assert.notEqual(await source.read(), a);
    assert.equal(calls, 2);
  });

  test('coalesced: a reading past its reuse age is not kept (the scan keeps its own in the state)', async () => {
    const source = coalesce({ read: async (): Promise<VfInfoReading> => ({ links: [], issues: [], takenAtMs: 0, durationMs: 0 }) }, 30);
    const reading = await source.read();
    assert.equal(source.last(), reading);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(source.last(), undefined);
  });
});

describe('joined with the snapshot', () => {
  function joined(host: FixtureHost) {
    const snapshot = scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: defaultConfig() });
    return { snapshot, read: () => createFileVfInfoSource(host.ipLinkFile).read().then((r) => joinVfLinks(snapshot, r)) };
  }

  test('every VF of every PF of a fixture host gets its kernel entry; stats only where the driver reports them', async (t) => {
    const hosts = [buildDgxHost({ rails: 2, vfsPerPf: 3 }), buildDgxHost({ rails: 1, vfsPerPf: 2, linkLayer: 'InfiniBand' }), buildE810Host(), buildBroadcomHost()];
    t.after(() => hosts.forEach((h) => h.cleanup()));
    const [roce, ib, ice, bnxt] = await Promise.all(hosts.map((h) => joined(h).read()));
    assert.equal(roce!.byPci.size, 6);
    assert.ok([...roce!.byPci.values()].every((a) => a.stats !== undefined));
    assert.equal([...ib!.byPci.values()][0]!.link.linkType, 'infiniband');
    assert.equal(ice!.byPci.size, 3);
    assert.equal(bnxt!.byPci.size, 1);
    // bnxt_en has no ndo_get_vf_stats: the kernel's zeros are not counters
    assert.equal([...bnxt!.byPci.values()][0]!.stats, undefined);
    assert.notEqual([...bnxt!.byPci.values()][0]!.link.stats, undefined);
  });

  test('a failed read joins nothing; a PF without a listed netdev is named', async (t) => {
    const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
    t.after(() => host.cleanup());
    const { snapshot } = joined(host);
    assert.equal(joinVfLinks(snapshot, { links: [], issues: [], takenAtMs: 0, durationMs: 0, error: 'TIMEOUT: x' }).byPci.size, 0);
    writeFileSync(host.ipLinkFile, ipLinkJson([LOOPBACK_ENTRY]));
    const r = await createFileVfInfoSource(host.ipLinkFile).read();
    assert.deepEqual(joinVfLinks(snapshot, r).pfsWithoutList.map((p) => p.pci), ['0000:16:00.0', '0000:1e:00.0']);
    const missing = await createFileVfInfoSource(join(host.root, 'absent.json')).read();
    assert.match(missing.error ?? '', /^ENOENT/);
  });
});
