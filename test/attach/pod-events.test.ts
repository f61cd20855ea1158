import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AttachmentView, PodAttachmentReport } from '../../agent/attach/judge.ts';
import { createPodEventTracker } from '../../agent/attach/pod-events.ts';
import { eventObject } from '../../agent/kube/events.ts';

function pod(name: string, uid: string | undefined, causes: string[]): PodAttachmentReport {
  return {
    namespace: 'ml',
    pod: name,
    ...(uid === undefined ? {} : { uid }),
    state: 'judged',
    vfs: [],
    interfaces: [],
    notes: [],
    problems: causes.map((c) => ({ check: 'pod-vfs-attached', reason: 'VFNotAttached', cause: c, message: `problem ${c}` })),
  };
}
const view = (...pods: PodAttachmentReport[]): AttachmentView => ({ pods });

it('one event per pod and cause; resolved causes are not repeated; a new uid starts afresh', () => {
  const t = createPodEventTracker();
  const first = t.derive(view(pod('a', 'u1', ['vf/1', 'vf/2'])));
  assert.deepEqual(first.map((e) => [e.reason, e.subject, e.pod]), [
    ['VFNotAttached', 'pod/ml/a/u1/vf/1', { namespace: 'ml', name: 'a', uid: 'u1' }],
    ['VFNotAttached', 'pod/ml/a/u1/vf/2', { namespace: 'ml', name: 'a', uid: 'u1' }],
  ]);
  assert.deepEqual(t.derive(view(pod('a', 'u1', ['vf/1', 'vf/2']))), []);
  assert.deepEqual(t.derive(view(pod('a', 'u1', []))), [], 'resolved: nothing');
  assert.deepEqual(t.derive(view(pod('a', 'u1', ['vf/1']))), [], 'back again: not repeated');
  assert.deepEqual(t.derive({ skipped: 'allocations unknown', pods: [] }), []);
  assert.deepEqual(t.derive(view(pod('a', 'u1', ['vf/1']))), [], 'a skipped view forgets nothing');
  assert.equal(t.derive(view(pod('a', 'u2', ['vf/1']))).length, 1, 'same name, new uid');
  assert.deepEqual(t.derive(view()), []);
  assert.equal(t.derive(view(pod('a', 'u2', ['vf/1']))).length, 1, 'a pod that left is forgotten');
});

it('RailMisaligned from the alignment, once; none without a uid', () => {
  const t = createPodEventTracker();
  const align = [{ namespace: 'ml', pod: 'a', aligned: false, message: "GPU 0000:3b:00.0 is on rail 3; the pod's VFs are on rails 0,1,2,4" }, { namespace: 'ml', pod: 'b', aligned: true, message: '' }];
  const out = t.derive(view(pod('a', 'u1', []), pod('b', 'u2', []), pod('c', undefined, ['vf/9'])), align);
  assert.deepEqual(out.map((e) => [e.reason, e.type, e.note]), [['RailMisaligned', 'Warning', "GPU 0000:3b:00.0 is on rail 3; the pod's VFs are on rails 0,1,2,4"]]);
  assert.deepEqual(t.derive(view(pod('a', 'u1', [])), align), []);
  const ev = eventObject(out[0]!, { name: 'gpu-node-1', uid: 'node-uid' }, 'a.1', 0);
  assert.deepEqual([ev.metadata.namespace, ev.regarding], ['ml', { apiVersion: 'v1', kind: 'Pod', namespace: 'ml', name: 'a', uid: 'u1' }]);
});
