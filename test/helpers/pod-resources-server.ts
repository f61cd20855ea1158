// A real gRPC server speaking the kubelet PodResources v1 API on a unix socket in a
// temporary directory, with scripted behaviour per method, for client tests.

import { access, link, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServiceDefinition, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadPodResourcesDefinition } from '../../agent/allocation/proto.ts';
import type {
  AllocatableResourcesResponseMessage,
  ListPodResourcesResponseMessage,
  PodResourcesListerDefinition,
} from '../../agent/allocation/proto.ts';

/**
 * ok: answer from the current data. slow: answer after delayMs (the test's client deadline
 * should be shorter). fail: answer with a gRPC status. unimplemented: answer UNIMPLEMENTED.
 * garbage: answer bytes that are not a valid protobuf message.
 */
export type MethodBehaviour =
  | { kind: 'ok' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'fail'; code: status; details?: string }
  | { kind: 'unimplemented' }
  | { kind: 'garbage' };

export interface PodResourcesServerData {
  list: ListPodResourcesResponseMessage;
  allocatable: AllocatableResourcesResponseMessage;
}

export interface PodResourcesServerOptions {
  data?: PodResourcesServerData;
  /** Serve without GetAllocatableResources at all, like a kubelet older than 1.21. */
  omitAllocatable?: boolean;
}

export interface PodResourcesTestServer {
  readonly socketPath: string;
  /** Calls received per method name since start. */
  readonly calls: Record<'List' | 'GetAllocatableResources', number>;
  data: PodResourcesServerData;
  behaviour: { list: MethodBehaviour; allocatable: MethodBehaviour };
  /**
   * Stops serving at once (in-flight calls are cancelled). The socket file goes away, unless
   * leaveStaleSocket, which leaves it behind as a crashed kubelet does (connections are refused).
   */
  stop(opts?: { leaveStaleSocket?: boolean }): Promise<void>;
  /** Serves again on the same path (removing a stale socket first). */
  restart(): Promise<void>;
  /** Stops and removes the temporary directory. */
  close(): Promise<void>;
}

const emptyData: PodResourcesServerData = { list: { podResources: [] }, allocatable: { devices: [] } };

export async function startPodResourcesServer(opts: PodResourcesServerOptions = {}): Promise<PodResourcesTestServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'railwatch-podres-'));
  const socketPath = path.join(dir, 'kubelet.sock');
  const definition = loadPodResourcesDefinition();
  const service = serviceDefinition(definition, opts.omitAllocatable ?? false);
  const pending = new Set<NodeJS.Timeout>();
  let server: Server | undefined;
  let closed = false;

  const state: PodResourcesTestServer = {
    socketPath,
    calls: { List: 0, GetAllocatableResources: 0 },
    data: opts.data ?? emptyData,
    behaviour: { list: { kind: 'ok' }, allocatable: { kind: 'ok' } },
    stop,
    restart,
    close,
  };

  function handler(method: 'List' | 'GetAllocatableResources') {
    return (call: ServerUnaryCall<object, unknown>, callback: sendUnaryData<unknown>): void => {
      state.calls[method] += 1;
      const behaviour = method === 'List' ? state.behaviour.list : state.behaviour.allocatable;
      const answer = (): unknown => (method === 'List' ? state.data.list : state.data.allocatable);
      switch (behaviour.kind) {
        case 'ok':
          callback(null, answer());
          return;
        case 'slow': {
          const timer = setTimeout(() => {
            pending.delete(timer);
            callback(null, answer());
          }, behaviour.delayMs);
          pending.add(timer);
          call.on('cancelled', () => {
            clearTimeout(timer);
            pending.delete(timer);
          });
          return;
        }
        case 'fail':
          callback({ code: behaviour.code, details: behaviour.details ?? 'scripted failure' });
          return;
        case 'unimplemented':
          callback({ code: status.UNIMPLEMENTED, details: `unknown method ${method} for service v1.PodResourcesLister` });
          return;
        case 'garbage':
          callback(null, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
          return;
      }
    };
  }

  const implementation: UntypedServiceImplementation = { List: handler('List') };
  if (!(opts.omitAllocatable ?? false)) implementation['GetAllocatableResources'] = handler('GetAllocatableResources');

  async function listen(): Promise<void> {
    const next = new Server();
    next.addService(service, implementation);
    await new Promise<void>((resolve, reject) => {
      next.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err === null ? resolve() : reject(err)));
    });
    server = next;
  }

  async function stop(stopOpts: { leaveStaleSocket?: boolean } = {}): Promise<void> {
    for (const timer of pending) clearTimeout(timer);
    pending.clear();
    const current = server;
    server = undefined;
    if (current === undefined) return;
    const stale = `${socketPath}.stale`;
    // Closing a listening unix socket unlinks its path; a second hard link keeps the inode,
    // which is then a socket file nobody listens on, as after a kubelet crash.
    if (stopOpts.leaveStaleSocket ?? false) await link(socketPath, stale);
    current.forceShutdown();
    if (stopOpts.leaveStaleSocket ?? false) {
      await waitUntilGone(socketPath);
      await rename(stale, socketPath);
    }
  }

  async function restart(): Promise<void> {
    if (closed) throw new Error('pod-resources test server is closed');
    await stop();
    await rm(socketPath, { force: true });
    await listen();
  }

  async function close(): Promise<void> {
    closed = true;
    await stop();
    await rm(dir, { recursive: true, force: true });
  }

  await listen();
  return state;
}

/** The listener unlinks its path when its handle closes, which may be a tick after forceShutdown. */
async function waitUntilGone(file: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    try {
      await access(file);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${file} still exists after the server stopped`);
}

/**
 * The service as the kubelet registers it; the response serializers pass raw buffers
 * through so that 'garbage' can send invalid bytes.
 */
function serviceDefinition(definition: PodResourcesListerDefinition, omitAllocatable: boolean): ServiceDefinition {
  const passRaw = <T>(serialize: (value: T) => Buffer) => (value: T): Buffer =>
    Buffer.isBuffer(value) ? value : serialize(value);
  const list = { ...definition.List, responseSerialize: passRaw(definition.List.responseSerialize) };
  if (omitAllocatable) return { List: list, Get: definition.Get };
  const allocatable = {
    ...definition.GetAllocatableResources,
    responseSerialize: passRaw(definition.GetAllocatableResources.responseSerialize),
  };
  return { List: list, GetAllocatableResources: allocatable, Get: definition.Get };
}
