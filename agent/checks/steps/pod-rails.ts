// Step 12: pods on their rails. From the kubelet's pod-resources allocations alone (no API server): every pod that
// holds both GPUs and VFs has a VF on each of its GPUs' rails and a GPU on each of its VFs' rails. The Topology
// Manager aligns NUMA nodes, not PCIe switches, so a pod can get GPUs 0-3 and the VFs of rails 4-7 on one NUMA node.
import type { CheckResult } from '../types.ts';
import { failedScanner, plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 12, slug: 'pod-rails' };

export const POD_RAIL_ALIGNMENT: CheckDefinition = {
  id: 'pod-rail-alignment',
  title: 'Pods holding GPUs and VFs have them on the same rails',
  reads: ['kubelet PodResources API (allocations: VFs by PCI address, GPUs by UUID)', '/proc/driver/nvidia/gpus/<pci>/information (GPU UUID)', 'rails (PCIe topology, config: rails)'],
  why:
    'In a rail-optimised cluster GPU N talks over the NIC of rail N: a GPU whose rail has none of the pod\'s VFs sends its traffic through another rail\'s NIC, ' +
    'across PCIe switches or the CPU interconnect, at a fraction of the bandwidth. Only pods holding both GPUs and VFs are judged.',
  fix:
    'Give each rail its own device-plugin resource (one NAD per rail) and request one VF per GPU rail; with a single VF pool, let the device plugin pick VFs by GPU affinity ' +
    '(Topology Manager single-numa-node aligns NUMA only, not the PCIe switch); recreate the pod.',
};

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const failed = failedScanner(input, 'pci', 'sriov', 'gpu');
  if (failed) return [r.skip(POD_RAIL_ALIGNMENT, `the ${failed} scanner failed: GPUs, VFs and rails unknown`)];
  const pods = input.pods;
  if (pods === undefined) return [r.skip(POD_RAIL_ALIGNMENT, `pod allocations unknown (${input.allocation.error ?? 'kubelet not queried'})`)];
  const both = pods.filter((p) => p.vfs.length > 0 && p.gpus.length > 0);
  if (both.length === 0) return [r.pass(POD_RAIL_ALIGNMENT, `${plural(pods.length, 'pod')} hold VFs or GPUs; none holds both`)];
  const off = both.filter((p) => !p.aligned);
  const unjudged = both.flatMap((p) => p.unjudged.map((u) => `${p.namespace}/${p.pod}: not judged: ${u}`));
  if (off.length > 0) {
    return [
      r.warn(POD_RAIL_ALIGNMENT, `${off.length} of ${plural(both.length, 'pod')} holding GPUs and VFs ${off.length === 1 ? 'is' : 'are'} off their rails`, {
        details: [...off.flatMap((p) => p.misaligned.map((m) => `${p.namespace}/${p.pod}: ${m}`)), ...unjudged],
      }),
    ];
  }
  return [r.pass(POD_RAIL_ALIGNMENT, `${plural(both.length, 'pod')} holding GPUs and VFs, all on their rails`, { details: unjudged })];
}

export const podRailsStep: Step = { ...STEP, title: 'Pods on their rails', checks: [POD_RAIL_ALIGNMENT], run };
