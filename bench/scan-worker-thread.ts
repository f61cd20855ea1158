// The scan worker thread (see scan-worker.ts): runs full scans and cheap rescans off the main event loop and keeps the
// latest complete scan's records itself, so only the snapshot crosses to the main thread.
import { parentPort } from 'node:worker_threads';
import type { Scan, ScanOptions } from '../agent/scan/registry.ts';
import { fullScan, rescanNode } from '../agent/scan/rescan.ts';

export interface ScanRequest {
  id: number;
  /** A reason forces a full scan; otherwise the cheap rescan (which falls back to a full scan when it must). */
  full?: string;
  opts: Omit<ScanOptions, 'scanners' | 'now'>;
}

let last: Scan | undefined;

parentPort?.on('message', (req: ScanRequest) => {
  try {
    const res = req.full !== undefined ? fullScan(req.opts, req.full) : rescanNode(last, req.opts);
    if (res.snapshot.failedScanners.length === 0) last = res;
    parentPort?.postMessage({ id: req.id, snapshot: res.snapshot, mode: res.mode, reason: res.reason });
  } catch (err) {
    parentPort?.postMessage({ id: req.id, error: (err as Error).message });
  }
});
