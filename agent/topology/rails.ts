// PCIe distances between GPUs and NICs, and rail numbering.
// Authority: the config's explicit map; else GPU affinity (the NIC closest to GPU k is rail k, GPUs by PCI
// address); else PF PCI address order. A rail is an RDMA-capable PF; a NIC without an RDMA device is not a rail.
import type { Gpu, PcieDistance, Pf, Rail, Topology } from '../model.ts';
import { comparePciAddress } from '../parse/values.ts';

export interface PciPosition {
  hostBridge?: string;
  /** Bridges from the root port down to the immediate parent. */
  upstream: readonly string[];
  numaNode?: number;
}

const RANK: Record<PcieDistance, number> = { PIX: 0, PXB: 1, PHB: 2, NODE: 3, SYS: 4 };

export function distanceRank(d: PcieDistance): number {
  return RANK[d];
}

/** Distance between two PCI functions from their positions in the PCIe tree. */
export function pcieDistance(a: PciPosition, b: PciPosition): PcieDistance {
  if (a.hostBridge === undefined || b.hostBridge === undefined || a.hostBridge !== b.hostBridge) {
    if (a.numaNode !== undefined && a.numaNode === b.numaNode) return 'NODE';
    return 'SYS';
  }
  let common = 0;
  while (common < a.upstream.length && common < b.upstream.length && a.upstream[common] === b.upstream[common]) common++;
  if (common === 0) return 'PHB';
  const hopsA = a.upstream.length - common;
  const hopsB = b.upstream.length - common;
  return hopsA <= 1 && hopsB <= 1 ? 'PIX' : 'PXB';
}

export interface NicPosition extends PciPosition {
  pci: string;
}

export function buildTopology(gpus: readonly Gpu[], nics: readonly NicPosition[]): Topology {
  return {
    gpus: gpus.map((g) => g.pci),
    nics: nics.map((n) => n.pci),
    distance: gpus.map((g) => nics.map((n) => pcieDistance(g, n))),
  };
}

export interface RailInputs {
  /** Rail candidates: RDMA-capable PFs. */
  pfs: readonly Pf[];
  gpus: readonly Gpu[];
  /** Position of each PF in the PCIe tree, by PCI address. */
  positions: ReadonlyMap<string, PciPosition>;
  /** Explicit map from the config: PF netdev or PCI address -> rail. */
  map: Readonly<Record<string, number>>;
}

export function assignRails(input: RailInputs): Rail[] {
  const candidates = input.pfs.filter((p) => p.rdmaDevices.length > 0).slice().sort((a, b) => comparePciAddress(a.pci, b.pci));
  const rails: Rail[] = [];
  const mapKeys = Object.keys(input.map);
  if (mapKeys.length > 0) {
    for (const pf of candidates) {
      const r = (pf.netdev !== undefined ? input.map[pf.netdev] : undefined) ?? input.map[pf.pci];
      if (r !== undefined) rails.push(railFor(pf, r, 'config'));
    }
    attachGpus(rails, input);
    return rails.sort((a, b) => a.rail - b.rail);
  }
  if (input.gpus.length > 0 && candidates.length > 0) {
    const taken = new Set<string>();
    input.gpus.forEach((gpu, k) => {
      let best: { pf: Pf; rank: number } | undefined;
      for (const pf of candidates) {
        if (taken.has(pf.pci)) continue;
        const pos = input.positions.get(pf.pci);
        if (!pos) continue;
        const rank = distanceRank(pcieDistance(gpu, pos));
        if (best === undefined || rank < best.rank) best = { pf, rank };
      }
      if (best) {
        taken.add(best.pf.pci);
        const rail = railFor(best.pf, k, 'gpu-affinity');
        rail.gpu = gpu.pci;
        rail.distance = pcieDistance(gpu, input.positions.get(best.pf.pci) ?? { upstream: [] });
        rails.push(rail);
      }
    });
    return rails;
  }
  return candidates.map((pf, k) => railFor(pf, k, 'pci-order'));
}

function railFor(pf: Pf, rail: number, source: Rail['source']): Rail {
  const out: Rail = { rail, pf: pf.pci, source };
  if (pf.netdev !== undefined) out.netdev = pf.netdev;
  const rdma = pf.rdmaDevices[0];
  if (rdma !== undefined) out.rdma = rdma;
  return out;
}

/** With an explicit map, still record the closest GPU of each rail for the report. */
function attachGpus(rails: Rail[], input: RailInputs): void {
  for (const rail of rails) {
    const pos = input.positions.get(rail.pf);
    if (!pos) continue;
    let best: { gpu: Gpu; d: PcieDistance } | undefined;
    for (const gpu of input.gpus) {
      const d = pcieDistance(gpu, pos);
      if (best === undefined || distanceRank(d) < distanceRank(best.d)) best = { gpu, d };
    }
    if (best) {
      rail.gpu = best.gpu.pci;
      rail.distance = best.d;
    }
  }
}
