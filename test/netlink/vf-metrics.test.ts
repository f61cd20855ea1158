// The per-VF counter families: each VF's label set is formatted once per (frozen) PF object, so a PF whose netdev or
// rail changed in a later snapshot labels its VFs anew, even where the snapshot shares the VF objects.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { NodeSnapshot } from '../../agent/model.ts';
import { vfCounterText } from '../../agent/netlink/vf-metrics.ts';
import { vfInfoOf } from '../checks/helpers.ts';
import { buildDgxHost } from '../helpers/fixture-host.ts';
import { familyLines, scanFixture } from '../metrics/exposition-helpers.ts';

const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
after(() => host.cleanup());

test('VF counter labels follow the PF of each snapshot, with the VF objects shared', () => {
  const snapshot = scanFixture(host);
  const reading = vfInfoOf(host);
  assert.ok(reading !== undefined, 'the fixture host records its VF lists');
  const first = familyLines(vfCounterText(snapshot, reading), 'railwatch_vf_receive_bytes_total');
  assert.equal(first.length, 4);
  const pf0 = snapshot.pfs.find((p) => p.vfs.length > 0)!;
  assert.ok(first.some((l) => l.includes(`pf="${pf0.netdev}",rail="${pf0.rail}",vf="0"`)), first.join('\n'));
  // the same VF objects under new PF objects with another netdev and rail
  const renamed: NodeSnapshot = { ...snapshot, pfs: snapshot.pfs.map((p) => ({ ...p, netdev: `${p.netdev}x`, rail: (p.rail ?? 0) + 10 })) };
  assert.equal(renamed.pfs[0]!.vfs, snapshot.pfs[0]!.vfs);
  const second = familyLines(vfCounterText(renamed, reading), 'railwatch_vf_receive_bytes_total');
  assert.equal(second.length, 4);
  assert.ok(second.every((l) => /pf="[^"]+x",rail="1[01]"/.test(l)), second.join('\n'));
  // and the first snapshot still renders its own labels
  assert.deepEqual(familyLines(vfCounterText(snapshot, reading), 'railwatch_vf_receive_bytes_total'), first);
});
