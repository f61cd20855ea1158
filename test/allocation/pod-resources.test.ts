import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { logVerbosity, setLogVerbosity, status } from '@grpc/grpc-js';
import {
  createPodResourcesClient,
  PodResourcesError,
  toAllocatableResources,
  toDeviceAllocations,
} from '../../agent/allocation/pod-resources.ts';
import type { AllocationState, PodResourcesClient, PodResourcesFailure } from '../../agent/allocation/pod-resources.ts';
import { pciFromDeviceId } from '../../agent/topology/vf-owners.ts';
import { memoryLogger } from '../../agent/log.ts';
import { startPodResourcesServer } from '../helpers/pod-resources-server.ts';
import type { PodResourcesServerData, PodResourcesServerOptions, PodResourcesTestServer } from '../helpers/pod-resources-server.ts';

setLogVerbosity(logVerbosity.NONE);

const rail0 = 'nvidia.com/rail0_vfs';
const hca = 'rdma/hca_shared';
const numa0 = { nodes: [{ ID: '0' }] };
const numa1 = { nodes: [{ ID: '1' }] };

/** A node with two training pods on rail 0 VFs and the shared HCA, a web pod without devices and a pod on another namespace. */
const nodeData: PodResourcesServerData = {
  list: {
    podResources: [
      {
        name: 'trainer-1',
        namespace: 'ml',
        containers: [
          { name: 'init-net', devices: [{ resourceName: rail0, deviceIds: ['0000:3b:00.3'], topology: numa0 }] },
          {
            name: 'worker',
            devices: [
              { resourceName: rail0, deviceIds: ['0000:3b:00.4', '0000:3b:00.3'], topology: numa0 },
              { resourceName: hca, deviceIds: ['hca_shared_2'] },
            ],
            cpuIds: ['4', '5'],
            memory: [{ memoryType: 'hugepages-1Gi', size: '4294967296', topology: numa0 }],
          },
        ],
      },
      {
        name: 'trainer-0',
        namespace: 'ml',
        containers: [
          {
            name: 'worker',
            devices: [
              { resourceName: hca, deviceIds: ['hca_shared_1'] },
              { resourceName: rail0, deviceIds: ['0000:3b:00.2'], topology: numa0 },
            ],
          },
          { name: 'sidecar', cpuIds: ['7'] },
        ],
      },
      { name: 'web-7d9f', namespace: 'default', containers: [{ name: 'nginx' }] },
      {
        name: 'probe',
        namespace: 'kube-system',
        containers: [{ name: 'probe', devices: [{ resourceName: hca, deviceIds: ['hca_shared_9'], topology: numa1 }] }],
      },
    ],
  },
  allocatable: {
    // The kubelet sends one entry per device, in map order.
    devices: [
      { resourceName: rail0, deviceIds: ['0000:3b:00.5'], topology: numa0 },
      { resourceName: hca, deviceIds: ['hca_shared_9', 'hca_shared_1'] },
      { resourceName: rail0, deviceIds: ['0000:3b:00.2'], topology: numa0 },
      { resourceName: rail0, deviceIds: ['0000:3b:00.4'], topology: numa0 },
      { resourceName: hca, deviceIds: ['hca_shared_2'] },
      { resourceName: rail0, deviceIds: ['0000:3b:00.3', '0000:3b:00.2'], topology: numa0 },
    ],
    cpuIds: ['0', '1', '2', '3', '4', '5', '6', '7'],
    memory: [{ memoryType: 'memory', size: '68719476736', topology: numa0 }],
  },
};

const nodeState: Omit<AllocationState, 'fetchedAtMs'> = {
  allocations: [
    { resourceName: rail0, deviceId: '0000:3b:00.2', pod: 'trainer-0', namespace: 'ml', container: 'worker' },
    { resourceName: rail0, deviceId: '0000:3b:00.3', pod: 'trainer-1', namespace: 'ml', container: 'init-net' },
    { resourceName: rail0, deviceId: '0000:3b:00.3', pod: 'trainer-1', namespace: 'ml', container: 'worker' },
    { resourceName: rail0, deviceId: '0000:3b:00.4', pod: 'trainer-1', namespace: 'ml', container: 'worker' },
    { resourceName: hca, deviceId: 'hca_shared_1', pod: 'trainer-0', namespace: 'ml', container: 'worker' },
    { resourceName: hca, deviceId: 'hca_shared_2', pod: 'trainer-1', namespace: 'ml', container: 'worker' },
    { resourceName: hca, deviceId: 'hca_shared_9', pod: 'probe', namespace: 'kube-system', container: 'probe' },
  ],
  allocatable: [
    { resourceName: rail0, deviceIds: ['0000:3b:00.2', '0000:3b:00.3', '0000:3b:00.4', '0000:3b:00.5'] },
    { resourceName: hca, deviceIds: ['hca_shared_1', 'hca_shared_2', 'hca_shared_9'] },
  ],
};

interface Fixture {
  server: PodResourcesTestServer;
  client: PodResourcesClient;
  log: ReturnType<typeof memoryLogger>;
}

async function setup(t: TestContext, opts: PodResourcesServerOptions & { timeoutMs?: number } = {}): Promise<Fixture> {
  const server = await startPodResourcesServer({ data: nodeData, ...opts });
  const log = memoryLogger();
  const client = createPodResourcesClient({ socketPath: server.socketPath, timeoutMs: opts.timeoutMs ?? 2000, log });
  t.after(async () => {
    client.close();
    await server.close();
  });
  return { server, client, log };
}

function withoutTime(state: AllocationState): Omit<AllocationState, 'fetchedAtMs'> {
  const { fetchedAtMs, ...rest } = state;
  assert.equal(typeof fetchedAtMs, 'number');
  return rest;
}

async function assertFails(promise: Promise<unknown>, reason: PodResourcesFailure, grpcCode?: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PodResourcesError, `expected a PodResourcesError, got ${String(err)}`);
    assert.deepEqual({ name: err.name, reason: err.reason }, { name: 'PodResourcesError', reason });
    if (grpcCode !== undefined) assert.equal(err.grpcCode, grpcCode);
    return true;
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('pod-resources client against a real gRPC server', { timeout: 30_000 }, () => {
  test('maps List and GetAllocatableResources of several pods and two resources', async (t) => {
    const { client, log } = await setup(t);
    const state = await client.fetch();
    assert.deepEqual(withoutTime(state), nodeState);
    assert.deepEqual(log.lines, []);
  });

  test('reuses the connection and reflects new data on the next fetch', async (t) => {
    const { server, client } = await setup(t);
    await client.fetch();
    server.data = {
      list: { podResources: [{ name: 'solo', namespace: 'ml', containers: [{ name: 'c', devices: [{ resourceName: rail0, deviceIds: ['0000:3b:00.5'] }] }] }] },
      allocatable: { devices: [] },
    };
    assert.deepEqual(withoutTime(await client.fetch()), {
      allocations: [{ resourceName: rail0, deviceId: '0000:3b:00.5', pod: 'solo', namespace: 'ml', container: 'c' }],
      allocatable: [],
    });
    assert.deepEqual(server.calls, { List: 2, GetAllocatableResources: 2 });
  });

  test('an empty node gives empty lists', async (t) => {
    const { client } = await setup(t, { data: { list: {}, allocatable: {} } });
    assert.deepEqual(withoutTime(await client.fetch()), { allocations: [], allocatable: [] });
  });

  test('a slow List fails with timeout, and the next fetch works once the server answers', async (t) => {
    const { server, client } = await setup(t, { timeoutMs: 200 });
    server.behaviour.list = { kind: 'slow', delayMs: 20_000 };
    await assertFails(client.fetch(), 'timeout', status.DEADLINE_EXCEEDED);
    server.behaviour.list = { kind: 'ok' };
    assert.deepEqual(withoutTime(await client.fetch()), nodeState);
  });

  test('a slow GetAllocatableResources fails the fetch with timeout', async (t) => {
    const { server, client } = await setup(t, { timeoutMs: 200 });
    server.behaviour.allocatable = { kind: 'slow', delayMs: 20_000 };
    await assertFails(client.fetch(), 'timeout', status.DEADLINE_EXCEEDED);
  });

  test('a server answering UNAVAILABLE gives unavailable, then recovers', async (t) => {
    const { server, client } = await setup(t);
    server.behaviour.list = { kind: 'fail', code: status.UNAVAILABLE };
    await assertFails(client.fetch(), 'unavailable', status.UNAVAILABLE);
    server.behaviour.list = { kind: 'ok' };
    assert.deepEqual(withoutTime(await client.fetch()), nodeState);
  });

  test('a rate-limited kubelet (RESOURCE_EXHAUSTED) gives unavailable', async (t) => {
    const { server, client } = await setup(t);
    server.behaviour.list = { kind: 'fail', code: status.RESOURCE_EXHAUSTED, details: 'rate limit exceeded' };
    await assertFails(client.fetch(), 'unavailable', status.RESOURCE_EXHAUSTED);
  });

  test('INTERNAL from List or GetAllocatableResources gives protocol', async (t) => {
    const { server, client } = await setup(t);
    server.behaviour.list = { kind: 'fail', code: status.INTERNAL };
    await assertFails(client.fetch(), 'protocol', status.INTERNAL);
    server.behaviour.list = { kind: 'ok' };
    server.behaviour.allocatable = { kind: 'fail', code: status.INTERNAL };
    await assertFails(client.fetch(), 'protocol', status.INTERNAL);
    server.behaviour.allocatable = { kind: 'ok' };
    assert.deepEqual(withoutTime(await client.fetch()), nodeState);
  });

  test('UNIMPLEMENTED List gives protocol', async (t) => {
    const { server, client } = await setup(t);
    server.behaviour.list = { kind: 'unimplemented' };
    await assertFails(client.fetch(), 'protocol', status.UNIMPLEMENTED);
  });

  test('a response that is not a valid message gives protocol', async (t) => {
    const { server, client } = await setup(t);
    server.behaviour.list = { kind: 'garbage' };
    await assertFails(client.fetch(), 'protocol');
  });

  test('UNIMPLEMENTED GetAllocatableResources gives allocations with empty allocatable, logged once', async (t) => {
    const { server, client, log } = await setup(t);
    server.behaviour.allocatable = { kind: 'unimplemented' };
    const expected = { allocations: nodeState.allocations, allocatable: [] };
    assert.deepEqual(withoutTime(await client.fetch()), expected);
    assert.deepEqual(withoutTime(await client.fetch()), expected);
    assert.deepEqual(
      log.lines.map((line) => ({ level: line.level, msg: line.msg, grpcCode: line.meta?.['grpcCode'] })),
      [{ level: 'info', msg: 'kubelet does not serve GetAllocatableResources; allocatable devices unknown', grpcCode: status.UNIMPLEMENTED }],
    );
  });

  test('a kubelet without the GetAllocatableResources method (before 1.21) still gives allocations', async (t) => {
    const { client } = await setup(t, { omitAllocatable: true });
    assert.deepEqual(withoutTime(await client.fetch()), { allocations: nodeState.allocations, allocatable: [] });
  });

  test('a kubelet with GetAllocatableResources gated off (1.21, 1.22) still gives allocations', async (t) => {
    const { server, client } = await setup(t);
    server.behaviour.allocatable = { kind: 'fail', code: status.UNKNOWN, details: 'PodResources API GetAllocatableResources disabled' };
    assert.deepEqual(withoutTime(await client.fetch()), { allocations: nodeState.allocations, allocatable: [] });
  });

  test('a missing socket gives socket-absent, without a gRPC call', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'railwatch-podres-absent-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const client = createPodResourcesClient({ socketPath: path.join(dir, 'kubelet.sock'), timeoutMs: 200 });
    t.after(() => client.close());
    await assertFails(client.fetch(), 'socket-absent');
    await assertFails(
      createPodResourcesClient({ socketPath: path.join(dir, 'no-such-dir', 'kubelet.sock') }).fetch(),
      'socket-absent',
    );
  });

  test('a directory in place of the socket gives socket-absent', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'railwatch-podres-dir-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const socketPath = path.join(dir, 'kubelet.sock');
    await mkdir(socketPath);
    const client = createPodResourcesClient({ socketPath });
    t.after(() => client.close());
    await assertFails(client.fetch(), 'socket-absent');
  });

  test('a server stopped between fetches gives socket-absent, and the same client recovers after restart', async (t) => {
    const { server, client } = await setup(t);
    assert.deepEqual(withoutTime(await client.fetch()), nodeState);
    await server.stop();
    await assertFails(client.fetch(), 'socket-absent');
    await server.restart();
    assert.deepEqual(withoutTime(await client.fetch()), nodeState);
  });

  test('a crashed server leaving its socket behind gives unavailable, and the client recovers after restart', async (t) => {
    const { server, client } = await setup(t);
    assert.deepEqual(withoutTime(await client.fetch()), nodeState);
    await server.stop({ leaveStaleSocket: true });
    await assertFails(client.fetch(), 'unavailable', status.UNAVAILABLE);
    await assertFails(client.fetch(), 'unavailable', status.UNAVAILABLE);
    await server.restart();
    assert.deepEqual(withoutTime(await client.fetch()), nodeState);
  });

  test('a server killed during a call gives unavailable, and the client recovers after restart', async (t) => {
    const { server, client } = await setup(t, { timeoutMs: 20_000 });
    server.behaviour.list = { kind: 'slow', delayMs: 20_000 };
    const inFlight = assertFails(client.fetch(), 'unavailable');
    await until(() => server.calls.List === 1);
    await server.stop({ leaveStaleSocket: true });
    await inFlight;
    server.behaviour.list = { kind: 'ok' };
    await server.restart();
    assert.deepEqual(withoutTime(await client.fetch()), nodeState);
  });

  test('device entries without a resource name or id are skipped, counted and logged', async (t) => {
    const { client, log } = await setup(t, {
      data: {
        list: {
          podResources: [
            {
              name: 'p',
              namespace: 'ns',
              containers: [{ name: 'c', devices: [{ resourceName: '', deviceIds: ['0000:3b:00.2'] }, { resourceName: rail0, deviceIds: ['', '0000:3b:00.6'] }] }],
            },
          ],
        },
        allocatable: { devices: [{ resourceName: rail0, deviceIds: [''] }] },
      },
    });
    assert.deepEqual(withoutTime(await client.fetch()), {
      allocations: [{ resourceName: rail0, deviceId: '0000:3b:00.6', pod: 'p', namespace: 'ns', container: 'c' }],
      allocatable: [],
    });
    assert.deepEqual(
      log.lines.map((line) => ({ level: line.level, msg: line.msg, skipped: line.meta?.['skipped'] })),
      [{ level: 'warn', msg: 'skipped pod-resources device entries without a resource name or device id', skipped: 3 }],
    );
  });

  test('fetch after close rejects, close is idempotent', async (t) => {
    const { client } = await setup(t);
    await client.fetch();
    client.close();
    client.close();
    await assertFails(client.fetch(), 'unavailable');
  });

  test('rejects a non-positive timeout', () => {
    assert.throws(() => createPodResourcesClient({ socketPath: '/nonexistent/kubelet.sock', timeoutMs: 0 }), /timeoutMs/);
  });
});

describe('message mapping', () => {
  test('allocatable entries merge by resource with sorted unique ids', () => {
    assert.deepEqual(
      toAllocatableResources({
        devices: [
          { resourceName: 'b', deviceIds: ['2', '1'] },
          { resourceName: 'a', deviceIds: ['x'] },
          { resourceName: 'b', deviceIds: ['1', '3'], topology: null },
        ],
      }),
      [
        { resourceName: 'a', deviceIds: ['x'] },
        { resourceName: 'b', deviceIds: ['1', '2', '3'] },
      ],
    );
  });

  test('allocations keep device ids verbatim', () => {
    assert.deepEqual(
      toDeviceAllocations({
        podResources: [{ name: 'p', namespace: 'n', containers: [{ name: 'c', devices: [{ resourceName: 'r', deviceIds: ['3B:00.2', 'mlx5_core.sf.4'] }] }] }],
      }),
      [
        { resourceName: 'r', deviceId: '3B:00.2', pod: 'p', namespace: 'n', container: 'c' },
        { resourceName: 'r', deviceId: 'mlx5_core.sf.4', pod: 'p', namespace: 'n', container: 'c' },
      ],
    );
  });
});

describe('pciFromDeviceId (device ids from the kubelet)', () => {
  const cases: [string, string | undefined][] = [
    ['0000:3b:00.2', '0000:3b:00.2'],
    ['3b:00.2', '0000:3b:00.2'],
    ['0000:3B:0A.7', '0000:3b:0a.7'],
    ['3B:1f.0', '0000:3b:1f.0'],
    ['10000:e1:00.0', '10000:e1:00.0'],
    ['0001:af:00.1', '0001:af:00.1'],
    ['', undefined],
    ['hca_shared_1', undefined],
    ['mlx5_core.sf.4', undefined],
    ['0000:3b:00', undefined],
    ['0000:3b:00.8', undefined],
    ['0000:3b:20.0', undefined],
    ['000:3b:00.2', undefined],
    ['0000:3b:00.2 ', undefined],
    [' 0000:3b:00.2', undefined],
    ['0000:3g:00.2', undefined],
    ['pci-0000:3b:00.2', undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${String(expected)}`, () => {
      assert.equal(pciFromDeviceId(input), expected);
    });
  }
});
