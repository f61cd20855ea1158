// Loads the kubelet PodResources v1 service definition and describes the decoded
// messages. Field names are the proto names in camelCase (proto-loader keepCase: false).

import path from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';

/** podresources-v1.proto sits next to this module: in agent/allocation/, and in dist/ beside the bundle's chunks. */
export function podResourcesProtoPath(): string {
  return path.join(import.meta.dirname, 'podresources-v1.proto');
}

/** v1.TopologyInfo */
export interface TopologyInfoMessage {
  nodes?: { ID?: string }[];
}

/** v1.ContainerDevices */
export interface ContainerDevicesMessage {
  resourceName?: string;
  deviceIds?: string[];
  topology?: TopologyInfoMessage | null;
}

/** v1.ContainerMemory (uint64 size decoded as a decimal string) */
export interface ContainerMemoryMessage {
  memoryType?: string;
  size?: string;
  topology?: TopologyInfoMessage | null;
}

/** v1.ContainerResources (int64 cpu ids decoded as decimal strings) */
export interface ContainerResourcesMessage {
  name?: string;
  devices?: ContainerDevicesMessage[];
  cpuIds?: string[];
  memory?: ContainerMemoryMessage[];
  dynamicResources?: unknown[];
}

/** v1.PodResources */
export interface PodResourcesMessage {
  name?: string;
  namespace?: string;
  containers?: ContainerResourcesMessage[];
}

/** v1.ListPodResourcesResponse */
export interface ListPodResourcesResponseMessage {
  podResources?: PodResourcesMessage[];
}

/** v1.AllocatableResourcesResponse */
export interface AllocatableResourcesResponseMessage {
  devices?: ContainerDevicesMessage[];
  cpuIds?: string[];
  memory?: ContainerMemoryMessage[];
}

/** The methods of v1.PodResourcesLister that railwatch calls (or serves in tests). */
export interface PodResourcesListerDefinition {
  List: MethodDefinition<object, ListPodResourcesResponseMessage>;
  GetAllocatableResources: MethodDefinition<object, AllocatableResourcesResponseMessage>;
  Get: MethodDefinition<object, object>;
}

export const podResourcesServiceName = 'v1.PodResourcesLister';

/**
 * Parses the .proto file (a few milliseconds; do it once per client). Throws with the
 * path in the message when the file is missing, e.g. a build that did not copy it.
 */
export function loadPodResourcesDefinition(protoPath: string = podResourcesProtoPath()): PodResourcesListerDefinition {
  let packageDefinition;
  try {
    packageDefinition = loadSync(protoPath, {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      arrays: true,
      oneofs: true,
    });
  } catch (err) {
    throw new Error(`cannot load the kubelet pod-resources proto from ${protoPath}`, { cause: err });
  }
  const service = packageDefinition[podResourcesServiceName] as ServiceDefinition | undefined;
  const list = service?.['List'];
  const allocatable = service?.['GetAllocatableResources'];
  const get = service?.['Get'];
  if (list === undefined || allocatable === undefined || get === undefined) {
    throw new Error(`${protoPath} does not define ${podResourcesServiceName} with List, GetAllocatableResources and Get`);
  }
  return {
    List: list,
    GetAllocatableResources: allocatable,
    Get: get,
  };
}
