// Step 3: hugepages configured as the config asks (page size and count, per NUMA node when asked and known).
import type { CheckResult } from '../types.ts';
import { failedScanner, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 3, slug: 'hugepages' };

export const HUGEPAGES: CheckDefinition = {
  id: 'hugepages',
  title: 'Hugepages configured',
  reads: [
    '/sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages',
    '/sys/devices/system/node/node<N>/hugepages/hugepages-<size>kB/nr_hugepages',
    '/proc/meminfo (fallback)',
    'config: hugepages',
  ],
  why: 'DPDK and RDMA workloads on VFs pin their buffers in hugepages; a pod that requests hugepages-1Gi stays Pending, or a NUMA-local allocation fails, when the pool is short.',
  fix:
    'Reserve the pages at boot (default_hugepagesz=1G hugepagesz=1G hugepages=N on the kernel command line) or at run time ' +
    '(echo N > /sys/devices/system/node/nodeX/hugepages/hugepages-1048576kB/nr_hugepages), then restart the kubelet so it advertises them.',
};

export function sizeText(kb: number): string {
  if (kb % (1024 * 1024) === 0) return `${kb / (1024 * 1024)}Gi`;
  if (kb % 1024 === 0) return `${kb / 1024}Mi`;
  return `${kb}Ki`;
}

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const want = input.config.hugepages;
  if (want === undefined) return [r.skip(HUGEPAGES, 'no hugepages requested in the config')];
  const failed = failedScanner(input, 'host');
  if (failed) return [r.skip(HUGEPAGES, `the ${failed} scanner failed: hugepages unknown`)];
  const size = sizeText(want.sizeKb);
  const pool = input.snapshot.host.hugepages.find((p) => p.sizeKb === want.sizeKb);
  if (!pool) {
    const have = input.snapshot.host.hugepages.map((p) => sizeText(p.sizeKb));
    return [
      r.fail(HUGEPAGES, `no ${size} hugepage pool (wanted ${want.count}${want.perNuma ? ' per NUMA node' : ''})`, {
        details: have.length > 0 ? [`pools present: ${have.join(', ')}`] : [],
      }),
    ];
  }
  const nodes = Object.entries(pool.perNode).sort(([a], [b]) => Number(a) - Number(b));
  if (want.perNuma && nodes.length > 0) {
    const short = nodes.filter(([, n]) => n < want.count);
    const details = nodes.map(([node, n]) => `node${node}: ${n} x ${size}`);
    if (short.length > 0) {
      return [
        r.fail(HUGEPAGES, `${short.length} of ${nodes.length} NUMA nodes have fewer than ${want.count} ${size} hugepages`, { details }),
      ];
    }
    return [r.pass(HUGEPAGES, `${want.count} or more ${size} hugepages on each of ${nodes.length} NUMA nodes`, { details })];
  }
  const total = pool.total;
  if (total === undefined) return [r.skip(HUGEPAGES, `the ${size} hugepage count could not be read`)];
  const wantTotal = want.count;
  const note = want.perNuma ? ['no per-NUMA-node counts exposed: judged on the system-wide total'] : [];
  if (total < wantTotal) return [r.fail(HUGEPAGES, `${total} ${size} hugepages, wanted ${wantTotal}`, { details: note })];
  return [r.pass(HUGEPAGES, `${total} ${size} hugepages (wanted ${wantTotal})`, { details: note })];
}

export const hugepagesStep: Step = { ...STEP, title: 'Hugepages', checks: [HUGEPAGES], run };
