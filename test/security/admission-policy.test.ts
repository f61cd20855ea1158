// The ValidatingAdmissionPolicy of manifests/overlays/restricted, evaluated with a maintained CEL evaluator
// (@bufbuild/cel) the way the API server does: matchConditions first, then the variables in order (each may use
// the earlier ones), then every validation; a request is admitted when all validations are true.
// The policy uses only standard CEL (has, in, all, filter, size, startsWith, ==, ?:): none of the Kubernetes CEL
// libraries (lists, regex, url, quantity, authz, ip/cidr, format) that @bufbuild/cel lacks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { run, type CelInput } from '@bufbuild/cel';
import { parse as parseYaml } from 'yaml';
import { REPO } from '../reliability/helpers.ts';

interface Policy {
  spec: {
    matchConditions: { name: string; expression: string }[];
    variables: { name: string; expression: string }[];
    validations: { expression: string; message: string }[];
  };
}

const policy = parseYaml(readFileSync(join(REPO, 'manifests/overlays/restricted/validating-admission-policy.yaml'), 'utf8')) as Policy;
const SA = 'system:serviceaccount:railwatch:railwatch';
const CLAIM = 'authentication.kubernetes.io/node-name';

/** JSON objects become CEL maps (as the API server presents unstructured objects), recursively. */
function toCel(v: unknown): CelInput {
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v as CelInput;
}

/** Kubernetes CEL functions the evaluator would need if the policy used them (it must not). */
const K8S_ONLY_FUNCTIONS = /\b(isSorted|sum|min|max|indexOf|lastIndexOf|matches|find|findAll|url|getHost|quantity|isQuantity|authorizer|ip|cidr|isIP|isCIDR|format\.\w+|base64|lowerAscii|upperAscii|replace|split|join|trim)\s*\(/;

type Verdict = 'not-matched' | 'allowed' | `denied: ${string}`;

function admit(req: { username?: string; nodeClaim?: string[] | undefined; oldObject: object; object: object }): Verdict {
  const extra = req.nodeClaim === undefined ? undefined : { [CLAIM]: req.nodeClaim };
  const request = { userInfo: { username: req.username ?? SA, ...(extra === undefined ? {} : { extra }) }, operation: 'UPDATE' };
  const base = { request: toCel(request), object: toCel(req.object), oldObject: toCel(req.oldObject) };
  for (const m of policy.spec.matchConditions) {
    if (run(m.expression, base) !== true) return 'not-matched';
  }
  const map = new Map<string, unknown>();
  const variables = map as CelInput;
  for (const v of policy.spec.variables) map.set(v.name, run(v.expression, { ...base, variables }));
  for (const v of policy.spec.validations) {
    const r = run(v.expression, { ...base, variables });
    if (r !== true) return `denied: ${v.message}`;
  }
  return 'allowed';
}

function node(name: string, labels: Record<string, string>, conditions: object[] = [], extra: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { podCIDR: '10.0.0.0/24' },
    status: { capacity: { cpu: '64', 'nvidia.com/gpu': '8' }, allocatable: { cpu: '63', 'nvidia.com/gpu': '8' }, conditions },
    ...extra,
  };
}

const READY = { type: 'Ready', status: 'True', reason: 'KubeletReady' };
const RDMA_OK = { type: 'RdmaNetworkReady', status: 'True', reason: 'AllChecksPassed' };
const RDMA_BAD = { type: 'RdmaNetworkReady', status: 'False', reason: 'NicVfs' };
const BASE_LABELS = { 'kubernetes.io/hostname': 'node-a', 'railwatch.io/rails': '8' };

describe('ValidatingAdmissionPolicy railwatch-node-scope', () => {
  test('uses no Kubernetes-only CEL library function (so @bufbuild/cel evaluates it as the API server would)', () => {
    const all = [...policy.spec.matchConditions, ...policy.spec.variables, ...policy.spec.validations].map((e) => e.expression);
    assert.deepEqual(all.filter((e) => K8S_ONLY_FUNCTIONS.test(e)), []);
    assert.ok(all.length >= 10);
  });

  test('allowed: own node, own label prefix, own condition', () => {
    const old = node('node-a', BASE_LABELS, [READY]);
    const cases: [string, object][] = [
      ['add a label under the prefix', node('node-a', { ...BASE_LABELS, 'railwatch.io/rdma': 'true' }, [READY])],
      ['change a label under the prefix', node('node-a', { ...BASE_LABELS, 'railwatch.io/rails': '7' }, [READY])],
      ['remove a label under the prefix', node('node-a', { 'kubernetes.io/hostname': 'node-a' }, [READY])],
      ['add the RdmaNetworkReady condition', node('node-a', BASE_LABELS, [READY, RDMA_OK])],
      ['no change at all', node('node-a', BASE_LABELS, [READY])],
    ];
    assert.deepEqual(cases.map(([what, obj]) => `${what}: ${admit({ nodeClaim: ['node-a'], oldObject: old, object: obj })}`), cases.map(([what]) => `${what}: allowed`));
    const withRdma = node('node-a', BASE_LABELS, [READY, RDMA_OK]);
    assert.equal(admit({ nodeClaim: ['node-a'], oldObject: withRdma, object: node('node-a', BASE_LABELS, [RDMA_BAD, READY]) }), 'allowed');
  });

  test('denied: another node, another prefix, another condition, capacity, spec, annotations', () => {
    const old = node('node-a', BASE_LABELS, [READY, RDMA_OK]);
    const own = (labels: Record<string, string>, conds: object[] = [READY, RDMA_OK], extra: Record<string, unknown> = {}) => node('node-a', labels, conds, extra);
    const cases: [string, Parameters<typeof admit>[0], string][] = [
      ['token bound to another node', { nodeClaim: ['node-b'], oldObject: old, object: own({ ...BASE_LABELS, 'railwatch.io/x': '1' }) }, 'only the Node it runs on'],
      ['token without the node-name claim', { nodeClaim: undefined, oldObject: old, object: own(BASE_LABELS) }, 'only the Node it runs on'],
      ['two node-name claims', { nodeClaim: ['node-a', 'node-b'], oldObject: old, object: own(BASE_LABELS) }, 'only the Node it runs on'],
      ['label under another prefix', { nodeClaim: ['node-a'], oldObject: old, object: own({ ...BASE_LABELS, 'evil.io/owned': 'yes' }) }, 'only labels under railwatch.io/'],
      ['look-alike prefix', { nodeClaim: ['node-a'], oldObject: old, object: own({ ...BASE_LABELS, 'railwatch.io.evil/x': '1' }) }, 'only labels under railwatch.io/'],
      ['change a system label', { nodeClaim: ['node-a'], oldObject: old, object: own({ ...BASE_LABELS, 'kubernetes.io/hostname': 'x' }) }, 'only labels under railwatch.io/'],
      ['remove a system label', { nodeClaim: ['node-a'], oldObject: old, object: own({ 'railwatch.io/rails': '8' }) }, 'only labels under railwatch.io/'],
      ['change the Ready condition', { nodeClaim: ['node-a'], oldObject: old, object: own(BASE_LABELS, [{ ...READY, status: 'False' }, RDMA_OK]) }, 'only the RdmaNetworkReady condition'],
      ['add another condition', { nodeClaim: ['node-a'], oldObject: old, object: own(BASE_LABELS, [READY, RDMA_OK, { type: 'NetworkUnavailable', status: 'True' }]) }, 'only the RdmaNetworkReady condition'],
      ['drop the Ready condition', { nodeClaim: ['node-a'], oldObject: old, object: own(BASE_LABELS, [RDMA_OK]) }, 'only the RdmaNetworkReady condition'],
      [
        'change capacity',
        { nodeClaim: ['node-a'], oldObject: old, object: { ...own(BASE_LABELS), status: { capacity: { cpu: '128' }, allocatable: { cpu: '63', 'nvidia.com/gpu': '8' }, conditions: [READY, RDMA_OK] } } },
        "capacity or allocatable",
      ],
      ['add a taint', { nodeClaim: ['node-a'], oldObject: old, object: own(BASE_LABELS, [READY, RDMA_OK], { spec: { podCIDR: '10.0.0.0/24', taints: [{ key: 'x', effect: 'NoSchedule' }] } }) }, 'spec or annotations'],
      ['cordon', { nodeClaim: ['node-a'], oldObject: old, object: own(BASE_LABELS, [READY, RDMA_OK], { spec: { podCIDR: '10.0.0.0/24', unschedulable: true } }) }, 'spec or annotations'],
      [
        'change an annotation',
        { nodeClaim: ['node-a'], oldObject: old, object: { ...own(BASE_LABELS), metadata: { name: 'node-a', labels: BASE_LABELS, annotations: { a: 'b' } } } },
        'spec or annotations',
      ],
    ];
    const got = cases.map(([what, req]) => `${what}: ${admit(req)}`);
    const want = cases.map(([what, , msg]) => `${what}: denied: ${policy.spec.validations.find((v) => v.message.includes(msg))?.message}`);
    assert.deepEqual(got, want);
  });

  test('other users are not matched (RBAC decides for them)', () => {
    const old = node('node-a', BASE_LABELS, [READY]);
    assert.equal(admit({ username: 'system:node:node-a', nodeClaim: ['node-a'], oldObject: old, object: node('node-a', {}, []) }), 'not-matched');
    assert.equal(admit({ username: 'system:serviceaccount:other:railwatch', oldObject: old, object: node('node-a', {}, []) }), 'not-matched');
  });
});
