import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AttachmentView } from '../../agent/attach/judge.ts';
import { attachmentMetricsText } from '../../agent/attach/metrics.ts';
import { podsText } from '../../agent/cli/doctor.ts';

const view: AttachmentView = {
  pods: [
    {
      namespace: 'ml',
      pod: 'trainer-0',
      uid: 'u1',
      state: 'judged',
      vfs: [
        { pci: '0000:1a:00.2', resourceName: 'nvidia.com/rail0', pf: 'ens1f0', rail: 0 },
        { pci: '0000:2a:00.2', resourceName: 'nvidia.com/rail1', pf: 'ens2f0', rail: 1 },
      ],
      interfaces: [
        { interface: 'eth1', network: 'ml/mgmt' },
        { interface: 'net1', network: 'ml/rail-0', pci: '0000:1a:00.2', rail: 0 },
      ],
      problems: [{ check: 'pod-vfs-attached', reason: 'VFNotAttached', cause: 'vf/0000:2a:00.2', message: 'VF 0000:2a:00.2 (rail 1, ens2f0, resource nvidia.com/rail1): allocated, not attached' }],
      notes: [],
    },
    { namespace: 'ml', pod: 'starting', state: 'pending', why: 'waiting for Multus', vfs: [{ pci: '0000:1a:00.3', resourceName: 'nvidia.com/rail0', pf: 'ens1f0', rail: 0 }], interfaces: [], problems: [], notes: [] },
  ],
};

it('per judged pod: one info series per VF interface and the count of VFs not attached; nothing for pending pods', () => {
  assert.equal(
    attachmentMetricsText(view),
    [
      '# HELP railwatch_pod_attachment_info An interface of a pod that is a VF, valued 1: interface (net1...), network (the NAD, namespace/name), pci (the VF PCI address, as in railwatch_vf_info), rail. From the pod\'s network-status.',
      '# TYPE railwatch_pod_attachment_info gauge',
      'railwatch_pod_attachment_info{namespace="ml",pod="trainer-0",interface="net1",network="ml/rail-0",pci="0000:1a:00.2",rail="0"} 1',
      '# HELP railwatch_pod_vfs_not_attached VFs the kubelet allocated to the pod that are not in its network-status (allocated, not attached).',
      '# TYPE railwatch_pod_vfs_not_attached gauge',
      'railwatch_pod_vfs_not_attached{namespace="ml",pod="trainer-0"} 1',
      '',
    ].join('\n'),
  );
  assert.equal(attachmentMetricsText({ skipped: 'no API access', pods: [] }), '');
  assert.equal(attachmentMetricsText(undefined), '');
});

it('doctor prints each pod: interfaces -> VF -> rail, problems, and why a pod is not judged', () => {
  assert.deepEqual(podsText(view), [
    '',
    'Pods holding VFs:',
    '  ml/trainer-0: 2 VF(s) on rail(s) 0,1',
    '    eth1 -> ml/mgmt (no VF)',
    '    net1 -> 0000:1a:00.2 (rail 0) via ml/rail-0',
    '    ! VF 0000:2a:00.2 (rail 1, ens2f0, resource nvidia.com/rail1): allocated, not attached',
    '  ml/starting: 1 VF(s) on rail(s) 0 [pending: waiting for Multus]',
  ]);
  assert.deepEqual(podsText({ skipped: 'no API access (--no-kube): pod attachments not read', pods: [] }), ['', 'Pods holding VFs:', '  (skipped: no API access (--no-kube): pod attachments not read)']);
});
