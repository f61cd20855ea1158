// The Kubernetes manifests as kubectl renders them: every kustomization renders, every object validates against
// the Kubernetes OpenAPI schema (kubernetes-models), the DaemonSet has the security settings and read-only mounts
// railwatch promises, and the ClusterRole grants exactly the API calls in agent/kube/api-calls.ts.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseCel } from '@bufbuild/cel';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Namespace, Service, ServiceAccount, ConfigMap } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { FLEET_API_CALLS, KUBE_API_CALLS, policyRulesFor } from '../../agent/kube/api-calls.ts';
import { parseConfigText } from '../../agent/config/config.ts';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const manifestsDir = path.join(repoRoot, 'manifests');

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

type ModelCtor = new (data: never) => { validate(): void };

/** Built-in kinds railwatch ships, validated with the kubernetes-models OpenAPI schemas. */
const MODELS: Record<string, ModelCtor> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/DaemonSet': DaemonSet,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': ValidatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': ValidatingAdmissionPolicyBinding,
};

/** Custom resources (no schema in kubernetes-models): checked by hand below. */
const CUSTOM_KINDS = new Set(['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule']);

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

const EXPECTED_OVERLAYS = ['nfd-rdma', 'prometheus-operator', 'restricted'];

async function render(dir: string): Promise<KubeObject[]> {
  const { stdout } = await execFileAsync('kubectl', ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 });
  const docs = parseAllDocuments(stdout);
  return docs.map((doc) => {
    assert.deepEqual(doc.errors, [], `YAML errors in the rendering of ${dir}`);
    return doc.toJS() as KubeObject;
  });
}

function typeKey(obj: KubeObject): string {
  return `${obj.apiVersion}/${obj.kind}`;
}

function find(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as KubeObject;
}

// Minimal structural views of the rendered objects, for the assertions below.
interface Container {
  name: string;
  args?: string[];
  env?: unknown[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: unknown;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  resources?: unknown;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
}
interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  configMap?: { name: string };
  emptyDir?: unknown;
}
interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  [key: string]: unknown;
}
interface DaemonSetObject extends KubeObject {
  spec: { updateStrategy: unknown; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

function podSpecOf(objects: KubeObject[]): PodSpec {
  return (find(objects, 'DaemonSet', 'railwatch') as DaemonSetObject).spec.template.spec;
}

function containerOf(objects: KubeObject[]): Container {
  const spec = podSpecOf(objects);
  assert.equal(spec.containers.length, 1);
  return spec.containers[0] as Container;
}

function checkServiceMonitor(obj: KubeObject, service: KubeObject): void {
  const spec = obj['spec'] as {
    selector?: { matchLabels?: Record<string, string> };
    endpoints?: { port?: string; path?: string; relabelings?: unknown[] }[];
  };
  assert.ok(spec.selector?.matchLabels, 'ServiceMonitor spec.selector.matchLabels');
  const serviceLabels = service.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec.selector.matchLabels)) {
    assert.equal(serviceLabels[k], v, `ServiceMonitor selects ${k}=${v}, the Service has ${serviceLabels[k]}`);
  }
  assert.ok(Array.isArray(spec.endpoints) && spec.endpoints.length > 0, 'ServiceMonitor spec.endpoints');
  const servicePorts = ((service['spec'] as { ports: { name: string }[] }).ports ?? []).map((p) => p.name);
  for (const ep of spec.endpoints) {
    assert.ok(ep.port !== undefined && servicePorts.includes(ep.port), `endpoint port ${ep.port} is a Service port`);
    assert.equal(ep.path, '/metrics');
    assert.deepEqual(ep.relabelings, [
      { sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node', action: 'replace' },
    ]);
  }
}

function checkPrometheusRule(obj: KubeObject): void {
  const spec = obj['spec'] as { groups?: { name?: unknown; rules?: Record<string, unknown>[] }[] };
  assert.ok(Array.isArray(spec.groups) && spec.groups.length > 0, 'PrometheusRule spec.groups');
  const groupNames = new Set<string>();
  for (const group of spec.groups) {
    assert.equal(typeof group.name, 'string', 'PrometheusRule group name');
    assert.ok(!groupNames.has(group.name as string), `duplicate group ${String(group.name)}`);
    groupNames.add(group.name as string);
    assert.ok(Array.isArray(group.rules) && group.rules.length > 0, `group ${String(group.name)} has rules`);
    for (const rule of group.rules) {
      assert.equal(typeof rule['expr'], 'string', 'rule expr');
      const named = [rule['alert'], rule['record']].filter((x) => typeof x === 'string');
      assert.equal(named.length, 1, `rule has exactly one of alert/record: ${JSON.stringify(rule)}`);
    }
  }
}

describe('manifests', () => {
  const rendered = new Map<string, KubeObject[]>();

  before(async () => {
    const overlays = (await readdir(path.join(manifestsDir, 'overlays'), { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual(overlays, EXPECTED_OVERLAYS);
    rendered.set('base', await render(path.join(manifestsDir, 'base')));
    for (const overlay of overlays) {
      rendered.set(overlay, await render(path.join(manifestsDir, 'overlays', overlay)));
    }
  });

  function base(): KubeObject[] {
    const objects = rendered.get('base');
    assert.ok(objects);
    return objects;
  }

  it('the base renders exactly the expected objects', () => {
    const names = base().map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
    assert.deepEqual(names, [
      'ClusterRole//railwatch',
      'ClusterRoleBinding//railwatch',
      'ConfigMap/railwatch/railwatch-config',
      'DaemonSet/railwatch/railwatch',
      'Namespace//railwatch',
      'Service/railwatch/railwatch',
      'ServiceAccount/railwatch/railwatch',
    ]);
  });

  it('every object of every kustomization validates', async () => {
    for (const [name, objects] of rendered) {
      const service = find(objects, 'Service', 'railwatch');
      for (const obj of objects) {
        const where = `${name}: ${obj.kind} ${obj.metadata.name}`;
        assert.equal(obj.metadata.namespace === undefined, CLUSTER_SCOPED.has(obj.kind), `${where}: namespace`);
        if (!CLUSTER_SCOPED.has(obj.kind)) assert.equal(obj.metadata.namespace, 'railwatch', where);
        const Model = MODELS[typeKey(obj)];
        if (Model) {
          assert.doesNotThrow(() => new Model(obj as never).validate(), where);
        } else if (typeKey(obj) === 'monitoring.coreos.com/v1/ServiceMonitor') {
          checkServiceMonitor(obj, service);
        } else if (typeKey(obj) === 'monitoring.coreos.com/v1/PrometheusRule') {
          checkPrometheusRule(obj);
        } else {
          assert.fail(`${where}: ${typeKey(obj)} is neither a known model nor one of ${[...CUSTOM_KINDS].join(', ')}`);
        }
      }
    }
  });

  it('a broken object fails validation (the check can fail)', () => {
    const ds = structuredClone(find(base(), 'DaemonSet')) as DaemonSetObject;
    (ds.spec.template.spec.containers[0] as Container).ports = [{ name: 'metrics', containerPort: 'x' as unknown as number }];
    assert.throws(() => new DaemonSet(ds as never).validate(), /containerPort/);
  });

  it('every overlay contains the base objects unchanged, except the nodeSelector of nfd-rdma', () => {
    for (const overlay of EXPECTED_OVERLAYS) {
      const objects = rendered.get(overlay);
      assert.ok(objects);
      for (const obj of base()) {
        const same: KubeObject = structuredClone(find(objects, obj.kind, obj.metadata.name));
        if (overlay === 'nfd-rdma' && obj.kind === 'DaemonSet') {
          const spec: PodSpec = (same as DaemonSetObject).spec.template.spec;
          assert.deepEqual(spec['nodeSelector'], {
            'kubernetes.io/os': 'linux',
            'feature.node.kubernetes.io/custom-rdma.capable': 'true',
          });
          spec['nodeSelector'] = { 'kubernetes.io/os': 'linux' };
        }
        assert.deepEqual(same, obj, `${overlay}: ${obj.kind} ${obj.metadata.name}`);
      }
    }
  });

  it('the DaemonSet pod runs in the host network namespace with the expected scheduling', () => {
    const ds = find(base(), 'DaemonSet') as DaemonSetObject;
    assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
    const { containers: _c, volumes: _v, ...pod } = podSpecOf(base());
    assert.deepEqual(pod, {
      serviceAccountName: 'railwatch',
      automountServiceAccountToken: true,
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
      hostPID: false,
      hostIPC: false,
      priorityClassName: 'system-node-critical',
      terminationGracePeriodSeconds: 10,
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [
        { key: 'nvidia.com/gpu', operator: 'Exists' },
        { operator: 'Exists', effect: 'NoSchedule' },
      ],
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    });
  });

  it('the container drops every capability, cannot escalate and has a read-only root filesystem', () => {
    const c = containerOf(base());
    assert.deepEqual(c.securityContext, {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(c.resources, { requests: { cpu: '20m', memory: '96Mi' }, limits: { memory: '192Mi' } });
  });

  it('the container serves on 9839 with probes on /healthz and /readyz and reads the host at /host/sys and /host/proc', () => {
    const c = containerOf(base());
    assert.deepEqual(c.args, [
      'serve',
      '--sysfs',
      '/host/sys',
      '--procfs',
      '/host/proc',
      '--root',
      '/',
      '--config',
      '/etc/railwatch/config.yaml',
      '--listen',
      '0.0.0.0:9839',
    ]);
    assert.deepEqual(c.env, [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
    assert.deepEqual(c.ports, [{ name: 'metrics', containerPort: 9839, protocol: 'TCP' }]);
    assert.deepEqual(c.livenessProbe, {
      httpGet: { path: '/healthz', port: 'metrics' },
      initialDelaySeconds: 10,
      periodSeconds: 20,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    assert.deepEqual(c.readinessProbe, {
      httpGet: { path: '/readyz', port: 'metrics' },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
  });

  it('host paths are mounted read-only, at the paths the config names', () => {
    const spec = podSpecOf(base());
    const c = containerOf(base());
    const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.name, m]));
    const hostMounts = (spec.volumes ?? [])
      .filter((v) => v.hostPath !== undefined)
      .map((v) => {
        const m = mounts.get(v.name);
        assert.ok(m, `hostPath volume ${v.name} is mounted`);
        return { host: v.hostPath?.path, type: v.hostPath?.type, container: m.mountPath, readOnly: m.readOnly };
      });
    assert.deepEqual(hostMounts, [
      { host: '/sys', type: 'Directory', container: '/host/sys', readOnly: true },
      { host: '/proc', type: 'Directory', container: '/host/proc', readOnly: true },
      { host: '/var/lib/kubelet/pod-resources', type: 'Directory', container: '/var/lib/kubelet/pod-resources', readOnly: true },
      { host: '/var/lib/kubelet/device-plugins', type: 'Directory', container: '/var/lib/kubelet/device-plugins', readOnly: true },
      { host: '/etc/cni/net.d', type: 'DirectoryOrCreate', container: '/etc/cni/net.d', readOnly: true },
      { host: '/opt/cni/bin', type: 'DirectoryOrCreate', container: '/opt/cni/bin', readOnly: true },
    ]);
    // The only writable mount is a small in-memory /tmp; the ConfigMap is a whole directory (updates propagate).
    const writable = (c.volumeMounts ?? []).filter((m) => m.readOnly !== true);
    assert.deepEqual(writable, [{ name: 'tmp', mountPath: '/tmp' }]);
    assert.deepEqual(
      (spec.volumes ?? []).find((v) => v.name === 'tmp'),
      { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
    );
    assert.deepEqual(mounts.get('config'), { name: 'config', mountPath: '/etc/railwatch', readOnly: true });
    assert.equal((spec.volumes ?? []).find((v) => v.name === 'config')?.configMap?.name, 'railwatch-config');
    assert.ok((c.volumeMounts ?? []).every((m) => m.subPath === undefined), 'no subPath mounts');

    // The config's paths point into those mounts.
    const configMap = find(base(), 'ConfigMap', 'railwatch-config');
    const config = parseConfigText((configMap['data'] as Record<string, string>)['config.yaml'] ?? '');
    const mountPaths = (c.volumeMounts ?? []).map((m) => m.mountPath);
    assert.ok(mountPaths.includes(path.posix.dirname(config.kubelet.podResourcesSocket)));
    assert.ok(mountPaths.includes(config.kubelet.devicePluginsDir));
    assert.ok(mountPaths.includes(config.cni.confDir));
    assert.ok(mountPaths.includes(config.cni.binDir));
  });

  it("the ConfigMap's config.yaml is YAML with every default spelled out", () => {
    const configMap = find(base(), 'ConfigMap', 'railwatch-config');
    const text = (configMap['data'] as Record<string, string>)['config.yaml'];
    assert.equal(typeof text, 'string');
    assert.deepEqual(parseYaml(text as string), {
      labelPrefix: 'railwatch.io/',
      scanIntervalSeconds: 10,
      rails: {},
      kubelet: {
        podResourcesSocket: '/var/lib/kubelet/pod-resources/kubelet.sock',
        devicePluginsDir: '/var/lib/kubelet/device-plugins',
      },
      cni: { confDir: '/etc/cni/net.d', binDir: '/opt/cni/bin' },
    });
    // The one-line commented examples (`# expectedRails: 8`) are valid settings once uncommented.
    const examples = (text as string)
      .split('\n')
      .map((line) => /^# ([a-zA-Z]+: \d+)$/.exec(line)?.[1])
      .filter((line) => line !== undefined);
    assert.deepEqual(
      examples.map((line) => Object.keys(parseYaml(line) as object)),
      [['expectedRails'], ['desiredVfs'], ['expectedRateGbps'], ['expectedMtu']],
    );
    for (const line of examples) assert.doesNotThrow(() => parseConfigText(line), line);
  });

  it('the Service selects the DaemonSet pods on the metrics port', () => {
    const service = find(base(), 'Service', 'railwatch');
    const ds = find(base(), 'DaemonSet') as DaemonSetObject;
    const spec = service['spec'] as { selector: Record<string, string>; clusterIP: string; ports: unknown[] };
    for (const [k, v] of Object.entries(spec.selector)) assert.equal(ds.spec.template.metadata.labels[k], v);
    assert.deepEqual(spec.selector, ds.spec.selector.matchLabels);
    assert.equal(spec.clusterIP, 'None');
    assert.deepEqual(spec.ports, [{ name: 'metrics', port: 9839, targetPort: 'metrics', protocol: 'TCP' }]);
  });

  it('the ClusterRole grants exactly the API calls the code makes (both ways)', () => {
    const role = find(base(), 'ClusterRole', 'railwatch');
    const rules = role['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
    const granted = rules
      .flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}|${res}|${v}`))))
      .sort();
    const called = KUBE_API_CALLS.map((c) => `${c.group}|${c.resource}|${c.verb}`).sort();
    assert.deepEqual(granted, called);
    assert.equal(new Set(granted).size, granted.length, 'no call granted twice');
    assert.deepEqual(rules, policyRulesFor(KUBE_API_CALLS));

    const binding = find(base(), 'ClusterRoleBinding', 'railwatch');
    const sa = find(base(), 'ServiceAccount');
    assert.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'railwatch' });
    assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    assert.equal(podSpecOf(base())['serviceAccountName'], sa.metadata.name);
  });

  it('manifests/fleet-reader grants `railwatch fleet` exactly its list calls, bound to its own ServiceAccount', async () => {
    const objects = await render(path.join(manifestsDir, 'fleet-reader'));
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(), [
      'ClusterRole//railwatch-fleet-reader',
      'ClusterRoleBinding//railwatch-fleet-reader',
      'ServiceAccount/railwatch/railwatch-fleet',
    ]);
    for (const obj of objects) assert.doesNotThrow(() => new MODELS[typeKey(obj)]!(obj as never).validate(), obj.kind);
    const role = find(objects, 'ClusterRole', 'railwatch-fleet-reader');
    assert.deepEqual(role['rules'], policyRulesFor(FLEET_API_CALLS));
    assert.ok(FLEET_API_CALLS.every((c) => c.verb === 'list'), 'fleet only lists');
    const binding = find(objects, 'ClusterRoleBinding');
    assert.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'railwatch-fleet-reader' });
    assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'railwatch-fleet', namespace: 'railwatch' }]);
  });

  it('the restricted overlay binds a policy for the agent service account, the label prefix and the condition it owns', () => {
    const objects = rendered.get('restricted');
    assert.ok(objects);
    const policy = find(objects, 'ValidatingAdmissionPolicy');
    const binding = find(objects, 'ValidatingAdmissionPolicyBinding');
    const spec = policy['spec'] as {
      failurePolicy: string;
      matchConstraints: unknown;
      matchConditions: { name: string; expression: string }[];
      variables: { name: string; expression: string }[];
      validations: { expression: string; message: string }[];
    };
    assert.deepEqual(binding['spec'], { policyName: policy.metadata.name, validationActions: ['Deny'] });
    assert.equal(spec.failurePolicy, 'Fail');
    assert.deepEqual(spec.matchConstraints, {
      resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['nodes', 'nodes/status'] }],
    });
    const sa = find(objects, 'ServiceAccount');
    assert.deepEqual(spec.matchConditions, [
      {
        name: 'railwatch-service-account',
        expression: `request.userInfo.username == 'system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}'`,
      },
    ]);
    const variables = Object.fromEntries(spec.variables.map((v) => [v.name, v.expression]));
    const configMap = find(objects, 'ConfigMap', 'railwatch-config');
    const config = parseConfigText((configMap['data'] as Record<string, string>)['config.yaml'] ?? '');
    assert.equal(variables['labelPrefix'], `'${config.labelPrefix}'`);
    assert.equal(variables['ownCondition'], "'RdmaNetworkReady'");
    assert.match(variables['tokenNodeName'] ?? '', /authentication\.kubernetes\.io\/node-name/);
    assert.equal(spec.validations.length, 5);
    // Syntax only; the evaluation against allowed and denied requests lives with the reliability tests.
    for (const e of [...spec.matchConditions, ...spec.variables, ...spec.validations]) {
      assert.doesNotThrow(() => parseCel(e.expression), e.expression);
    }
  });

  it('the prometheus-operator overlay scrapes every agent with a node label, and its rules pass promtool', async () => {
    const objects = rendered.get('prometheus-operator');
    assert.ok(objects);
    const monitor = find(objects, 'ServiceMonitor');
    checkServiceMonitor(monitor, find(objects, 'Service', 'railwatch'));
    const rule = find(objects, 'PrometheusRule');
    checkPrometheusRule(rule);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'railwatch-rules-'));
    try {
      const file = path.join(dir, 'rules.yaml');
      await writeFile(file, JSON.stringify(rule['spec']));
      const { stdout } = await execFileAsync('promtool', ['check', 'rules', file]);
      assert.match(stdout, /SUCCESS/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
