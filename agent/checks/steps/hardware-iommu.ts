// Step 1: the platform exposes an IOMMU (VT-d / AMD-Vi), seen as units in /sys/class/iommu or, where that directory
// is empty or missing, as IOMMU groups (which exist only behind an IOMMU).
import type { CheckResult } from '../types.ts';
import { failedScanner, listText, plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';
import { iommuEvidence } from './kernel-iommu.ts';

const STEP = { step: 1, slug: 'hardware-iommu' };

export const HARDWARE_IOMMU: CheckDefinition = {
  id: 'hardware-iommu',
  title: 'Platform IOMMU present',
  reads: ['/sys/class/iommu', '/sys/kernel/iommu_groups', '/sys/bus/pci/devices/*/iommu_group', '/proc/cpuinfo (vendor_id)', '/proc/cmdline'],
  why:
    'SR-IOV VFs handed to pods or VMs need DMA remapping; without an IOMMU (Intel VT-d, AMD-Vi) there are no IOMMU groups, ' +
    'vfio-pci cannot take VFs and the SR-IOV device plugin has nothing safe to allocate.',
  fix: 'Enable VT-d (Intel) or AMD-Vi / IOMMU (AMD) in the BIOS, then check step 2 for the kernel side.',
};

function biosAdvice(cpuVendor: string | undefined): string {
  if (cpuVendor === 'GenuineIntel') return 'Enable VT-d (Intel Virtualization Technology for Directed I/O) in the BIOS';
  if (cpuVendor === 'AuthenticAMD' || cpuVendor === 'HygonGenuine') return 'Enable AMD-Vi (IOMMU) in the BIOS';
  return 'Enable VT-d / AMD-Vi in the BIOS';
}

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const failed = failedScanner(input, 'host');
  if (failed) return [r.skip(HARDWARE_IOMMU, `the ${failed} scanner failed: IOMMU state unknown`)];
  const host = input.snapshot.host;
  if (host.iommu.units.length > 0) {
    return [r.pass(HARDWARE_IOMMU, `IOMMU present: ${listText(host.iommu.units)} in /sys/class/iommu`)];
  }
  const dirText = host.iommu.unitsUnlisted === 'missing' ? '/sys/class/iommu is missing' : '/sys/class/iommu is empty';
  // IOMMU groups exist only behind an IOMMU: devices with groups prove one even when the class directory is empty
  const ev = iommuEvidence(input.snapshot);
  if (ev.active) {
    const which = ev.groups > 0 ? plural(ev.groups, 'IOMMU group') : `${plural(ev.linkedFunctions, 'PCI function')} with IOMMU groups`;
    return [r.pass(HARDWARE_IOMMU, `IOMMU present: ${which} (${dirText})`)];
  }
  if (host.iommu.unitsUnlisted === 'missing' && input.snapshot.pci.length === 0) {
    return [r.skip(HARDWARE_IOMMU, 'IOMMU state unknown: this root has neither /sys/class/iommu nor PCI functions')];
  }
  const args = host.kernelArgs;
  let remediation = biosAdvice(host.cpuVendor);
  const details: string[] = [];
  if (host.cpuVendor === 'GenuineIntel' && args['intel_iommu'] !== 'on') {
    remediation += ' and boot with intel_iommu=on (the Intel IOMMU registers its units only when enabled)';
    details.push(`kernel command line has ${args['intel_iommu'] === undefined ? 'no intel_iommu=' : `intel_iommu=${String(args['intel_iommu'])}`}`);
  }
  if (args['iommu'] === 'off' || args['amd_iommu'] === 'off' || args['intel_iommu'] === 'off') {
    details.push('the kernel command line turns the IOMMU off');
    remediation += '; remove iommu=off / amd_iommu=off / intel_iommu=off from the kernel command line';
  }
  if (host.cpuVendor !== undefined) details.push(`CPU vendor ${host.cpuVendor}`);
  return [
    r.fail(HARDWARE_IOMMU, `no IOMMU: ${dirText} (VT-d / AMD-Vi disabled in the BIOS or not present)`, {
      remediation: remediation + '.',
      details,
    }),
  ];
}

export const hardwareIommuStep: Step = { ...STEP, title: 'Hardware IOMMU', checks: [HARDWARE_IOMMU], run };
