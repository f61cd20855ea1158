// Step 7: GPU stack. NVIDIA driver and nvidia_peermem loaded, every GPU with a rail NIC under the same PCIe
// switch, and no ACS redirection on the bridges between a GPU and its rail NIC.
import type { CheckResult } from '../types.ts';
import { gpuRailPairs } from '../pairs.ts';
import { failedScanner, listText, plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 7, slug: 'gpu-stack' };

export const GPU_DRIVER: CheckDefinition = {
  id: 'gpu-driver',
  title: 'NVIDIA driver loaded',
  reads: ['/sys/module/nvidia', '/sys/bus/pci/devices/<gpu>/driver'],
  why: 'Without the nvidia module bound to every GPU there is no CUDA, no GPU device plugin and no GPUDirect RDMA.',
  fix: 'Install and load the NVIDIA driver (the GPU operator\'s driver container or the distribution package); blacklist nouveau; check dmesg for NVRM errors.',
};

export const GPU_PEERMEM: CheckDefinition = {
  id: 'gpu-peermem',
  title: 'nvidia_peermem loaded for GPUDirect RDMA',
  reads: ['/sys/module/nvidia_peermem', '/sys/module/nv_peer_mem'],
  why: 'GPUDirect RDMA lets the NIC read and write GPU memory directly; without nvidia_peermem (or DMA-BUF support) NCCL stages every transfer through host memory.',
  fix: 'modprobe nvidia_peermem (GPU operator: driver.rdma.enabled=true) and persist it; with the open kernel modules on kernel 5.12 or later NCCL can use DMA-BUF instead.',
};

export const GPU_RAIL_AFFINITY: CheckDefinition = {
  id: 'gpu-rail-affinity',
  title: 'Each GPU has a rail NIC under the same PCIe switch',
  reads: ['/sys/bus/pci/devices/<gpu>', '/sys/bus/pci/devices/<rail pf> (PCIe tree)', 'config: rails'],
  why: 'GPUDirect RDMA runs at full speed only between a GPU and a NIC under the same PCIe switch; through the root complex or across the CPU interconnect it is slower or disabled by NCCL.',
  fix: 'Move NICs or GPUs so each GPU shares a PCIe switch with one rail NIC, or fix the rail map (config: rails) so each GPU uses the NIC next to it.',
};

export const PCIE_ACS: CheckDefinition = {
  id: 'pcie-acs',
  title: 'No ACS redirection between GPUs and rail NICs',
  reads: ['/sys/bus/pci/devices/<bridge>/config (ACS extended capability 0x000D, readable past 64 bytes only as root)'],
  why:
    'ACS Request/Completion Redirect or Egress Control on a bridge between a GPU and its NIC sends peer-to-peer traffic up to the root complex, ' +
    'cutting GPUDirect RDMA bandwidth or breaking it.',
  fix:
    'Disable ACS redirection on those bridges (setpci -s <bridge> ECAP_ACS+0x6.w=0000 at every boot, or disable ACS in the BIOS); ' +
    'keep it when the host passes devices to untrusted VMs that rely on IOMMU isolation between them.',
};

function gpuDriver(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const nvidia = input.snapshot.gpus.filter((g) => g.vendorName === 'nvidia');
  if (nvidia.length === 0) return r.skip(GPU_DRIVER, 'no NVIDIA GPU on this host');
  const mod = input.snapshot.host.modules['nvidia'];
  const unbound = nvidia.filter((g) => g.driver !== 'nvidia');
  const details = unbound.map((g) => `${g.pci}: driver ${g.driver ?? 'none'}`);
  // a GPU bound to the nvidia driver proves the module is loaded, whatever /sys/module shows (or lacks)
  const loaded = mod?.loaded === true || unbound.length < nvidia.length;
  if (!loaded) {
    const finding =
      mod === undefined
        ? `${plural(nvidia.length, 'NVIDIA GPU')}, none bound to the nvidia driver (no /sys/module in this root)`
        : `${plural(nvidia.length, 'NVIDIA GPU')} and the nvidia module is not loaded`;
    return r.fail(GPU_DRIVER, finding, { details });
  }
  if (unbound.length > 0) {
    return r.fail(GPU_DRIVER, `${unbound.length} of ${plural(nvidia.length, 'NVIDIA GPU')} not bound to the nvidia driver`, { details });
  }
  const version = mod?.version !== undefined ? ` (${mod.version})` : '';
  return r.pass(GPU_DRIVER, `nvidia driver loaded${version}, ${plural(nvidia.length, 'GPU')} bound`);
}

function gpuPeermem(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const nvidia = input.snapshot.gpus.filter((g) => g.vendorName === 'nvidia');
  if (nvidia.length === 0) return r.skip(GPU_PEERMEM, 'no NVIDIA GPU on this host');
  if (input.snapshot.rails.length === 0) return r.skip(GPU_PEERMEM, 'no rails: GPUDirect RDMA has no NIC to use');
  const mods = input.snapshot.host.modules;
  const loaded = ['nvidia_peermem', 'nv_peer_mem'].find((m) => mods[m]?.loaded === true);
  if (loaded) return r.pass(GPU_PEERMEM, `${loaded} loaded`);
  // a warning, not a failure: DMA-BUF (open kernel modules) gives GPUDirect RDMA without nvidia_peermem
  return r.warn(GPU_PEERMEM, 'nvidia_peermem is not loaded: GPUDirect RDMA is unavailable unless NCCL uses DMA-BUF');
}

function gpuRailAffinity(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  if (input.snapshot.gpus.length === 0) return r.skip(GPU_RAIL_AFFINITY, 'no GPU on this host');
  if (input.snapshot.rails.length === 0) return r.skip(GPU_RAIL_AFFINITY, 'no rails');
  const pairs = gpuRailPairs(input.snapshot);
  const far = pairs.filter((p) => p.distance !== 'PIX' && p.distance !== 'PXB');
  const text: Record<string, string> = {
    PHB: 'through the PCIe host bridge (root complex)',
    NODE: 'across host bridges within the NUMA node',
    SYS: 'across the CPU interconnect',
  };
  if (far.length > 0) {
    const sys = far.filter((p) => p.distance === 'SYS').length;
    return r.warn(
      GPU_RAIL_AFFINITY,
      `${far.length} of ${plural(pairs.length, 'GPU')} have no rail NIC under the same PCIe switch` + (sys > 0 ? ` (${sys} across the CPU interconnect)` : ''),
      { details: far.map((p) => `GPU ${p.gpu.pci}: closest rail ${p.rail.rail} (${p.pf.netdev ?? p.pf.pci}) ${p.distance}, ${text[p.distance]}`) },
    );
  }
  return r.pass(GPU_RAIL_AFFINITY, `each of ${plural(pairs.length, 'GPU')} has a rail NIC under the same PCIe switch`);
}

function pcieAcs(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  if (input.snapshot.gpus.length === 0) return r.skip(PCIE_ACS, 'no GPU on this host');
  if (input.snapshot.rails.length === 0) return r.skip(PCIE_ACS, 'no rails');
  const acs = input.probes.acs;
  if (acs.length === 0) return r.skip(PCIE_ACS, 'no PCIe bridge between any GPU and its rail NIC');
  const redirecting: string[] = [];
  const unreadable: string[] = [];
  let checked = 0;
  for (const b of acs) {
    const read = b.read;
    if (read.kind === 'short') unreadable.push(`${b.bridge}: only ${read.length} bytes of config readable`);
    else if (read.kind === 'unreadable') unreadable.push(`${b.bridge}: config ${read.code}`);
    else if (read.kind === 'malformed') unreadable.push(`${b.bridge}: ${read.reason}`);
    else {
      checked++;
      if (read.kind === 'present' && read.redirect.length > 0) redirecting.push(`${b.bridge}: ACS ${read.redirect.join(', ')} enabled (control 0x${read.controlRaw.toString(16).padStart(4, '0')})`);
    }
  }
  if (redirecting.length > 0) {
    return r.warn(PCIE_ACS, `ACS redirection enabled on ${redirecting.length} of ${plural(acs.length, 'bridge')} between GPUs and rail NICs`, {
      remediation: `Peer-to-peer traffic detours through the root complex. ${PCIE_ACS.fix}`,
      details: [...redirecting, ...unreadable],
    });
  }
  if (checked === 0) {
    const root = acs.some((b) => b.read.kind === 'short');
    return r.skip(
      PCIE_ACS,
      root
        ? 'PCI config space past 64 bytes is readable only as root (CAP_SYS_ADMIN): ACS not checked'
        : `bridge config space unreadable: ACS not checked (${listText(unreadable, 3)})`,
    );
  }
  return r.pass(PCIE_ACS, `no ACS redirection on ${plural(checked, 'bridge')} between GPUs and rail NICs`, { details: unreadable });
}

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const all = [GPU_DRIVER, GPU_PEERMEM, GPU_RAIL_AFFINITY, PCIE_ACS];
  const failed = failedScanner(input, 'pci', 'gpu', 'host');
  if (failed) return all.map((d) => r.skip(d, `the ${failed} scanner failed: GPUs unknown`));
  return [gpuDriver(input), gpuPeermem(input), gpuRailAffinity(input), pcieAcs(input)];
}

export const gpuStackStep: Step = { ...STEP, title: 'GPU stack', checks: [GPU_DRIVER, GPU_PEERMEM, GPU_RAIL_AFFINITY, PCIE_ACS], run };
