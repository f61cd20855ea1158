import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cniTypes, parseNad, parseNetworks, parseNetworkStatus } from '../../agent/attach/annotations.ts';

describe('networks annotation', () => {
  it('reads the comma-separated form, with and without namespace and interface', () => {
    assert.deepEqual(parseNetworks('rails/rail-0@net1, rail-1 ,other/rail-2', 'ml'), {
      ok: [
        { namespace: 'rails', name: 'rail-0', interface: 'net1' },
        { namespace: 'ml', name: 'rail-1' },
        { namespace: 'other', name: 'rail-2' },
      ],
    });
  });

  it('reads the JSON form', () => {
    const value = JSON.stringify([{ name: 'rail-0', interface: 'net1' }, { name: 'rail-1', namespace: 'rails', ips: ['10.0.0.1/24'] }]);
    assert.deepEqual(parseNetworks(value, 'ml'), {
      ok: [
        { namespace: 'ml', name: 'rail-0', interface: 'net1' },
        { namespace: 'rails', name: 'rail-1' },
      ],
    });
  });

  it('an empty annotation asks for nothing', () => {
    assert.deepEqual(parseNetworks('  ', 'ml'), { ok: [] });
  });

  const bad: [string, RegExp][] = [
    ['[{"name": "rail-0"', /not valid JSON/],
    ['{"name": "rail-0"}', /must be a list/],
    ['[{"interface": "net1"}]', /element 0 has no "name"/],
    ['["rail-0"]', /element 0 is string/],
    ['[{"name": "rail-0", "namespace": 7}]', /"namespace" is number/],
    ['rail-0,,rail-1', /item 2 .* is empty/],
    ['a/b/c', /not \[namespace\/\]name\[@interface\]/],
    ['Rail_0', /not a valid NetworkAttachmentDefinition name/],
    ['rail-0@', /interface "" is not a valid interface name/],
    ['rail-0@a-very-long-interface-name', /not a valid interface name/],
  ];
  for (const [value, msg] of bad) {
    it(`rejects ${JSON.stringify(value)} with a reason`, () => {
      const r = parseNetworks(value, 'ml');
      assert.ok('error' in r, JSON.stringify(r));
      assert.match(r.error, msg);
    });
  }
});

describe('network-status annotation', () => {
  it('reads name, interface, mac and the PCI address of device-info', () => {
    const value = JSON.stringify([
      { name: 'k8s-pod-network', interface: 'eth0', ips: ['10.1.2.3'], default: true },
      { name: 'ml/rail-0', interface: 'net1', mac: '0A:1B:2C:3D:4E:5F', dns: {}, 'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:1A:00.2', 'rdma-device': 'mlx5_12' } } },
      { name: 'ml/mgmt', interface: 'net2', 'device-info': { type: 'vdpa', vdpa: {} } },
    ]);
    assert.deepEqual(parseNetworkStatus(value), {
      ok: [
        { name: 'k8s-pod-network', interface: 'eth0', default: true },
        { name: 'ml/rail-0', interface: 'net1', mac: '0a:1b:2c:3d:4e:5f', default: false, pciAddress: '0000:1a:00.2' },
        { name: 'ml/mgmt', interface: 'net2', default: false },
      ],
    });
  });

  for (const [value, msg] of [
    ['{', /not valid JSON/],
    ['{}', /must be a JSON list/],
    ['[{"interface": "net1"}]', /entry 0 has no "name"/],
    ['[null]', /entry 0 is null/],
  ] as const) {
    it(`rejects ${value} with a reason`, () => {
      const r = parseNetworkStatus(value);
      assert.ok('error' in r);
      assert.match(r.error, msg);
    });
  }
});

describe('NetworkAttachmentDefinition', () => {
  const nad = (annotations: Record<string, string>, spec: unknown) => ({ metadata: { name: 'rail-0', namespace: 'ml', annotations }, spec });

  it('reads the resourceName and the types of a plugins list (sriov chained with rdma and tuning)', () => {
    const config = JSON.stringify({ cniVersion: '1.0.0', name: 'rail-0', plugins: [{ type: 'sriov', ipam: { type: 'whereabouts' } }, { type: 'rdma' }, { type: 'tuning', sysctl: {} }] });
    assert.deepEqual(parseNad(nad({ 'k8s.v1.cni.cncf.io/resourceName': 'nvidia.com/rail0' }, { config }), 'ml', 'rail-0'), {
      ok: { namespace: 'ml', name: 'rail-0', resourceName: 'nvidia.com/rail0', types: ['sriov', 'rdma', 'tuning'], configAbsent: false },
    });
  });

  it('reads a single plugin config and notes an absent spec.config', () => {
    assert.deepEqual(cniTypes('{"type": "ib-sriov", "pkey": "0x7fff"}'), { ok: ['ib-sriov'] });
    const r = parseNad(nad({}, {}), 'ml', 'rail-0');
    assert.ok('ok' in r);
    assert.equal(r.ok.configAbsent, true);
    assert.equal(r.ok.resourceName, undefined);
  });

  it('keeps a malformed spec.config as a finding, not a crash', () => {
    for (const [config, msg] of [
      ['{"type": "sriov"', /not valid JSON/],
      ['[]', /not a CNI config object/],
      ['{"plugins": {}}', /"plugins" is object/],
      ['{"plugins": [{"type": "sriov"}, {}]}', /plugins\[1\] has no "type"/],
      ['{"plugins": []}', /"plugins" is empty/],
      ['{"name": "x"}', /neither "type" nor "plugins"/],
    ] as const) {
      const r = parseNad(nad({}, { config }), 'ml', 'rail-0');
      assert.ok('ok' in r);
      assert.match(r.ok.configError ?? '', msg, config);
    }
    const r = parseNad(nad({}, { config: { type: 'sriov' } }), 'ml', 'rail-0');
    assert.ok('ok' in r);
    assert.match(r.ok.configError ?? '', /not a string of JSON/);
  });

  it('rejects a body that is not a NAD', () => {
    assert.ok('error' in parseNad('<html>', 'ml', 'rail-0'));
    assert.ok('error' in parseNad({ kind: 'Status' }, 'ml', 'rail-0'));
  });
});
