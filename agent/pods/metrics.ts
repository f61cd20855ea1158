// Per-pod rail gauges: series only for pods that hold VFs of this host's PFs or GPUs, and only while the kubelet
// could be asked (an unknown allocation gives no series, not zeros).
import type { ExactFamily, ExactSample } from '../metrics/exposition.ts';
import type { PodRails } from './alignment.ts';

/** `pods`: NodeView.pods (undefined while the kubelet cannot be asked: no series). */
export function podFamilies(pods: readonly PodRails[] | undefined): ExactFamily[] {
  const rails: ExactSample[] = [];
  const gpus: ExactSample[] = [];
  const aligned: ExactSample[] = [];
  if (pods !== undefined) {
    for (const p of pods) {
      const labels = { namespace: p.namespace, pod: p.pod };
      rails.push({ labels, value: BigInt(p.vfRails.length) });
      gpus.push({ labels, value: BigInt(p.gpus.length) });
      aligned.push({ labels, value: p.aligned ? 1n : 0n });
    }
  }
  return [
    { name: 'railwatch_pod_rails', help: 'Rails on which the pod holds a VF (from the kubelet pod-resources API).', type: 'gauge', samples: rails },
    { name: 'railwatch_pod_gpus', help: 'GPUs the pod holds (from the kubelet pod-resources API).', type: 'gauge', samples: gpus },
    {
      name: 'railwatch_pod_rail_aligned',
      help: '1 when every GPU of the pod has one of its VFs on its rail and every VF one of its GPUs, else 0; 1 for a pod holding only GPUs or only VFs.',
      type: 'gauge',
      samples: aligned,
    },
  ];
}
