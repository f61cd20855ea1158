// Warning Events about Pods: `VFNotAttached`, `NetworkAttachmentInvalid` (from step 11's judgement) and
// `RailMisaligned` (from the GPU/VF alignment of the pod), each once per pod and cause. A cause that resolves and
// comes back while the pod lives is not reported again; a pod that leaves the allocation is forgotten, so a new pod
// of the same name (a new uid) starts afresh. The specs go through the same reconciler, rate limits and series as
// the Node's events (agent/kube/event-writer.ts), written in the pod's namespace with its uid so that
// `kubectl describe pod` lists them.
import type { NodeEventSpec } from '../kube/events.ts';
import type { AttachmentView } from './judge.ts';

const MAX_NOTE = 1024;

/** A pod's GPU/VF alignment, as the allocation view judges it. */
export interface PodAlignment {
  namespace: string;
  pod: string;
  aligned: boolean;
  /** Names the misaligned pairs, e.g. `GPU 0000:3b:00.0 is on rail 3; the pod's VFs are on rails 0,1,2,4`. */
  message: string;
}

export interface PodEventTracker {
  /**
   * Events for the problems not yet reported for their pod. A skipped view (API or allocation unknown) changes
   * nothing: the pods are not forgotten.
   */
  derive(view: AttachmentView, alignment?: readonly PodAlignment[]): NodeEventSpec[];
}

function clip(text: string): string {
  return text.length <= MAX_NOTE ? text : text.slice(0, MAX_NOTE - 3) + '...';
}

export function createPodEventTracker(): PodEventTracker {
  /** `ns/name` -> uid and the causes reported for that uid. */
  const reported = new Map<string, { uid: string; causes: Set<string> }>();
  return {
    derive(view, alignment = []) {
      if (view.skipped !== undefined) return [];
      const out: NodeEventSpec[] = [];
      const present = new Set<string>();
      const misaligned = new Map(alignment.filter((a) => !a.aligned).map((a) => [`${a.namespace}/${a.pod}`, a]));
      for (const p of view.pods) {
        const key = `${p.namespace}/${p.pod}`;
        present.add(key);
        if (p.uid === undefined) continue;
        let seen = reported.get(key);
        if (seen === undefined || seen.uid !== p.uid) {
          seen = { uid: p.uid, causes: new Set() };
          reported.set(key, seen);
        }
        const pod = { namespace: p.namespace, name: p.pod, uid: p.uid };
        const emit = (reason: NodeEventSpec['reason'], cause: string, note: string) => {
          const id = `${reason}\t${cause}`;
          if (seen.causes.has(id)) return;
          seen.causes.add(id);
          out.push({ reason, type: 'Warning', subject: `pod/${key}/${p.uid}/${cause}`, action: 'Check', note: clip(note), pod });
        };
        for (const x of p.problems) emit(x.reason, x.cause, x.message);
        const a = misaligned.get(key);
        if (a !== undefined) emit('RailMisaligned', 'alignment', a.message);
      }
      for (const key of reported.keys()) if (!present.has(key)) reported.delete(key);
      return out;
    },
  };
}
