// The check catalogue: the steps of the setup chain in the order they must be right, each with its checks.
// docs/checks.md is generated from this list (scripts/gen-check-docs.ts), and metrics label results by it.
import { stepLabel, type CheckDefinition, type Step } from './step.ts';
import { hardwareIommuStep } from './steps/hardware-iommu.ts';
import { kernelIommuStep } from './steps/kernel-iommu.ts';
import { hugepagesStep } from './steps/hugepages.ts';
import { rdmaCoreStep } from './steps/rdma-core.ts';
import { nicVfsStep } from './steps/nic-vfs.ts';
import { linksStep } from './steps/links.ts';
import { gpuStackStep } from './steps/gpu-stack.ts';
import { devicePluginStep } from './steps/device-plugin.ts';
import { cniStep } from './steps/cni.ts';
import { railCountStep } from './steps/rail-count.ts';
import { networkAttachmentsStep } from './steps/network-attachments.ts';
import { podRailsStep } from './steps/pod-rails.ts';

export const STEPS: readonly Step[] = [
  hardwareIommuStep,
  kernelIommuStep,
  hugepagesStep,
  rdmaCoreStep,
  nicVfsStep,
  linksStep,
  gpuStackStep,
  devicePluginStep,
  cniStep,
  railCountStep,
  networkAttachmentsStep,
  podRailsStep,
];

export interface CatalogueEntry extends CheckDefinition {
  step: number;
  stepLabel: string;
  stepTitle: string;
}

/** Every check in chain order, with its step. */
export const CATALOGUE: readonly CatalogueEntry[] = STEPS.flatMap((s) =>
  s.checks.map((c) => ({ ...c, step: s.step, stepLabel: stepLabel(s), stepTitle: s.title })),
);

