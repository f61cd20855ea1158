// GPU <-> rail NIC pairs for the GPU-stack checks: each GPU's closest rail NIC and the PCIe bridges that
// peer-to-peer traffic between them crosses. Pure functions of the snapshot.
import type { Gpu, NodeSnapshot, PcieDistance, Pf, Rail } from '../model.ts';
import { distanceRank, pcieDistance, type PciPosition } from '../topology/rails.ts';

export interface GpuRailPair {
  gpu: Gpu;
  rail: Rail;
  pf: Pf;
  distance: PcieDistance;
  /** Bridges between the two functions below their common ancestor (both sides), the path P2P traffic takes. */
  bridges: string[];
}

export function positionOf(snapshot: NodeSnapshot, pci: string): PciPosition | undefined {
  const fn = snapshot.pci.find((f) => f.address === pci);
  if (!fn) return undefined;
  const pos: PciPosition = { upstream: fn.upstream };
  if (fn.hostBridge !== undefined) pos.hostBridge = fn.hostBridge;
  if (fn.numaNode !== undefined) pos.numaNode = fn.numaNode;
  return pos;
}

/** Bridges below the deepest common ancestor of `a` and `b`; all of both chains when they share none. */
export function bridgesBetween(a: PciPosition, b: PciPosition): string[] {
  let common = 0;
  if (a.hostBridge !== undefined && a.hostBridge === b.hostBridge) {
    while (common < a.upstream.length && common < b.upstream.length && a.upstream[common] === b.upstream[common]) common++;
  }
  const out = [...a.upstream.slice(common), ...b.upstream.slice(common)];
  return [...new Set(out)];
}

/** For every GPU, the rail NIC closest to it (ties: the rail assigned to that GPU, then the lower rail number). */
export function gpuRailPairs(snapshot: NodeSnapshot): GpuRailPair[] {
  const out: GpuRailPair[] = [];
  const pfs = new Map(snapshot.pfs.map((p) => [p.pci, p]));
  for (const gpu of snapshot.gpus) {
    let best: GpuRailPair | undefined;
    for (const rail of snapshot.rails) {
      const pf = pfs.get(rail.pf);
      const pos = positionOf(snapshot, rail.pf);
      if (!pf || !pos) continue;
      const distance = pcieDistance(gpu, pos);
      const better =
        best === undefined ||
        distanceRank(distance) < distanceRank(best.distance) ||
        (distanceRank(distance) === distanceRank(best.distance) && rail.gpu === gpu.pci && best.rail.gpu !== gpu.pci);
      if (better) best = { gpu, rail, pf, distance, bridges: bridgesBetween(gpu, pos) };
    }
    if (best) out.push(best);
  }
  return out;
}
