// Where the multi-second maxima of `npm run bench` under 200 scrapers come from: the first request on each of 200
// connections opened at once while the server is busy with the others. The connections complete their handshake in
// the kernel and wait in the listen socket's accept queue; the busy event loop takes them in slowly (seen with
// `ss -ltn`: a Recv-Q of 40+ on the listening socket draining for seconds). A plain Node HTTP server that answers a
// gzip body of railwatch's size with ~1 ms of work per request shows the same, so this is Node on a saturated
// 2-core machine, not railwatch. Kept-alive connections, as Prometheus keeps them, do not meet it.
//   node bench/accept-burst.ts [--idle-s 12]
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const i = process.argv.indexOf('--idle-s');
const IDLE_MS = (i >= 0 ? Number(process.argv[i + 1]) : 12) * 1000;
const PORT = 19600 + (process.pid % 300);

// The server: its own process, as railwatch is, answering 20 KB of gzip after ~1 ms of work.
const server = spawn(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
const body = gzipSync('x'.repeat(176000) + Math.random());
createServer((req, res) => {
  let x = 0; for (let i = 0; i < 3e5; i++) x += i;
  res.writeHead(200, { 'content-length': body.length, 'content-encoding': 'gzip', 'x-work': String(x) });
  res.end(body);
}).listen(${PORT}, '127.0.0.1', () => console.log('ready'));`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));

interface Phase {
  scrapers: number;
  idleMs: number;
  requests: number;
  overOneSecond: number;
  firstOnNewConnection: number;
  maxMs: number;
}

async function phase(scrapers: number, idleMs: number): Promise<Phase> {
  await sleep(idleMs);
  const agent = new Agent({ keepAlive: true, maxSockets: scrapers });
  const times: { ms: number; fresh: boolean }[] = [];
  const deadline = performance.now() + 5_000;
  await Promise.all(
    Array.from({ length: scrapers }, async () => {
      while (performance.now() < deadline) {
        await new Promise<void>((resolve) => {
          const started = performance.now();
          let fresh = false;
          const req = request({ host: '127.0.0.1', port: PORT, path: '/', agent }, (res) => {
            res.resume();
            res.on('end', () => {
              times.push({ ms: performance.now() - started, fresh });
              resolve();
            });
          });
          req.on('socket', (s) => (fresh = s.connecting));
          req.on('error', () => resolve());
          req.end();
        });
      }
    }),
  );
  agent.destroy();
  const slow = times.filter((t) => t.ms > 1000);
  return {
    scrapers,
    idleMs,
    requests: times.length,
    overOneSecond: slow.length,
    firstOnNewConnection: slow.filter((t) => t.fresh).length,
    maxMs: Math.max(...times.map((t) => t.ms)),
  };
}

try {
  const rows = [await phase(50, 0), await phase(200, IDLE_MS), await phase(200, IDLE_MS)];
  console.log(`plain Node ${process.version} HTTP server, 5 s per phase, keep-alive clients opened at once\n`);
  console.log('scrapers  idle before  requests  over 1 s  of them first on a new connection  max ms');
  for (const r of rows) {
    console.log(
      `${String(r.scrapers).padStart(8)}  ${`${r.idleMs / 1000} s`.padStart(11)}  ${String(r.requests).padStart(8)}  ${String(r.overOneSecond).padStart(8)}  ${String(r.firstOnNewConnection).padStart(33)}  ${r.maxMs.toFixed(0).padStart(6)}`,
    );
  }
} finally {
  server.kill();
}
