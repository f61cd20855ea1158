// Shared set-up for the kube tests: a fake API server, a token file, and a sync wired to both.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckReport, CheckResult } from '../../agent/checks/types.ts';
import { createKubeSync, type KubeSync, type KubeSyncOptions } from '../../agent/kube/reconciler.ts';
import { memoryLogger } from '../../agent/log.ts';
import { kubeConfigForServer, FakeApiServer, startFakeApiServer } from '../helpers/fake-apiserver.ts';

export const PREFIX = 'railwatch.io/';

export interface Harness {
  server: FakeApiServer;
  tokenFile: string;
  counters: Map<string, number>;
  log: ReturnType<typeof memoryLogger>;
  sync: KubeSync;
  /** A second sync for the same node (an agent restart). */
  newSync(extra?: Partial<KubeSyncOptions>): KubeSync;
  close(): Promise<void>;
}

export async function startHarness(extra: Partial<KubeSyncOptions> = {}, nodeName = 'node-a'): Promise<Harness> {
  const server = await startFakeApiServer({ nodes: [nodeName] });
  const dir = mkdtempSync(join(tmpdir(), 'railwatch-kube-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, server.token);
  const counters = new Map<string, number>();
  const log = memoryLogger();
  const syncs: KubeSync[] = [];
  const newSync = (more: Partial<KubeSyncOptions> = {}): KubeSync => {
    const s = createKubeSync({
      nodeName,
      labelPrefix: PREFIX,
      counters,
      log,
      mode: { kind: 'in-cluster' },
      loadConfig: () => kubeConfigForServer(server.url, tokenFile),
      backoff: { initialMs: 20, maxMs: 200 },
      random: () => 0.5,
      ...extra,
      ...more,
    });
    syncs.push(s);
    return s;
  };
  const sync = newSync();
  return {
    server,
    tokenFile,
    counters,
    log,
    sync,
    newSync,
    async close() {
      await Promise.all(syncs.map((s) => s.stop()));
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `fn()` holds, polling; fails with `what` after `limitMs` (a cap on waiting, not a timing assertion). */
export async function until(fn: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function tick(ms = 50): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A check report from results, with firstFailing and ready filled in as the checks module does. */
export function report(results: CheckResult[]): CheckReport {
  const firstFailing = results.find((r) => r.status === 'fail');
  return { results, ready: firstFailing === undefined, ...(firstFailing ? { firstFailing } : {}) };
}

/**
 * The events.k8s.io/v1 body railwatch writes for a VFsDisappeared warning about Node `node-a`, at the tests' fixed
 * clock (2025-06-01T12:00:00Z): the wire format both the writer's unit test and the API-server test expect.
 */
export function vfsDisappearedEvent(name: string, note: string, uid: string): Record<string, unknown> {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name, namespace: 'default' },
    eventTime: '2025-06-01T12:00:00.000000Z',
    reportingController: 'railwatch.io/agent',
    reportingInstance: 'node-a',
    action: 'Scan',
    reason: 'VFsDisappeared',
    note,
    type: 'Warning',
    regarding: { apiVersion: 'v1', kind: 'Node', name: 'node-a', uid },
  };
}
