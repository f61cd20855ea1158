// The whole detection pipeline once per mode, on the real kernel: a fixture host served by `railwatch serve`
// (startAgent) with /metrics, a pod-resources server reporting no allocations and the Kubernetes sync on the fake API
// server; a VF netdev leaves the fixture host while a real veth peer moves into a network namespace. Asserts that
// the gauge, the RdmaNetworkReady condition and the VFsDisappeared event all arrive, with their content; the limits
// are hang guards, not timing assertions (bench/detect-e2e.ts measures the latency).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kernelSkipReason, measureEndToEnd, type E2eResult } from '../../bench/detect-e2e.ts';
import { memoryLogger } from '../../agent/log.ts';

const skip = kernelSkipReason();

/** What one run must show, with latencies reduced to arrived / missed. */
function observed(res: E2eResult) {
  return res.runs.map((r) => ({
    vf: r.vf,
    vfNetdevs: r.vfNetdevs,
    arrived: { metrics: Number.isFinite(r.latency.metricsMs), condition: Number.isFinite(r.latency.conditionMs), event: Number.isFinite(r.latency.eventMs) },
    condition: r.condition,
    event: r.event,
    scanTriggers: Object.keys(r.scans).sort(),
  }));
}

const CONDITION = {
  status: 'False',
  reason: 'VfNetdevsVisible',
  message:
    'VF netdevs visible unless allocated to pods: 1 VF netdevs missing from /sys/class/net and not allocated to any pod ' +
    '(128 VFs: 127 netdevs in the host namespace, 0 allocated to pods, 0 on user-space drivers)',
};

const EVENT = {
  method: 'POST',
  reason: 'VFsDisappeared',
  type: 'Warning',
  note: 'PF ens1f0np0 (0000:16:00.0), rail 0: 1 VF netdevs left the host namespace (not allocated to a pod): 0000:16:00.2 (ens1f0np0v0)',
};

async function runOnce(
  mode: 'netlink' | 'interval',
  intervalMs: number,
  guardMs: number,
  t: { diagnostic(msg: string): void },
): Promise<E2eResult> {
  const log = memoryLogger();
  try {
    // hideUdevadm: the rtnetlink monitor is the only trigger (else the uevent monitor may win the race)
    const prefix = `rwt${process.pid % 100000}`;
    return await measureEndToEnd({ mode, hideUdevadm: true, intervalMs, runs: 1, guardMs, randomPhase: false, prefix, log });
  } catch (err) {
    for (const l of log.lines.filter((x) => x.level !== 'debug').slice(-30)) t.diagnostic(JSON.stringify(l));
    throw err;
  }
}

describe('detection end to end (real kernel)', { skip: skip === undefined ? false : skip, concurrency: 1 }, () => {
  // the netlink case: the scan that saw it was woken by the rtnetlink monitor, not the 10 s interval
  const cases = [
    { name: 'netlink trigger (no udevadm): metrics, condition and event arrive (10 s interval, 5 s guard)', mode: 'netlink', intervalMs: 10_000, guardMs: 5000 },
    { name: 'interval only: metrics, condition and event arrive (2 s interval, 15 s guard)', mode: 'interval', intervalMs: 2000, guardMs: 15_000 },
  ] as const;
  for (const c of cases) {
    test(c.name, async (t) => {
      const res = await runOnce(c.mode, c.intervalMs, c.guardMs, t);
      t.diagnostic(`latency ${JSON.stringify(res.runs[0]?.latency)}`);
      assert.deepEqual(observed(res), [
        {
          vf: '0000:16:00.2',
          vfNetdevs: { before: 16, after: 15 },
          arrived: { metrics: true, condition: true, event: true },
          condition: CONDITION,
          event: EVENT,
          scanTriggers: [c.mode],
        },
      ]);
    });
  }
});
