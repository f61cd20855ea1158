// Client for the kubelet PodResources v1 API (List and GetAllocatableResources) over its
// unix socket, and the pure mapping from its messages to device allocations.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { silentLogger } from '../log.ts';
import type { Logger } from '../log.ts';
import { compareText } from '../parse/values.ts';
import { loadPodResourcesDefinition } from './proto.ts';
import type {
  AllocatableResourcesResponseMessage,
  ContainerDevicesMessage,
  ListPodResourcesResponseMessage,
} from './proto.ts';

/** One device the kubelet assigned to one container. Ids are kept verbatim. */
export interface DeviceAllocation {
  resourceName: string;
  deviceId: string;
  pod: string;
  namespace: string;
  container: string;
}

/** The devices the kubelet can hand out for one extended resource. */
export interface AllocatableResource {
  resourceName: string;
  deviceIds: string[];
}

/**
 * One read of the kubelet's view. Sorted for stable output: allocations by resource, device,
 * namespace, pod, container; allocatable by resource with sorted unique ids. A device can be
 * listed for more than one container of a pod (the kubelet reuses init container devices),
 * so count distinct device ids, not entries. `allocatable` is empty when the kubelet does
 * not implement GetAllocatableResources (before Kubernetes 1.21, or gated off in 1.21/1.22).
 */
export interface AllocationState {
  allocations: DeviceAllocation[];
  allocatable: AllocatableResource[];
  fetchedAtMs: number;
}

/**
 * socket-absent: nothing (or not a socket) at the socket path, e.g. no kubelet or the host path is not mounted.
 * unavailable: the socket is there but the kubelet does not answer (down, restarting, rate limited).
 * timeout: no answer within the deadline.
 * protocol: the kubelet answered with an error or with something that is not a valid response.
 */
export type PodResourcesFailure = 'socket-absent' | 'unavailable' | 'timeout' | 'protocol';

export class PodResourcesError extends Error {
  readonly reason: PodResourcesFailure;
  /** The gRPC status code, when the failure came from a call. */
  readonly grpcCode: number | undefined;

  constructor(reason: PodResourcesFailure, message: string, options?: { cause?: unknown; grpcCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PodResourcesError';
    this.reason = reason;
    this.grpcCode = options?.grpcCode;
  }
}

export interface PodResourcesClientOptions {
  /** Path of the kubelet socket, e.g. /var/lib/kubelet/pod-resources/kubelet.sock. */
  socketPath: string;
  /** Deadline of one fetch (both calls run concurrently under it). Default 3000. */
  timeoutMs?: number;
  log?: Logger;
}

export interface PodResourcesClient {
  /** Reads allocations and allocatable devices; rejects with a PodResourcesError. */
  fetch(): Promise<AllocationState>;
  /** Closes the gRPC channel; later fetches reject. */
  close(): void;
}

export const defaultPodResourcesTimeoutMs = 3000;

/** The kubelet's own pod-resources clients accept messages up to 16 MiB (List on a busy node is large). */
const maxMessageBytes = 16 * 1024 * 1024;

export function createPodResourcesClient(opts: PodResourcesClientOptions): PodResourcesClient {
  const socketPath = path.resolve(opts.socketPath);
  const timeoutMs = opts.timeoutMs ?? defaultPodResourcesTimeoutMs;
  const log = opts.log ?? silentLogger;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`pod-resources timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  const definition = loadPodResourcesDefinition();
  let client: Client | undefined;
  let closed = false;
  let allocatableUnsupportedLogged = false;

  function channel(): Client {
    if (client === undefined) {
      client = new Client(`unix://${socketPath}`, credentials.createInsecure(), {
        'grpc.max_receive_message_length': maxMessageBytes,
      });
    }
    return client;
  }

  /**
   * Drops the channel after a transport failure (kubelet down or restarting, socket replaced)
   * so the next fetch connects afresh instead of waiting out the channel's reconnect backoff.
   */
  function discard(failed: Client): void {
    if (client === failed) client = undefined;
    failed.close();
  }

  async function fetch(): Promise<AllocationState> {
    if (closed) throw new PodResourcesError('unavailable', 'pod-resources client is closed');
    await checkSocket(socketPath);
    if (closed) throw new PodResourcesError('unavailable', 'pod-resources client is closed');
    const current = channel();
    const deadline = Date.now() + timeoutMs;
    const [list, allocatable] = await Promise.allSettled([
      unary(current, definition.List, deadline),
      unary(current, definition.GetAllocatableResources, deadline),
    ]);
    if (list.status === 'rejected') {
      throw fail(current, 'List', list.reason);
    }
    let allocatableDevices: ContainerDevicesMessage[] = [];
    if (allocatable.status === 'fulfilled') {
      allocatableDevices = allocatable.value.devices ?? [];
    } else if (isUnimplemented(allocatable.reason)) {
      if (!allocatableUnsupportedLogged) {
        allocatableUnsupportedLogged = true;
        log.info('kubelet does not serve GetAllocatableResources; allocatable devices unknown', {
          socket: socketPath,
          grpcCode: allocatable.reason.code,
          details: allocatable.reason.details,
        });
      }
    } else {
      throw fail(current, 'GetAllocatableResources', allocatable.reason);
    }
    const skipped: SkippedCount = { entries: 0 };
    const state: AllocationState = {
      allocations: toDeviceAllocations(list.value, skipped),
      allocatable: toAllocatableResources({ devices: allocatableDevices }, skipped),
      fetchedAtMs: Date.now(),
    };
    if (skipped.entries > 0) {
      log.warn('skipped pod-resources device entries without a resource name or device id', {
        socket: socketPath,
        skipped: skipped.entries,
      });
    }
    return state;
  }

  function fail(current: Client, method: string, reason: unknown): PodResourcesError {
    const error = toPodResourcesError(method, reason);
    if (error.reason !== 'protocol') discard(current);
    log.debug('pod-resources call failed', { socket: socketPath, method, reason: error.reason, grpcCode: error.grpcCode });
    return error;
  }

  function close(): void {
    closed = true;
    if (client !== undefined) discard(client);
  }

  return { fetch, close };
}

async function checkSocket(socketPath: string): Promise<void> {
  let info;
  try {
    info = await stat(socketPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PodResourcesError('socket-absent', `kubelet pod-resources socket ${socketPath} does not exist`, { cause: err });
    }
    throw new PodResourcesError('unavailable', `cannot stat kubelet pod-resources socket ${socketPath}: ${code ?? String(err)}`, { cause: err });
  }
  if (!info.isSocket()) {
    // A hostPath volume of the wrong type creates a directory or file in the socket's place.
    throw new PodResourcesError('socket-absent', `kubelet pod-resources socket ${socketPath} exists but is not a socket`);
  }
}

function unary<Res>(client: Client, method: MethodDefinition<object, Res>, deadline: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      {},
      new Metadata(),
      { deadline },
      (err, value) => {
        if (err !== null) reject(err);
        else if (value === undefined) reject(new Error(`${method.path} returned no message`));
        else resolve(value);
      },
    );
  });
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/**
 * Kubelets before 1.21 do not have the method (UNIMPLEMENTED). Kubelets 1.21 and 1.22 with the
 * KubeletPodResourcesGetAllocatable gate off answer a plain Go error, which gRPC sends as
 * UNKNOWN with "PodResources API GetAllocatableResources disabled".
 */
function isUnimplemented(err: unknown): err is ServiceError {
  if (!isServiceError(err)) return false;
  if (err.code === status.UNIMPLEMENTED) return true;
  return err.code === status.UNKNOWN && /GetAllocatableResources disabled/i.test(err.details);
}

/** Maps a failed call to a failure reason. */
export function toPodResourcesError(method: string, err: unknown): PodResourcesError {
  if (!isServiceError(err)) {
    return new PodResourcesError('protocol', `kubelet pod-resources ${method} failed: ${String(err)}`, { cause: err });
  }
  const message = `kubelet pod-resources ${method} failed: ${status[err.code] ?? err.code} ${err.details}`;
  const options = { cause: err, grpcCode: err.code };
  switch (err.code) {
    case status.DEADLINE_EXCEEDED:
      return new PodResourcesError('timeout', message, options);
    case status.UNAVAILABLE:
    case status.CANCELLED:
    // The kubelet rate-limits this API (pod-resources QPS); retrying on the next poll is right.
    case status.RESOURCE_EXHAUSTED:
      return new PodResourcesError('unavailable', message, options);
    default:
      return new PodResourcesError('protocol', message, options);
  }
}

export interface SkippedCount {
  entries: number;
}

function compareAllocations(a: DeviceAllocation, b: DeviceAllocation): number {
  return (
    compareText(a.resourceName, b.resourceName) ||
    compareText(a.deviceId, b.deviceId) ||
    compareText(a.namespace, b.namespace) ||
    compareText(a.pod, b.pod) ||
    compareText(a.container, b.container)
  );
}

/** Flattens a List response into one entry per (container, device id). Entries without a resource name or id are skipped and counted. */
export function toDeviceAllocations(response: ListPodResourcesResponseMessage, skipped: SkippedCount = { entries: 0 }): DeviceAllocation[] {
  const allocations: DeviceAllocation[] = [];
  for (const pod of response.podResources ?? []) {
    for (const container of pod.containers ?? []) {
      for (const devices of container.devices ?? []) {
        const resourceName = devices.resourceName ?? '';
        for (const deviceId of devices.deviceIds ?? []) {
          if (resourceName === '' || deviceId === '') {
            skipped.entries += 1;
            continue;
          }
          allocations.push({
            resourceName,
            deviceId,
            pod: pod.name ?? '',
            namespace: pod.namespace ?? '',
            container: container.name ?? '',
          });
        }
      }
    }
  }
  return allocations.sort(compareAllocations);
}

/** Merges an AllocatableResources response by resource name (the kubelet sends one entry per device and NUMA node). */
export function toAllocatableResources(
  response: AllocatableResourcesResponseMessage,
  skipped: SkippedCount = { entries: 0 },
): AllocatableResource[] {
  const byResource = new Map<string, Set<string>>();
  for (const devices of response.devices ?? []) {
    const resourceName = devices.resourceName ?? '';
    for (const deviceId of devices.deviceIds ?? []) {
      if (resourceName === '' || deviceId === '') {
        skipped.entries += 1;
        continue;
      }
      let ids = byResource.get(resourceName);
      if (ids === undefined) {
        ids = new Set();
        byResource.set(resourceName, ids);
      }
      ids.add(deviceId);
    }
  }
  return [...byResource.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([resourceName, ids]) => ({ resourceName, deviceIds: [...ids].sort(compareText) }));
}
