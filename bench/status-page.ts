// What serving the status page (GET /) costs next to a Prometheus scrape of /metrics: the real binary
// (`node agent/main.ts serve --no-kube`) on a fixture host, requests one at a time from this process, the
// server's CPU time per request read from /proc/<pid>/stat and the latency seen here. The page is rendered once
// per scan and a request only adds the scan's age, so it should cost no more than a scrape.
//   node bench/status-page.ts [--requests 300] [--rounds 3] [--vfs 4,128]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDgxHost } from '../test/helpers/fixture-host.ts';

const REPO = join(import.meta.dirname, '..');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** utime + stime of a process, ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function get(port: number, path: string, gzip: boolean): Promise<{ ms: number; bytes: number; status: number }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: performance.now() - t, bytes, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const requests = Number(arg('requests', '300'));
  const rounds = Number(arg('rounds', '3'));
  const sizes = arg('vfs', '4,128').split(',').map(Number);
  if (![requests, rounds, ...sizes].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--requests, --rounds and --vfs must be positive integers');
  console.log(`railwatch serve on a fixture host (8 rails), ${requests} requests per path per round, ${rounds} rounds, ${process.version}`);
  console.log('VFs/PF  path                  bytes   server CPU ms/req   latency ms p50   p99');
  let worst = 0;
  for (const vfs of sizes) {
    const host = buildDgxHost({ rails: 8, vfsPerPf: vfs, vfNetdevsInHost: Math.min(2, vfs), extras: true });
    const port = await freePort();
    const child = spawn(process.execPath, [join(REPO, 'agent/main.ts'), 'serve', '--no-kube', '--no-monitors', '--sysfs', host.sys, '--procfs', host.proc, '--listen', `127.0.0.1:${port}`, '--interval', '3600', '--log-level', 'warn'], { stdio: 'ignore' });
    try {
      for (let i = 0; ; i++) {
        const ok = await get(port, '/readyz', false).then((r) => r.status === 200, () => false);
        if (ok) break;
        if (i > 600) throw new Error('the agent did not become ready');
        await sleep(100);
      }
      const paths: [string, string, boolean][] = [
        ['/', '/', false],
        ['/metrics', '/metrics', false],
        ['/metrics (gzip)', '/metrics', true],
      ];
      const acc = new Map<string, { cpu: number; lat: number[]; bytes: number }>();
      for (const [label, path, gz] of paths) for (let i = 0; i < 20; i++) await get(port, path, gz); // warm-up
      for (let r = 0; r < rounds; r++) {
        for (const [label, path, gz] of paths) {
          const a = acc.get(label) ?? { cpu: 0, lat: [], bytes: 0 };
          const c0 = cpuMs(child.pid!);
          for (let i = 0; i < requests; i++) {
            const res = await get(port, path, gz);
            a.lat.push(res.ms);
            a.bytes = res.bytes;
          }
          a.cpu += cpuMs(child.pid!) - c0;
          acc.set(label, a);
        }
      }
      for (const [label, a] of acc) {
        const lat = [...a.lat].sort((x, y) => x - y);
        const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
        console.log(`${String(vfs).padEnd(7)} ${label.padEnd(18)} ${String(a.bytes).padStart(8)}   ${(a.cpu / (requests * rounds)).toFixed(3).padStart(17)}   ${q(0.5).toFixed(2).padStart(14)}   ${q(0.99).toFixed(2).padStart(4)}`);
      }
      const page = acc.get('/')!;
      const scrape = acc.get('/metrics (gzip)')!;
      const ratio = page.cpu / Math.max(1, scrape.cpu);
      worst = Math.max(worst, ratio);
      console.log(`        / costs ${(ratio * 100).toFixed(0)}% of a gzip scrape's server CPU`);
    } finally {
      child.kill('SIGTERM');
      host.cleanup();
    }
  }
  if (worst > 1) {
    console.log('FAIL: serving / costs more than a scrape of /metrics');
    process.exitCode = 1;
  }
}

await main();
