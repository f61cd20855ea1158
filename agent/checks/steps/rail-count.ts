// Step 10: the rail count equals the expected count (config expectedRails, else the compute GPU count; display
// graphics such as an Intel iGPU or a Radeon card do not count, see scan/gpu.ts).
import type { CheckResult } from '../types.ts';
import { failedScanner, plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 10, slug: 'rail-count' };

export const RAIL_COUNT: CheckDefinition = {
  id: 'rail-count',
  title: 'Rail count as expected',
  reads: ['the rails of the inventory (RDMA-capable PFs)', '/sys/bus/pci/devices (compute GPUs: class, vendor, address)', 'config: expectedRails, rails'],
  why: 'A node with a missing rail (NIC not detected, RDMA driver not bound, rail map wrong) runs jobs with fewer rails than GPUs and slows collectives for the whole job.',
  fix: 'Find the missing NIC in lspci and dmesg (steps 4 and 5 name the PF), fix the rail map (config: rails), or set expectedRails for nodes that intentionally have fewer rails than GPUs.',
};

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const failed = failedScanner(input, 'pci', 'sriov', 'infiniband');
  if (failed) return [r.skip(RAIL_COUNT, `the ${failed} scanner failed: rails unknown`)];
  const have = input.snapshot.rails.length;
  const want = input.expectedRails;
  if (want === undefined) {
    const display = input.snapshot.displayGpus.map((g) => `${g.pci} ${g.vendorName}`);
    const what = display.length > 0 ? `display graphics only (${display.join(', ')}), no compute GPU` : 'no compute GPU';
    return [r.skip(RAIL_COUNT, `not a GPU node: ${what}; ${plural(have, 'rail')} and no expectedRails in the config`)];
  }
  const expected = want.count;
  const source = want.source === 'config' ? 'expectedRails' : 'the GPU count';
  const details = input.snapshot.rails.map((rl) => `rail ${rl.rail}: ${rl.netdev ?? rl.pf} (${rl.rdma ?? 'no RDMA'}) [${rl.source}]`);
  if (have !== expected) return [r.fail(RAIL_COUNT, `${plural(have, 'rail')}, expected ${expected} (${source})`, { details })];
  return [r.pass(RAIL_COUNT, `${plural(have, 'rail')}, as expected (${source})`)];
}

export const railCountStep: Step = { ...STEP, title: 'Rail count', checks: [RAIL_COUNT], run };
