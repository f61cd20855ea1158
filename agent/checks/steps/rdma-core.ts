// Step 4: RDMA core: an RDMA device for every RDMA-capable NIC (rail), and the user-space verbs ABI.
import type { Pf } from '../../model.ts';
import { pfTitle } from '../../view/derive.ts';
import type { CheckResult } from '../types.ts';
import { failedScanner, listText, plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 4, slug: 'rdma-core' };

/** NIC drivers whose functions get an RDMA device once the named RDMA driver is loaded. */
export const RDMA_DRIVER_FOR: Readonly<Record<string, string>> = {
  mlx5_core: 'mlx5_ib',
  mlx4_core: 'mlx4_ib',
  bnxt_en: 'bnxt_re',
  ice: 'irdma',
  qede: 'qedr',
  cxgb4: 'iw_cxgb4',
};

export const RDMA_DEVICES: CheckDefinition = {
  id: 'rdma-devices',
  title: 'RDMA device for every rail NIC',
  reads: ['/sys/class/infiniband/*/device', '/sys/bus/pci/devices/<pf>/driver', '/sys/module/<rdma driver>', 'config: rails'],
  why: 'A rail is an RDMA-capable PF; without its RDMA device (mlx5_N, bnxt_re0, irdma0) there are no verbs, no GPUDirect RDMA and no RDMA VFs to allocate.',
  fix: 'Load the RDMA driver for the NIC (mlx5_ib for mlx5_core, bnxt_re for bnxt_en, irdma for ice, qedr for qede), persist it in /etc/modules-load.d, and check dmesg for probe errors.',
};

export const VERBS_ABI: CheckDefinition = {
  id: 'verbs-abi',
  title: 'User-space verbs ABI',
  reads: ['/sys/class/infiniband_verbs/abi_version', '/sys/class/infiniband_verbs/uverbs*'],
  why: 'libibverbs (NCCL, UCX, perftest) talks to RDMA devices through /dev/infiniband/uverbsN; without ib_uverbs applications see no RDMA device at all.',
  fix: 'modprobe ib_uverbs (and rdma_ucm for RDMA CM) and persist them in /etc/modules-load.d; install rdma-core on the host.',
};

/**
 * PFs that should have an RDMA device: rails and PFs named in the config's rail map; and PFs of an RDMA-capable
 * NIC driver when that driver is the rails' own (a sibling of the rail NICs whose RDMA device failed to probe) or
 * when there is no rail at all (the RDMA driver not loaded anywhere). A front-end NIC of another driver (an E810
 * next to ConnectX rails) is not judged: it need not do RDMA.
 */
function rdmaCapablePfs(input: CheckInput): { pf: Pf; why: string }[] {
  const mapKeys = new Set(Object.keys(input.config.rails));
  const railDrivers = new Set(input.snapshot.pfs.filter((p) => p.rail !== undefined && p.driver !== undefined).map((p) => p.driver));
  const anyRail = input.snapshot.pfs.some((p) => p.rail !== undefined);
  const out: { pf: Pf; why: string }[] = [];
  for (const pf of input.snapshot.pfs) {
    if (pf.rail !== undefined) out.push({ pf, why: `rail ${pf.rail}` });
    else if (mapKeys.has(pf.pci) || pf.netdevs.some((n) => mapKeys.has(n))) out.push({ pf, why: 'named in the config rail map' });
    else if (pf.driver !== undefined && RDMA_DRIVER_FOR[pf.driver] !== undefined && (!anyRail || railDrivers.has(pf.driver))) {
      out.push({ pf, why: anyRail ? `same driver as the rail NICs` : `RDMA-capable driver` });
    }
  }
  return out;
}


function rdmaDevices(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const candidates = rdmaCapablePfs(input);
  if (candidates.length === 0) return r.skip(RDMA_DEVICES, 'no RDMA-capable NIC found: this host has no rails');
  const missing = candidates.filter((c) => c.pf.rdmaDevices.length === 0);
  if (missing.length === 0) {
    const names = candidates.flatMap((c) => c.pf.rdmaDevices);
    return r.pass(RDMA_DEVICES, `${plural(candidates.length, 'RDMA-capable NIC')} with RDMA devices: ${listText(names)}`);
  }
  const modules = input.snapshot.host.modules;
  const wanted = [...new Set(missing.map((m) => (m.pf.driver !== undefined ? RDMA_DRIVER_FOR[m.pf.driver] : undefined)).filter((m) => m !== undefined))];
  const details = missing.map((m) => `${pfTitle(m.pf)}: driver ${m.pf.driver ?? 'none'}, ${m.why}, no RDMA device`);
  for (const mod of wanted) if (modules[mod] !== undefined && !modules[mod].loaded) details.push(`module ${mod} is not loaded`);
  return r.fail(RDMA_DEVICES, `${missing.length} of ${plural(candidates.length, 'RDMA-capable NIC')} have no RDMA device`, {
    remediation: wanted.length > 0 ? `modprobe ${wanted.join(' ')} and persist it in /etc/modules-load.d; check dmesg for probe errors.` : RDMA_DEVICES.fix,
    details,
  });
}

function verbsAbi(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const host = input.snapshot.host;
  if (input.snapshot.rdmaDevices.length === 0) return r.skip(VERBS_ABI, 'no RDMA device on this host');
  if (host.verbsAbiVersion === undefined) {
    const loaded = host.modules['ib_uverbs']?.loaded;
    return r.fail(VERBS_ABI, 'no /sys/class/infiniband_verbs/abi_version: the user-space verbs interface is missing', {
      details: loaded === false ? ['module ib_uverbs is not loaded'] : [],
    });
  }
  const uverbs = host.uverbs.length > 0 ? `, ${plural(host.uverbs.length, 'uverbs device')}` : '';
  return r.pass(VERBS_ABI, `verbs ABI version ${host.verbsAbiVersion}${uverbs}`);
}

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const failed = failedScanner(input, 'sriov', 'infiniband', 'host');
  if (failed) {
    const why = `the ${failed} scanner failed: RDMA state unknown`;
    return [r.skip(RDMA_DEVICES, why), r.skip(VERBS_ABI, why)];
  }
  return [rdmaDevices(input), verbsAbi(input)];
}

export const rdmaCoreStep: Step = { ...STEP, title: 'RDMA core', checks: [RDMA_DEVICES, VERBS_ABI], run };
