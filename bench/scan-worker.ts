// Scans on a worker thread (measured against the yielding scan by scan-stall.ts; the agent does not use it): the main thread only receives the snapshot (structured clone) and freezes it. One scan
// at a time (the rescan loop never overlaps scans); the worker is unref'd, so it never keeps the process alive.
import { Worker } from 'node:worker_threads';
import type { NodeSnapshot } from '../agent/model.ts';
import { deepFreeze, type ScanOptions } from '../agent/scan/registry.ts';
import type { ScanRequest } from './scan-worker-thread.ts';

export interface WorkerScanResult {
  snapshot: NodeSnapshot;
  mode: 'cheap' | 'full';
  reason?: string;
}

export interface ScanWorker {
  scan(opts: ScanRequest['opts'], full?: string): Promise<WorkerScanResult>;
  close(): Promise<void>;
}

type Reply = { id: number; snapshot: NodeSnapshot; mode: 'cheap' | 'full'; reason?: string } | { id: number; error: string };

export function createScanWorker(): ScanWorker {
  const file = new URL('./scan-worker-thread.ts', import.meta.url);
  const worker = new Worker(file);
  worker.unref();
  let seq = 0;
  const pending = new Map<number, { resolve: (r: WorkerScanResult) => void; reject: (e: Error) => void }>();
  worker.on('message', (msg: Reply) => {
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    if ('error' in msg) p.reject(new Error(msg.error));
    else p.resolve({ snapshot: deepFreeze(msg.snapshot), mode: msg.mode, ...(msg.reason !== undefined ? { reason: msg.reason } : {}) });
  });
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`scan worker exited with code ${code}`)));
  return {
    scan(opts: ScanOptions, full?: string) {
      const id = ++seq;
      const req: ScanRequest = { id, opts: { sysfsRoot: opts.sysfsRoot, procfsRoot: opts.procfsRoot, config: { rails: opts.config.rails }, ...(opts.identity ? { identity: opts.identity } : {}) } };
      if (full !== undefined) req.full = full;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage(req);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
