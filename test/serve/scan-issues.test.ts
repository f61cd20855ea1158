// ScanIssueLog alone: every skipped attribute counts per scan and is logged once; a counter the driver reports as
// unsupported counts only when it becomes so (a failed scan does not reset that); VF netlink gaps count per read
// and are logged once; past MAX_LOGGED_ISSUES distinct issues only the counters grow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryLogger } from '../../agent/log.ts';
import type { ScanIssue } from '../../agent/model.ts';
import { UNSUPPORTED } from '../../agent/scan/infiniband.ts';
import { MAX_LOGGED_ISSUES, ScanIssueLog } from '../../agent/serve/scan-issues.ts';

const PARSE: ScanIssue = { scanner: 'infiniband', path: 'class/infiniband/mlx5_0/ports/1/counters/port_rcv_errors', code: 'PARSE', detail: 'garbage' };
const NO_PMA: ScanIssue = { scanner: 'infiniband', path: 'class/infiniband/mlx5_0/ports/1/counters/symbol_error', code: UNSUPPORTED, detail: 'N/A (no PMA)' };
const ENOENT: ScanIssue = { scanner: 'pci', path: 'bus/pci/devices/0000:3b:00.0/numa_node', code: 'ENOENT' };

function setup() {
  const errors = new Map<string, number>();
  const log = memoryLogger();
  const warned = (msg: string) => log.lines.filter((l) => l.level === 'warn' && l.msg === msg).map((l) => l.meta);
  return { errors, log, issues: new ScanIssueLog(errors, log), warned };
}

test('a skipped attribute counts on every scan, by scanner, and is logged once', () => {
  const { errors, issues, warned } = setup();
  for (let i = 0; i < 3; i++) issues.recordSnapshot({ issues: [PARSE, ENOENT], failedScanners: [] });
  assert.deepEqual(Object.fromEntries(errors), { infiniband: 3, pci: 3 });
  assert.deepEqual(warned('skipped an unreadable attribute'), [
    { scanner: 'infiniband', path: PARSE.path, code: 'PARSE', detail: 'garbage' },
    { scanner: 'pci', path: ENOENT.path, code: 'ENOENT', detail: undefined },
  ]);
});

test('an unsupported counter counts when it becomes unsupported, not while it stays so', () => {
  const { errors, issues, warned } = setup();
  const count = () => errors.get('infiniband') ?? 0;
  issues.recordSnapshot({ issues: [NO_PMA], failedScanners: [] });
  issues.recordSnapshot({ issues: [NO_PMA], failedScanners: [] });
  assert.equal(count(), 1);
  // a failed scan that did not reach the counter files leaves their state as it was
  issues.recordSnapshot({ issues: [], failedScanners: ['infiniband'] });
  issues.recordSnapshot({ issues: [NO_PMA], failedScanners: [] });
  assert.equal(count(), 1, 'still unsupported after the failed scan: no new count');
  issues.recordSnapshot({ issues: [], failedScanners: [] });
  assert.equal(count(), 1, 'readable again adds nothing');
  issues.recordSnapshot({ issues: [NO_PMA], failedScanners: [] });
  assert.equal(count(), 2, 'unsupported again: one more');
  assert.equal(warned('skipped an unreadable attribute').length, 1, 'logged the first time only');
});

test('VF netlink gaps count per read as vf-netlink and are logged once per link and code', () => {
  const { errors, issues, warned } = setup();
  const reading = { issues: [{ path: 'ens1f0np0', code: 'TRUNCATED' }, { path: 'ip', code: 'TIMEOUT', detail: 'killed after 2000 ms' }] };
  issues.recordVfReading(reading);
  issues.recordVfReading(reading);
  issues.recordVfReading({ issues: [] });
  assert.deepEqual(Object.fromEntries(errors), { 'vf-netlink': 4 });
  assert.deepEqual(warned('VF netlink list incomplete'), [
    { path: 'ens1f0np0', code: 'TRUNCATED', detail: undefined },
    { path: 'ip', code: 'TIMEOUT', detail: 'killed after 2000 ms' },
  ]);
});

test(`past ${MAX_LOGGED_ISSUES} distinct issues nothing more is logged; the counters still grow`, () => {
  const { errors, issues, warned } = setup();
  const many = Array.from({ length: MAX_LOGGED_ISSUES + 20 }, (_, i): ScanIssue => ({ scanner: 'net', path: `class/net/v${i}/speed`, code: 'EINVAL' }));
  issues.recordSnapshot({ issues: many, failedScanners: [] });
  issues.recordVfReading({ issues: [{ path: 'ens1f0np0', code: 'TRUNCATED' }] });
  assert.equal(errors.get('net'), MAX_LOGGED_ISSUES + 20);
  assert.equal(warned('skipped an unreadable attribute').length, MAX_LOGGED_ISSUES);
  assert.equal(warned('VF netlink list incomplete').length, 1, 'the VF netlink issues have a cap of their own');
});
