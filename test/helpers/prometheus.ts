// Starts a real Prometheus (the Debian `prometheus` binary) on a free loopback port with a temporary data directory,
// scraping the given targets. For tests: stop() kills it and removes the directory; a process exit handler kills it
// too if a test ends without calling stop().

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';

export interface ScrapeTarget {
  /** Full URL of the metrics endpoint, e.g. http://127.0.0.1:4567/metrics. */
  url: string;
  /** Target labels; `job` here overrides the generated job name. */
  labels?: Record<string, string>;
}

export interface StartPrometheusOptions {
  scrapeTargets: ScrapeTarget[];
  scrapeIntervalS?: number;
  /** Rule files for the `rule_files:` section (absolute paths). */
  ruleFiles?: string[];
  /** How long to wait for /-/ready. */
  readyTimeoutMs?: number;
  binary?: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** data of an /api/v1/query answer: series for vector and matrix, [time, value] for scalar and string. */
export type QueryResult =
  | { resultType: 'vector' | 'matrix'; result: PromSample[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

export interface RunningPrometheus {
  baseUrl: string;
  /** Instant query through /api/v1/query; throws with Prometheus' error text when the status is not success. */
  query(expr: string): Promise<QueryResult>;
  /** Polls query(expr) until accept(result) is true; throws after timeoutMs naming the last result. */
  waitFor(expr: string, accept: (result: QueryResult) => boolean, timeoutMs?: number): Promise<QueryResult>;
  /** Prometheus' own stderr so far (for assertion messages). */
  logs(): string;
  stop(): Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export function prometheusConfig(targets: readonly ScrapeTarget[], scrapeIntervalS: number, ruleFiles: string[]): string {
  return stringify({
    global: { scrape_interval: `${scrapeIntervalS}s`, evaluation_interval: `${scrapeIntervalS}s` },
    rule_files: ruleFiles,
    scrape_configs: targets.map((target, index) => {
      const url = new URL(target.url);
      return {
        job_name: `target-${index}`,
        scheme: url.protocol.replace(':', ''),
        metrics_path: url.pathname,
        scrape_timeout: `${scrapeIntervalS}s`,
        static_configs: [{ targets: [url.host], labels: target.labels ?? {} }],
      };
    }),
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const exited = new Promise<boolean>((resolveExit) => child.once('exit', () => resolveExit(true)));
  const timedOut = sleep(timeoutMs).then(() => false);
  return await Promise.race([exited, timedOut]);
}

class PortTakenError extends Error {}

/** Starts Prometheus; picks another port when the free one found was taken before Prometheus could bind it. */
export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
    }
  }
}

async function startOnce(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const scrapeIntervalS = options.scrapeIntervalS ?? 1;
  const dir = await mkdtemp(join(tmpdir(), 'railwatch-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, prometheusConfig(options.scrapeTargets, scrapeIntervalS, options.ruleFiles ?? []));

  const port = await freeLoopbackPort();
  const baseUrl = `http://127.0.0.1:${port}`;
  installExitHook();
  const child = spawn(
    options.binary ?? 'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start prometheus: ${err.message}`)));
  });
  spawnError.catch(() => undefined);

  async function stop(): Promise<void> {
    if (running.has(child)) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5000);
      }
      running.delete(child);
    }
    await rm(dir, { recursive: true, force: true });
  }

  async function query(expr: string): Promise<QueryResult> {
    const response = await fetch(`${baseUrl}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: expr }).toString(),
    });
    const body = (await response.json()) as { status: string; data?: QueryResult; errorType?: string; error?: string };
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(`query failed (${body.errorType ?? response.status}): ${body.error ?? 'no data'}: ${expr}`);
    }
    return body.data;
  }

  async function waitFor(
    expr: string,
    accept: (result: QueryResult) => boolean,
    timeoutMs = 30_000,
  ): Promise<QueryResult> {
    const deadline = Date.now() + timeoutMs;
    let last: QueryResult | undefined;
    for (;;) {
      last = await query(expr);
      if (accept(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(`gave up waiting for ${expr}; last result ${JSON.stringify(last)}; prometheus log:\n${stderr}`);
      }
      await sleep(250);
    }
  }

  try {
    const readyDeadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null) {
        const message = `prometheus exited with ${child.exitCode}:\n${stderr}`;
        throw stderr.includes('address already in use') ? new PortTakenError(message) : new Error(message);
      }
      const ready = await Promise.race([
        fetch(`${baseUrl}/-/ready`).then(
          (response) => response.ok,
          () => false,
        ),
        spawnError,
      ]);
      if (ready) break;
      if (Date.now() > readyDeadline) throw new Error(`prometheus not ready at ${baseUrl}:\n${stderr}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return { baseUrl, query, waitFor, logs: () => stderr, stop };
}
