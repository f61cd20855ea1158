// Property: after any sequence of host mutations, the cheap rescan (chained from the previous cheap rescan) equals a
// full scan of the same tree: the whole snapshot, its issues included; only the scan duration differs.
// Mutations are what changes on a running host: VFs created and removed (sriov_numvfs with them), VF netdevs moving
// into pods and back, ports going down and up, drivers unbound and bound, links retraining, counters moving, and
// attributes that change at runtime turning unreadable (a directory in the file's place: EISDIR) or unparsable.
// Fixed attributes (vendor, class, numa_node) are corrupted only before the first scan: a running kernel does not
// change them without removing the function, and the issue they cause must survive every cheap rescan.
import assert from 'node:assert/strict';
import { mkdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { NodeSnapshot } from '../../agent/model.ts';
import { runScan, snapshotToJson } from '../../agent/scan/registry.ts';
import { rescanNode } from '../../agent/scan/rescan.ts';
import { buildDgxHost, type FixtureHost } from '../helpers/fixture-host.ts';

const PFS = ['0000:16:00.0', '0000:1e:00.0'];
const NETDEV = ['ens1f0np0', 'ens2f0np0'];
const RDMA = ['mlx5_0', 'mlx5_1'];
const MAX_VFS = 4;

type Mutation =
  | { kind: 'vf'; pf: number; add: boolean }
  | { kind: 'vf-netdev'; pf: number; vf: number }
  | { kind: 'port'; pf: number; up: boolean }
  | { kind: 'driver'; pf: number; vf: number }
  | { kind: 'retrain'; pf: number; width: number }
  | { kind: 'counter'; pf: number; value: bigint }
  | { kind: 'unreadable'; pf: number; attr: number }
  | { kind: 'garbage'; pf: number; attr: number };

/** Runtime attributes of a rail (relative to its PF, netdev and RDMA port). */
function runtimeAttrs(host: FixtureHost, k: number): string[] {
  const port = `class/infiniband/${RDMA[k]}/ports/1`;
  const nd = `${host.devPath(PFS[k]!)}/net/${NETDEV[k]}`;
  return [
    `${nd}/operstate`,
    `${nd}/mtu`,
    `${nd}/speed`,
    `${nd}/carrier`,
    `${port}/state`,
    `${port}/rate`,
    `${port}/counters/port_rcv_data`,
    `${port}/hw_counters/out_of_buffer`,
    `${host.devPath(PFS[k]!)}/current_link_width`,
    'kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages',
  ];
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('vf' as const), pf: fc.nat(1), add: fc.boolean() }),
  fc.record({ kind: fc.constant('vf-netdev' as const), pf: fc.nat(1), vf: fc.nat(MAX_VFS - 1) }),
  fc.record({ kind: fc.constant('port' as const), pf: fc.nat(1), up: fc.boolean() }),
  fc.record({ kind: fc.constant('driver' as const), pf: fc.nat(1), vf: fc.nat(MAX_VFS - 1) }),
  fc.record({ kind: fc.constant('retrain' as const), pf: fc.nat(1), width: fc.constantFrom(4, 8, 16) }),
  fc.record({ kind: fc.constant('counter' as const), pf: fc.nat(1), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ kind: fc.constant('unreadable' as const), pf: fc.nat(1), attr: fc.nat(9) }),
  fc.record({ kind: fc.constant('garbage' as const), pf: fc.nat(1), attr: fc.nat(9) }),
);

/** The VFs each PF has now (sriov_numvfs), tracked as the mutations run. */
function apply(host: FixtureHost, vfs: number[], m: Mutation): void {
  const pf = PFS[m.pf]!;
  const sys = (rel: string) => join(host.sys, rel);
  // writes a value even where an earlier mutation left a directory
  const put = (rel: string, value: string) => {
    rmSync(sys(rel), { recursive: true, force: true });
    host.write(rel, value);
  };
  switch (m.kind) {
    case 'vf': {
      const n = vfs[m.pf]!;
      if (m.add && n < MAX_VFS) {
        host.addVf(pf, n, { netdev: `${NETDEV[m.pf]}v${n}` });
        vfs[m.pf] = n + 1;
      } else if (!m.add && n > 0) {
        host.removeVf(pf, n - 1);
        vfs[m.pf] = n - 1;
      }
      put(`${host.devPath(pf)}/sriov_numvfs`, String(vfs[m.pf]));
      return;
    }
    case 'vf-netdev': {
      if (m.vf >= vfs[m.pf]!) return;
      const vf = host.vfAddress(pf, m.vf);
      const name = `${NETDEV[m.pf]}v${m.vf}`;
      if (host.moveVfNetdevToPod(vf) === undefined) host.addNetdev(vf, { name, speed: '400000', mtu: 1500 });
      return;
    }
    case 'port':
      put(`class/infiniband/${RDMA[m.pf]}/ports/1/state`, m.up ? '4: ACTIVE' : '1: DOWN');
      put(`class/infiniband/${RDMA[m.pf]}/ports/1/phys_state`, m.up ? '5: LinkUp' : '3: Disabled');
      return;
    case 'driver': {
      if (m.vf >= vfs[m.pf]!) return;
      const vf = host.vfAddress(pf, m.vf);
      const bound = isLink(sys(`${host.devPath(vf)}/driver`));
      host.bindDriver(vf, bound ? null : 'vfio-pci');
      return;
    }
    case 'retrain':
      put(`${host.devPath(pf)}/current_link_width`, String(m.width));
      return;
    case 'counter':
      put(`class/infiniband/${RDMA[m.pf]}/ports/1/counters/port_xmit_data`, String(m.value));
      return;
    case 'unreadable': {
      const rel = runtimeAttrs(host, m.pf)[m.attr]!;
      rmSync(sys(rel), { recursive: true, force: true });
      mkdirSync(sys(rel), { recursive: true });
      return;
    }
    case 'garbage': {
      const rel = runtimeAttrs(host, m.pf)[m.attr]!;
      rmSync(sys(rel), { recursive: true, force: true });
      host.write(rel, 'garbage\u0000\u00ff');
      return;
    }
  }
}

function isLink(path: string): boolean {
  try {
    readlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

function comparable(s: NodeSnapshot): unknown {
  return JSON.parse(snapshotToJson({ ...s, durationMs: 0 }));
}

test('cheap rescan == full scan after every mutation, issues included', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 10 }), (corruptFixed, mutations) => {
      const host = buildDgxHost({ rails: 2, vfsPerPf: MAX_VFS - 1, vfNetdevsInHost: 2 });
      try {
        if (corruptFixed) host.replace(`${host.devPath(PFS[0]!)}/numa_node`, 'zero');
        const opts = { sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} }, now: () => 0 };
        const vfs = [MAX_VFS - 1, MAX_VFS - 1];
        let prev = runScan(opts);
        for (const m of mutations) {
          apply(host, vfs, m);
          const cheap = rescanNode(prev, opts);
          const full = runScan(opts);
          assert.deepEqual(comparable(cheap.snapshot), comparable(full.snapshot), `after ${JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))} (${cheap.mode}${cheap.reason ? `: ${cheap.reason}` : ''})`);
          prev = cheap;
        }
      } finally {
        host.cleanup();
      }
    }),
    { numRuns: 40 },
  );
});

test('an unchanged host rescans cheaply, and a structural change falls back to a full scan', () => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 2 });
  try {
    const opts = { sysfsRoot: host.sys, procfsRoot: host.proc, config: { rails: {} }, now: () => 0 };
    const first = runScan(opts);
    const again = rescanNode(first, opts);
    assert.deepEqual([again.mode, comparable(again.snapshot)], ['cheap', comparable(first.snapshot)]);
    host.removeVf(PFS[1]!, 1);
    host.replace(`${host.devPath(PFS[1]!)}/sriov_numvfs`, '1');
    assert.deepEqual([rescanNode(again, opts).mode, rescanNode(again, opts).reason], ['full', 'PCI functions changed']);
  } finally {
    host.cleanup();
  }
});
