// Per-pod rail gauges (structural, from NodeView.pods): series only for pods that hold VFs of this host's PFs or
// GPUs, and only while the kubelet could be asked (an unknown allocation gives no series, not zeros).
import type { StructuralFacts } from '../metrics/catalogue.ts';
import type { MetricFamily } from '../metrics/exposition.ts';
import type { PodRails } from './alignment.ts';

function perPod(name: string, help: string, value: (p: PodRails) => number): MetricFamily<StructuralFacts> {
  return {
    name,
    help,
    type: 'gauge',
    labels: ['namespace', 'pod'],
    *collect(f) {
      for (const p of f.view?.pods ?? []) yield { labels: [p.namespace, p.pod], value: value(p) };
    },
  };
}

export const POD_FAMILIES: readonly MetricFamily<StructuralFacts>[] = [
  perPod('railwatch_pod_rails', 'Rails on which the pod holds a VF (from the kubelet pod-resources API).', (p) => p.vfRails.length),
  perPod('railwatch_pod_gpus', 'GPUs the pod holds (from the kubelet pod-resources API).', (p) => p.gpus.length),
  perPod(
    'railwatch_pod_rail_aligned',
    '1 when every GPU of the pod has one of its VFs on its rail and every VF one of its GPUs, else 0; 1 for a pod holding only GPUs or only VFs.',
    (p) => (p.aligned ? 1 : 0),
  ),
];
