// GPU UUIDs from /proc/driver/nvidia/gpus/<pci>/information, as the pod-resources API names NVIDIA GPUs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from '../../agent/config/config.ts';
import { parseNvidiaGpuModel, parseNvidiaGpuUuid } from '../../agent/scan/gpu.ts';
import { scanNode } from '../../agent/scan/registry.ts';
import { buildDgxHost, dgxGpuUuid } from '../helpers/fixture-host.ts';

test('parseNvidiaGpuUuid', () => {
  const info = 'Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 200\nGPU UUID: \t GPU-5a1e0000-1b2c-3d4e-5f60-718293a4b5c0\nVideo BIOS: \t 96.00.74.00.0d\n';
  assert.equal(parseNvidiaGpuUuid(info), 'GPU-5a1e0000-1b2c-3d4e-5f60-718293a4b5c0');
  assert.equal(parseNvidiaGpuUuid('GPU UUID: \t ??\n'), undefined);
  assert.equal(parseNvidiaGpuUuid('Model: x\n'), undefined);
});

test('parseNvidiaGpuModel: the Model line, trimmed; none when absent or empty', () => {
  assert.equal(parseNvidiaGpuModel('Model: \t\t NVIDIA H200 \nIRQ:   \t\t 41\n'), 'NVIDIA H200');
  assert.equal(parseNvidiaGpuModel('IRQ: 41\nModel: \t\t NVIDIA H100 80GB HBM3\n'), 'NVIDIA H100 80GB HBM3');
  assert.equal(parseNvidiaGpuModel('Model: \t\t \nIRQ: 41\n'), undefined);
  assert.equal(parseNvidiaGpuModel('GPU UUID: \t GPU-5a1e0000-1b2c-3d4e-5f60-718293a4b5c0\n'), undefined);
});

test('each NVIDIA GPU gets its UUID; a file without one is a counted issue; no driver directory is no issue', (t) => {
  const host = buildDgxHost({ rails: 2, vfsPerPf: 1 });
  t.after(() => host.cleanup());
  const scan = () => scanNode({ sysfsRoot: host.sys, procfsRoot: host.proc, config: defaultConfig() });
  assert.deepEqual(scan().gpus.map((g) => g.uuid), [dgxGpuUuid(0), dgxGpuUuid(1)]);
  assert.deepEqual(scan().gpus.map((g) => g.model), ['NVIDIA H100 80GB HBM3', 'NVIDIA H100 80GB HBM3'], 'and its model');
  const second = scan().gpus[1]!.pci;
  host.writeProc(`driver/nvidia/gpus/${second}/information`, 'Model: \t\t NVIDIA H100\nGPU UUID: \t ??\n');
  const snap = scan();
  assert.deepEqual(snap.gpus.map((g) => g.uuid), [dgxGpuUuid(0), undefined]);
  assert.deepEqual(snap.gpus.map((g) => g.model), ['NVIDIA H100 80GB HBM3', 'NVIDIA H100'], 'a file without a UUID still names the model');
  assert.deepEqual(snap.issues.filter((i) => i.scanner === 'gpu').map((i) => [i.path, i.code]), [[`proc:driver/nvidia/gpus/${second}/information`, 'PARSE']]);
  const bare = buildDgxHost({ rails: 1, vfsPerPf: 1, gpus: false });
  t.after(() => bare.cleanup());
  assert.deepEqual(scanNode({ sysfsRoot: bare.sys, procfsRoot: bare.proc, config: defaultConfig() }).issues.filter((i) => i.scanner === 'gpu'), []);
});
