// Where the API server is and how to authenticate to it: the mode (in the cluster, a kubeconfig file, or
// standalone), the ApiConnection for the mode, and a request's URL and options from the connection.
// In the cluster, the pod's service account (agent/kube/service-account.ts: API server from the service env, CA and
// bearer token from the mounted files); outside it, @kubernetes/client-node's KubeConfig for a kubeconfig file (exec,
// OIDC and cloud auth plugins). client-node is imported only for kubeconfig files: importing it loads its whole
// generated API (about 70 MiB of resident memory measured on Node 24), too much for an agent on every node.
import { existsSync } from 'node:fs';
import type * as HttpsModule from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { serviceAccountConnection } from './service-account.ts';
import { KubeNetworkError, type RequestTarget } from './transport.ts';

export type KubeMode =
  | { kind: 'in-cluster' }
  | { kind: 'kubeconfig'; path: string }
  | { kind: 'standalone'; why: string };

export interface KubeModeInput {
  noKube: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** Home directory for ~/.kube/config; defaults to os.homedir(). */
  home?: string;
  exists?: (path: string) => boolean;
}

/** In-cluster when the service env is set, else a kubeconfig when one exists, else standalone. */
export function resolveKubeMode(input: KubeModeInput): KubeMode {
  if (input.noKube) return { kind: 'standalone', why: '--no-kube' };
  if (input.env['KUBERNETES_SERVICE_HOST']) return { kind: 'in-cluster' };
  const exists = input.exists ?? existsSync;
  const fromEnv = (input.env['KUBECONFIG'] ?? '').split(':').filter(Boolean);
  for (const file of fromEnv) if (exists(file)) return { kind: 'kubeconfig', path: file };
  const home = input.home ?? homedir();
  const def = join(home, '.kube', 'config');
  if (exists(def)) return { kind: 'kubeconfig', path: def };
  return { kind: 'standalone', why: 'no in-cluster environment and no kubeconfig' };
}

/** The node name: `--node-name`, else NODE_NAME (downward API); undefined when neither is set. */
export function resolveNodeName(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const name = (flag ?? env['NODE_NAME'] ?? '').trim();
  return name === '' ? undefined : name;
}

/**
 * Where the API server is and how to authenticate to it: what the client needs of a KubeConfig (which satisfies
 * this interface as it is).
 */
export interface ApiConnection {
  getCurrentCluster(): { server: string } | null;
  /** Adds TLS settings (CA, client certificate) and the Authorization header to request options. */
  applyToHTTPSOptions(options: HttpsModule.RequestOptions): Promise<void>;
}

async function clientNode(): Promise<typeof import('@kubernetes/client-node')> {
  return import('@kubernetes/client-node');
}

/** The connection for the mode; a fresh one re-reads credentials (used after a 401). */
export async function loadKubeConfig(mode: Exclude<KubeMode, { kind: 'standalone' }>): Promise<ApiConnection> {
  if (mode.kind === 'in-cluster') return serviceAccountConnection({ env: process.env });
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(mode.path);
  return kc;
}

/** The connection, loaded once and shared by all requests; loaded again after a failed load and on reload(). */
export class ConnectionCache {
  readonly #load: () => Promise<ApiConnection>;
  #config: Promise<ApiConnection> | undefined;

  constructor(load: () => Promise<ApiConnection>) {
    this.#load = load;
  }

  /** The connection; a failed load rejects with KubeNetworkError, and the next call loads again. */
  async get(): Promise<ApiConnection> {
    this.#config ??= this.#load();
    try {
      return await this.#config;
    } catch (err) {
      this.#config = undefined;
      throw new KubeNetworkError(`kubeconfig: ${(err as Error).message}`);
    }
  }

  /** Loads the connection again (re-reads the token file): after a 401 from a rotated token. */
  async reload(): Promise<void> {
    this.#config = this.#load();
    try {
      await this.#config;
    } catch {
      this.#config = undefined;
    }
  }
}

/** The URL of `path` on the connection's API server, and request options with the credentials applied now. */
export async function requestTarget(conn: ApiConnection, path: string): Promise<RequestTarget> {
  const cluster = conn.getCurrentCluster();
  if (cluster === null) throw new KubeNetworkError('kubeconfig: no current cluster');
  const options: HttpsModule.RequestOptions = {};
  try {
    await conn.applyToHTTPSOptions(options);
  } catch (err) {
    throw new KubeNetworkError(`credentials: ${(err as Error).message}`);
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((options.headers ?? {}) as Record<string, unknown>)) headers[k] = String(v).trim();
  options.headers = headers;
  return { url: new URL(cluster.server.replace(/\/+$/, '') + path), options };
}
