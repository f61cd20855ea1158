// The in-cluster connection: the pod's service account, as client-go's rest.InClusterConfig reads it.
// API server from KUBERNETES_SERVICE_HOST/PORT, the cluster CA and the bearer token from the mounted
// service-account directory. The token file is re-read at most every minute and on every new connection (after a
// 401), so a rotated projected token is picked up without a restart.
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { join } from 'node:path';
import type { ApiConnection } from './connection.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_REFRESH_MS = 60_000;

export interface ServiceAccountOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** The mounted service-account directory (token, ca.crt). */
  dir?: string;
  /** Overrides the server from the environment (tests). */
  server?: string;
  now?: () => number;
}

export class ServiceAccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceAccountError';
  }
}

/** `https://host:port` from the service environment; IPv6 hosts are bracketed. */
export function inClusterServer(env: Readonly<Record<string, string | undefined>>): string {
  const host = env['KUBERNETES_SERVICE_HOST']?.trim();
  const port = env['KUBERNETES_SERVICE_PORT']?.trim() || '443';
  if (!host) throw new ServiceAccountError('KUBERNETES_SERVICE_HOST is not set: not running in a pod');
  if (!/^\d{1,5}$/.test(port)) throw new ServiceAccountError(`KUBERNETES_SERVICE_PORT is not a port: ${JSON.stringify(port)}`);
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function serviceAccountConnection(opts: ServiceAccountOptions): ApiConnection {
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const now = opts.now ?? Date.now;
  const server = opts.server ?? inClusterServer(opts.env);
  const read = (name: string): Buffer => {
    try {
      return readFileSync(join(dir, name));
    } catch (err) {
      throw new ServiceAccountError(`cannot read ${join(dir, name)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const ca = server.startsWith('https:') ? read('ca.crt') : undefined;
  let token: { value: string; readAtMs: number } | undefined;
  function currentToken(): string {
    if (token === undefined || now() - token.readAtMs >= TOKEN_REFRESH_MS) {
      const value = read('token').toString('utf8').trim();
      if (value === '') throw new ServiceAccountError(`${join(dir, 'token')} is empty`);
      token = { value, readAtMs: now() };
    }
    return token.value;
  }
  return {
    getCurrentCluster: () => ({ server }),
    async applyToHTTPSOptions(options: https.RequestOptions): Promise<void> {
      if (ca !== undefined) options.ca = ca;
      options.headers = { ...(options.headers as Record<string, string> | undefined), Authorization: `Bearer ${currentToken()}` };
    },
  };
}
