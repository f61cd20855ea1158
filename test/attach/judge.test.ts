import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNad, type NadInfo } from '../../agent/attach/annotations.ts';
import { interfaceLine, judgePod, type Fetched, type PodVf } from '../../agent/attach/judge.ts';
import { networksList, networkStatus, NETWORK_STATUS, NETWORKS, railNad } from './fixtures.ts';

const VFS: PodVf[] = [0, 1, 2, 3].map((r) => ({ pci: `0000:${(0x1a + r * 0x10).toString(16)}:00.2`, resourceName: `nvidia.com/rail${r}`, pf: `ens${r}f0`, rail: r }));

function nadsFor(rails: number[], edit: (n: ReturnType<typeof railNad>) => ReturnType<typeof railNad> | undefined = (n) => n): (ns: string, name: string) => Fetched<NadInfo> {
  const map = new Map<string, NadInfo>();
  for (const r of rails) {
    const spec = edit(railNad('ml', r));
    if (spec === undefined) continue;
    const parsed = parseNad({ metadata: { annotations: spec.resourceName === undefined ? {} : { 'k8s.v1.cni.cncf.io/resourceName': spec.resourceName } }, spec: { config: spec.config } }, spec.namespace, spec.name);
    assert.ok('ok' in parsed);
    map.set(`${spec.namespace}/${spec.name}`, parsed.ok);
  }
  return (ns, name) => {
    const v = map.get(`${ns}/${name}`);
    return v === undefined ? { state: 'not-found' } : { state: 'ok', value: v };
  };
}

function judge(annotations: Record<string, string>, opts: { vfs?: PodVf[]; nad?: (ns: string, name: string) => Fetched<NadInfo>; final?: boolean } = {}) {
  return judgePod({
    namespace: 'ml',
    name: 'trainer-0',
    vfs: opts.vfs ?? VFS,
    pod: { fetch: { state: 'ok', value: { uid: 'u-1', annotations } }, final: opts.final ?? true },
    nad: opts.nad ?? nadsFor([0, 1, 2, 3]),
  });
}

const ALL = VFS.map((v) => ({ rail: v.rail!, pci: v.pci }));

describe('judgePod', () => {
  it('a pod with every VF attached: interfaces -> VF -> rail, no problem', () => {
    const r = judge({ [NETWORKS]: networksList([0, 1, 2, 3]), [NETWORK_STATUS]: networkStatus('ml', ALL) });
    assert.equal(r.state, 'judged');
    assert.deepEqual(r.problems, []);
    assert.equal(r.uid, 'u-1');
    assert.deepEqual(r.interfaces.map(interfaceLine), [
      'net1 -> 0000:1a:00.2 (rail 0) via ml/rail-0',
      'net2 -> 0000:2a:00.2 (rail 1) via ml/rail-1',
      'net3 -> 0000:3a:00.2 (rail 2) via ml/rail-2',
      'net4 -> 0000:4a:00.2 (rail 3) via ml/rail-3',
    ]);
  });

  it('the JSON form of the annotation judges the same', () => {
    const json = JSON.stringify([0, 1, 2, 3].map((r) => ({ name: `rail-${r}`, interface: `net${r + 1}` })));
    const r = judge({ [NETWORKS]: json, [NETWORK_STATUS]: networkStatus('ml', ALL) });
    assert.deepEqual(r.problems, []);
  });

  it('network-status lacking one VF: that VF is allocated, not attached, and its network is missing', () => {
    const r = judge({ [NETWORKS]: networksList([0, 1, 2, 3]), [NETWORK_STATUS]: networkStatus('ml', ALL.slice(0, 3)) });
    assert.deepEqual(
      r.problems.map((p) => [p.check, p.reason, p.cause]),
      [
        ['pod-networks-attached', 'NetworkAttachmentInvalid', 'network/ml/rail-3@net4'],
        ['pod-vfs-attached', 'VFNotAttached', 'vf/0000:4a:00.2'],
      ],
    );
    assert.match(r.problems[1]!.message, /VF 0000:4a:00\.2 \(rail 3, ens3f0, resource nvidia\.com\/rail3\): allocated, not attached/);
  });

  it('a NAD with the wrong resourceName', () => {
    const nad = nadsFor([0, 1, 2, 3], (n) => (n.name === 'rail-2' ? { ...n, resourceName: 'nvidia.com/rail7' } : n));
    const r = judge({ [NETWORKS]: networksList([0, 1, 2, 3]), [NETWORK_STATUS]: networkStatus('ml', ALL) }, { nad });
    assert.deepEqual(r.problems.map((p) => [p.check, p.cause]), [['nad-resource-name', 'nad/ml/rail-2/resource']]);
    assert.match(r.problems[0]!.message, /names resource nvidia\.com\/rail7, but the pod's VFs came from nvidia\.com\/rail0, .*rail3/);
  });

  it('a NAD without resourceName, and one whose config carries no VF plugin', () => {
    const nad = nadsFor([0, 1, 2, 3], (n) =>
      n.name === 'rail-1' ? { ...n, resourceName: undefined } : n.name === 'rail-2' ? { ...n, config: JSON.stringify({ type: 'macvlan', master: 'eth1' }) } : n,
    );
    const r = judge({ [NETWORKS]: networksList([0, 1, 2, 3]), [NETWORK_STATUS]: networkStatus('ml', ALL) }, { nad });
    assert.deepEqual(r.problems.map((p) => [p.check, p.cause]), [
      ['nad-resource-name', 'nad/ml/rail-1/resource'],
      ['nad-vf-cni', 'nad/ml/rail-2/cni'],
    ]);
  });

  it('a NAD missing', () => {
    const r = judge({ [NETWORKS]: networksList([0, 1, 2, 3]), [NETWORK_STATUS]: networkStatus('ml', ALL.slice(0, 3)) }, { nad: nadsFor([0, 1, 2]) });
    assert.deepEqual(r.problems.map((p) => [p.check, p.reason, p.cause]), [
      ['pod-networks-defined', 'NetworkAttachmentInvalid', 'nad/ml/rail-3/missing'],
      ['pod-networks-attached', 'NetworkAttachmentInvalid', 'network/ml/rail-3@net4'],
      ['pod-vfs-attached', 'VFNotAttached', 'vf/0000:4a:00.2'],
    ]);
  });

  it('a management macvlan network is not judged as a VF network', () => {
    const base = nadsFor([0, 1, 2, 3]);
    const nad = (ns: string, name: string): Fetched<NadInfo> =>
      name === 'mgmt' ? { state: 'ok', value: { namespace: ns, name, types: ['macvlan'], configAbsent: false } } : base(ns, name);
    const status = JSON.parse(networkStatus('ml', ALL)) as unknown[];
    status.push({ name: 'ml/mgmt', interface: 'mgmt0', mac: '02:11:22:33:44:55' });
    const r = judge({ [NETWORKS]: `${networksList([0, 1, 2, 3])},mgmt@mgmt0`, [NETWORK_STATUS]: JSON.stringify(status) }, { nad });
    assert.deepEqual(r.problems, []);
    assert.ok(r.notes.some((n) => /ml\/mgmt@mgmt0 is not a VF network \(CNI macvlan/.test(n)), r.notes.join('\n'));
    assert.ok(r.interfaces.some((i) => interfaceLine(i) === 'mgmt0 -> ml/mgmt (no VF)'));
  });

  it('malformed annotations are findings, never a crash', () => {
    const a = judge({ [NETWORKS]: '[{"name": "rail-0"', [NETWORK_STATUS]: networkStatus('ml', ALL) });
    assert.deepEqual(a.problems.map((p) => p.cause), ['annotation/networks']);
    assert.match(a.problems[0]!.message, /annotation k8s\.v1\.cni\.cncf\.io\/networks is malformed: not valid JSON/);
    const b = judge({ [NETWORKS]: networksList([0, 1, 2, 3]), [NETWORK_STATUS]: '[{"name": 1}]' });
    assert.deepEqual(b.problems.map((p) => p.cause), ['annotation/network-status']);
  });

  it('no network-status yet: pending while re-reads remain, every VF not attached once they are spent', () => {
    const waiting = judge({ [NETWORKS]: networksList([0, 1, 2, 3]) }, { final: false });
    assert.equal(waiting.state, 'pending');
    assert.match(waiting.why ?? '', /waiting for Multus/);
    const spent = judge({ [NETWORKS]: networksList([0, 1, 2, 3]) }, { final: true });
    assert.equal(spent.state, 'judged');
    assert.deepEqual(spent.problems.map((p) => p.cause), VFS.map((v) => `vf/${v.pci}`));
  });

  it('a pod that asks for no network but holds VFs: its VFs are not attached', () => {
    const r = judge({ [NETWORK_STATUS]: networkStatus('ml', []) });
    assert.deepEqual(r.problems.map((p) => p.reason), ['VFNotAttached', 'VFNotAttached', 'VFNotAttached', 'VFNotAttached']);
  });

  it('network-status without device-info: a VF of the NAD\'s resource counts as attached', () => {
    const status = (JSON.parse(networkStatus('ml', ALL)) as Record<string, unknown>[]).map((e) => {
      const { ['device-info']: _drop, ...rest } = e;
      return rest;
    });
    const r = judge({ [NETWORKS]: networksList([0, 1, 2, 3]), [NETWORK_STATUS]: JSON.stringify(status) });
    assert.deepEqual(r.problems, []);
    assert.equal(r.notes.filter((n) => /attached by resource/.test(n)).length, 4);
  });

  it('a pod that cannot be read is unknown (forbidden) or pending (not read yet)', () => {
    const base = { namespace: 'ml', name: 'p', vfs: VFS, nad: nadsFor([]) };
    const forbidden = judgePod({ ...base, pod: { fetch: { state: 'forbidden', message: 'pods "p" is forbidden' }, final: false } });
    assert.equal(forbidden.state, 'unknown');
    assert.match(forbidden.why ?? '', /forbidden/);
    assert.equal(judgePod({ ...base, pod: { fetch: { state: 'pending' }, final: false } }).state, 'pending');
    assert.equal(judgePod({ ...base, pod: { fetch: { state: 'not-found' }, final: true } }).state, 'unknown');
  });
});
