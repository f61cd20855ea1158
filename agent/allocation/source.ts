// Where `serve` and `doctor` get the kubelet's VF allocations: the pod-resources client, created (and
// @grpc/grpc-js loaded, ~14 MiB resident) only once the kubelet socket exists. Every answer is an AllocationView:
// allocations and allocatable devices, or the reason they are unknown.
import { existsSync } from 'node:fs';
import type { Logger } from '../log.ts';
import type { AllocationView } from '../state.ts';
import type { PodResourcesClient } from './pod-resources.ts';

export interface AllocationRead {
  view: AllocationView;
  /** What went wrong, when the view carries an error. */
  err?: Error;
}

export interface AllocationSource {
  read(): Promise<AllocationRead>;
  close(): void;
}

export function createAllocationSource(opts: { socketPath: string; timeoutMs?: number; log?: Logger }): AllocationSource {
  let client: PodResourcesClient | undefined;
  return {
    async read() {
      try {
        if (client === undefined) {
          if (!existsSync(opts.socketPath)) {
            return { view: { error: 'socket-absent' }, err: new Error(`kubelet pod-resources socket ${opts.socketPath} does not exist`) };
          }
          const { createPodResourcesClient } = await import('./pod-resources.ts');
          client = createPodResourcesClient({
            socketPath: opts.socketPath,
            ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
            ...(opts.log !== undefined ? { log: opts.log } : {}),
          });
        }
        const a = await client.fetch();
        return { view: { allocations: a.allocations, allocatable: a.allocatable } };
      } catch (err) {
        const reason = (err as { reason?: unknown }).reason;
        return { view: { error: typeof reason === 'string' ? reason : 'protocol' }, err: err as Error };
      }
    },
    close() {
      client?.close();
    },
  };
}
