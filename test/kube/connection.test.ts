// The connection pieces of the kube client on their own: the cached, reloadable ApiConnection and a request's
// URL and options from it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionCache, requestTarget, type ApiConnection } from '../../agent/kube/connection.ts';
import { KubeNetworkError } from '../../agent/kube/transport.ts';

function connection(server: string, headers: Record<string, string | number> = {}): ApiConnection {
  return {
    getCurrentCluster: () => ({ server }),
    applyToHTTPSOptions: async (o) => {
      o.headers = { ...headers };
    },
  };
}

describe('ConnectionCache', () => {
  it('loads once for all callers, and again on reload()', async () => {
    let loads = 0;
    const cache = new ConnectionCache(async () => {
      loads++;
      return connection(`https://api-${loads}:6443`);
    });
    const [a, b] = await Promise.all([cache.get(), cache.get()]);
    assert.equal(a, b);
    assert.equal(loads, 1);
    await cache.reload();
    assert.equal(loads, 2);
    assert.deepEqual((await cache.get()).getCurrentCluster(), { server: 'https://api-2:6443' });
    assert.equal(loads, 2);
  });

  it('rejects a failed load as a KubeNetworkError and loads again on the next call', async () => {
    let loads = 0;
    const cache = new ConnectionCache(async () => {
      if (++loads === 1) throw new Error('no such file');
      return connection('https://api:6443');
    });
    await assert.rejects(cache.get(), (err: unknown) => err instanceof KubeNetworkError && err.message === 'kubeconfig: no such file');
    assert.deepEqual((await cache.get()).getCurrentCluster(), { server: 'https://api:6443' });
    assert.equal(loads, 2);
  });

  it('a failed reload is forgotten: the next call loads again', async () => {
    let loads = 0;
    const cache = new ConnectionCache(async () => {
      if (++loads === 2) throw new Error('token file gone');
      return connection('https://api:6443');
    });
    await cache.get();
    await cache.reload();
    await cache.get();
    assert.equal(loads, 3);
  });
});

describe('requestTarget', () => {
  it('joins the server and the path, and trims the header values the connection set', async () => {
    const t = await requestTarget(connection('https://api:6443//', { Authorization: 'Bearer abc\n', 'X-Count': 3 }), '/api/v1/nodes/n1');
    assert.equal(t.url.href, 'https://api:6443/api/v1/nodes/n1');
    assert.deepEqual(t.options.headers, { Authorization: 'Bearer abc', 'X-Count': '3' });
  });

  it('fails without a current cluster, or when credentials cannot be applied', async () => {
    await assert.rejects(
      requestTarget({ getCurrentCluster: () => null, applyToHTTPSOptions: async () => {} }, '/x'),
      (err: unknown) => err instanceof KubeNetworkError && err.message === 'kubeconfig: no current cluster',
    );
    await assert.rejects(
      requestTarget({ getCurrentCluster: () => ({ server: 'https://api' }), applyToHTTPSOptions: () => Promise.reject(new Error('exec plugin failed')) }, '/x'),
      (err: unknown) => err instanceof KubeNetworkError && err.message === 'credentials: exec plugin failed',
    );
  });
});
