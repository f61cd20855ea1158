// Step 2: the kernel's IOMMU is active (IOMMU groups exist). The runtime state is judged; /proc/cmdline and the
// CPU vendor explain it.
import type { HostFacts } from '../../model.ts';
import type { CheckResult } from '../types.ts';
import { failedScanner, plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';
import { compareText } from '../../parse/values.ts';

const STEP = { step: 2, slug: 'kernel-iommu' };

const GRUB = 'add it to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub (or grub2-mkconfig) and reboot';

export const KERNEL_IOMMU: CheckDefinition = {
  id: 'kernel-iommu',
  title: 'Kernel IOMMU active',
  reads: ['/sys/kernel/iommu_groups', '/sys/kernel/iommu_groups/*/type', '/sys/bus/pci/devices/*/iommu_group', '/proc/cmdline', '/proc/cpuinfo (vendor_id)'],
  why: 'VFs are isolated and assigned by IOMMU group; with no groups the kernel is not remapping DMA and vfio-pci and the SR-IOV device plugin cannot work.',
  fix: `On Intel boot with intel_iommu=on (${GRUB}); on AMD the IOMMU is on by default unless amd_iommu=off or iommu=off is given.`,
};

export const IOMMU_CMDLINE: CheckDefinition = {
  id: 'iommu-cmdline',
  title: 'IOMMU kernel arguments valid',
  reads: ['/proc/cmdline'],
  why: 'A mistyped or invalid IOMMU argument is silently ignored by the kernel, so the operator believes the IOMMU is configured when it is not.',
  fix: 'Use only valid values: intel_iommu=on|off|sm_on|..., amd_iommu=off|force_isolation|pgtbl_v2|... (there is no amd_iommu=on), iommu=pt|nopt|off.',
};

export const IOMMU_PASSTHROUGH: CheckDefinition = {
  id: 'iommu-passthrough',
  title: 'iommu=pt with vfio-pci VFs',
  reads: ['/sys/bus/pci/devices/<vf>/driver', '/sys/kernel/iommu_groups/*/type', '/proc/cmdline'],
  why:
    'With VFs bound to vfio-pci the IOMMU must be on, but translating the host\'s own DMA (PFs, RDMA on the host) costs throughput; ' +
    'iommu=pt keeps host devices in passthrough while vfio-pci VFs stay isolated.',
  fix: `Add iommu=pt to the kernel command line (${GRUB}).`,
};

const INTEL_VALUES = new Set(['on', 'off', 'igfx_off', 'forcedac', 'strict', 'sp_off', 'sm_on', 'sm_off', 'tboot_noforce', 'nobounce']);
const AMD_VALUES = new Set(['fullflush', 'off', 'force_enable', 'force_isolation', 'pgtbl_v1', 'pgtbl_v2', 'irtcachedis', 'nohugepages', 'v2_pgsizes_only']);

function values(arg: string | true | undefined): string[] {
  if (arg === undefined) return [];
  if (arg === true) return [''];
  return arg.split(',').map((v) => v.trim());
}

function isIntel(host: HostFacts): boolean {
  return host.cpuVendor === 'GenuineIntel';
}

function isAmd(host: HostFacts): boolean {
  return host.cpuVendor === 'AuthenticAMD' || host.cpuVendor === 'HygonGenuine';
}

/** Why the IOMMU is not active, from the command line and the CPU vendor. */
function explain(host: HostFacts): { reasons: string[]; remediation: string } {
  const args = host.kernelArgs;
  const reasons: string[] = [];
  const intel = values(args['intel_iommu']);
  const amd = values(args['amd_iommu']);
  const iommu = values(args['iommu']);
  if (host.iommu.units.length === 0) reasons.push('no hardware IOMMU is exposed (step 1)');
  if (iommu.includes('off')) reasons.push('the kernel command line has iommu=off');
  if (intel.includes('off')) reasons.push('the kernel command line has intel_iommu=off');
  if (amd.includes('off')) reasons.push('the kernel command line has amd_iommu=off');
  if (isIntel(host) && !intel.includes('on') && !intel.includes('off')) {
    reasons.push('missing intel_iommu=on on an Intel CPU (needed unless the kernel is built with CONFIG_INTEL_IOMMU_DEFAULT_ON)');
  }
  if (amd.includes('on')) reasons.push('amd_iommu=on is not a valid value (the kernel ignores it; the AMD IOMMU is on by default)');
  if (reasons.length === 0) reasons.push('the kernel did not enable the IOMMU (check dmesg for DMAR / AMD-Vi messages)');
  const off = [iommu.includes('off') ? 'iommu=off' : '', intel.includes('off') ? 'intel_iommu=off' : '', amd.includes('off') ? 'amd_iommu=off' : ''].filter(Boolean);
  let remediation: string;
  if (isIntel(host)) {
    remediation = `Boot with intel_iommu=on iommu=pt: ${GRUB}.`;
  } else if (isAmd(host)) {
    remediation = 'Enable AMD-Vi (IOMMU) in the BIOS; the AMD IOMMU needs no kernel argument (amd_iommu=on is not a valid value); add iommu=pt for passthrough of host devices.';
  } else {
    remediation = KERNEL_IOMMU.fix;
  }
  if (off.length > 0) remediation += ` Remove ${off.join(' and ')} from the kernel command line.`;
  return { reasons, remediation };
}

/**
 * The evidence of IOMMU groups a snapshot holds: /sys/kernel/iommu_groups and the PCI functions' `iommu_group` links.
 * A function with a group proves an active IOMMU even when the groups directory is empty or absent (a captured tree).
 */
export interface IommuEvidence {
  /** Entries of /sys/kernel/iommu_groups. */
  groups: number;
  /** PCI functions with an `iommu_group` link, and the distinct groups they name. */
  linkedFunctions: number;
  linkedGroups: number;
  /** true when either source shows a group. */
  active: boolean;
  /** How /sys/kernel/iommu_groups looked, for messages. */
  groupsDirText: string;
}

export function iommuEvidence(snapshot: CheckInput['snapshot']): IommuEvidence {
  const { groups, groupsUnlisted } = snapshot.host.iommu;
  const linked = snapshot.pci.filter((f) => f.iommuGroup !== undefined);
  const linkedGroups = new Set(linked.map((f) => f.iommuGroup)).size;
  const groupsDirText =
    groupsUnlisted === 'no-kernel-dir'
      ? 'this root has no /sys/kernel'
      : groupsUnlisted === 'missing'
        ? '/sys/kernel/iommu_groups is missing'
        : groups === 0
          ? '/sys/kernel/iommu_groups is empty'
          : `${plural(groups, 'entry', 'entries')} in /sys/kernel/iommu_groups`;
  return { groups, linkedFunctions: linked.length, linkedGroups, active: groups > 0 || linked.length > 0, groupsDirText };
}

function kernelIommu(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const host = input.snapshot.host;
  const { groups, groupTypes } = host.iommu;
  if (groups > 0) {
    const types = Object.entries(groupTypes)
      .sort(([a], [b]) => compareText(a, b))
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
    return r.pass(KERNEL_IOMMU, `IOMMU active: ${plural(groups, 'IOMMU group')}${types ? ` (${types})` : ''}`);
  }
  const ev = iommuEvidence(input.snapshot);
  if (ev.active) {
    return r.pass(
      KERNEL_IOMMU,
      `IOMMU active: ${plural(ev.linkedFunctions, 'PCI function')} in ${plural(ev.linkedGroups, 'IOMMU group')} (iommu_group links; ${ev.groupsDirText})`,
    );
  }
  if (host.iommu.groupsUnlisted === 'no-kernel-dir' && input.snapshot.pci.length === 0) {
    return r.skip(KERNEL_IOMMU, 'IOMMU state unknown: this root has neither /sys/kernel nor PCI functions');
  }
  const { reasons, remediation } = explain(host);
  const where = host.iommu.groupsUnlisted === 'no-kernel-dir' ? `no PCI function has an iommu_group link (${ev.groupsDirText})` : ev.groupsDirText;
  return r.fail(KERNEL_IOMMU, `IOMMU not active: ${where}; ${reasons[0]}`, {
    remediation,
    details: [...reasons.slice(1), `kernel command line: ${host.cmdline ?? '(unreadable)'}`],
  });
}

function iommuCmdline(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const host = input.snapshot.host;
  if (host.cmdline === undefined) return r.skip(IOMMU_CMDLINE, '/proc/cmdline could not be read');
  const args = host.kernelArgs;
  const problems: string[] = [];
  const amd = values(args['amd_iommu']);
  if (amd.includes('on')) {
    problems.push('amd_iommu=on is not a valid value: the kernel ignores it (the AMD IOMMU is on by default once AMD-Vi is enabled in the BIOS)');
  }
  for (const v of amd) if (v !== 'on' && !AMD_VALUES.has(v)) problems.push(`amd_iommu=${v}: not a valid value`);
  for (const v of values(args['intel_iommu'])) if (!INTEL_VALUES.has(v)) problems.push(`intel_iommu=${v}: not a valid value`);
  if (isAmd(host) && values(args['intel_iommu']).includes('on')) problems.push('intel_iommu=on has no effect on an AMD CPU');
  const present = ['intel_iommu', 'amd_iommu', 'iommu'].filter((k) => args[k] !== undefined).map((k) => `${k}=${String(args[k])}`);
  if (problems.length > 0) {
    return r.warn(IOMMU_CMDLINE, problems[0]!, {
      remediation: amd.includes('on')
        ? 'Remove amd_iommu=on from the kernel command line; enable AMD-Vi in the BIOS instead, and add iommu=pt for passthrough.'
        : IOMMU_CMDLINE.fix,
      details: problems.slice(1),
    });
  }
  return r.pass(IOMMU_CMDLINE, present.length > 0 ? `IOMMU arguments valid: ${present.join(' ')}` : 'no IOMMU arguments on the kernel command line');
}

function iommuPassthrough(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const host = input.snapshot.host;
  const vfio = input.snapshot.pfs.flatMap((pf) => pf.vfs.filter((vf) => vf.driver === 'vfio-pci'));
  if (vfio.length === 0) return r.skip(IOMMU_PASSTHROUGH, 'no VF is bound to vfio-pci');
  if (!iommuEvidence(input.snapshot).active) return r.skip(IOMMU_PASSTHROUGH, 'the IOMMU is not active (see kernel-iommu)');
  const pt = values(host.kernelArgs['iommu']).includes('pt');
  const identity = host.iommu.groupTypes['identity'] ?? 0;
  if (pt || identity > 0) {
    return r.pass(IOMMU_PASSTHROUGH, `${plural(vfio.length, 'VF')} on vfio-pci; host devices in passthrough (${pt ? 'iommu=pt' : `${identity} identity groups`})`);
  }
  return r.warn(IOMMU_PASSTHROUGH, `${plural(vfio.length, 'VF')} bound to vfio-pci and the IOMMU translates all host DMA: iommu=pt is advised`);
}

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const failed = failedScanner(input, 'host');
  if (failed) {
    const why = `the ${failed} scanner failed: kernel IOMMU state unknown`;
    return [r.skip(KERNEL_IOMMU, why), r.skip(IOMMU_CMDLINE, why), r.skip(IOMMU_PASSTHROUGH, why)];
  }
  return [kernelIommu(input), iommuCmdline(input), iommuPassthrough(input)];
}

export const kernelIommuStep: Step = { ...STEP, title: 'Kernel IOMMU', checks: [KERNEL_IOMMU, IOMMU_CMDLINE, IOMMU_PASSTHROUGH], run };
