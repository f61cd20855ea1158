// The retry pieces on their own: a non-2xx answer as an error, and the sleep between tries that a stop cuts short.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectOk, KubeStatusError, sleepUnlessAborted } from '../../agent/kube/retry.ts';

describe('expectOk', () => {
  it('passes a 2xx through and throws KubeStatusError with the status, message and Retry-After otherwise', () => {
    const ok = { status: 201, body: { kind: 'Event' } };
    assert.equal(expectOk(ok, 'create event'), ok);
    assert.throws(
      () => expectOk({ status: 429, body: { message: 'too many requests' }, retryAfterMs: 2000 }, 'patch node labels'),
      (err: unknown) =>
        err instanceof KubeStatusError && err.status === 429 && err.retryAfterMs === 2000 && err.message === 'patch node labels: HTTP 429: too many requests',
    );
    assert.throws(() => expectOk({ status: 302, body: 'moved' }, 'get node'), { name: 'KubeStatusError', message: 'get node: HTTP 302' });
  });
});

describe('sleepUnlessAborted', () => {
  it('sleeps the full time without an abort', async () => {
    const started = Date.now();
    await sleepUnlessAborted(40, new AbortController().signal);
    assert.ok(Date.now() - started >= 35);
  });

  it('wakes at the abort, or at once when already aborted', async () => {
    const ctl = new AbortController();
    const started = Date.now();
    setTimeout(() => ctl.abort(), 20);
    await sleepUnlessAborted(60_000, ctl.signal);
    assert.ok(Date.now() - started < 5_000);
    const again = Date.now();
    await sleepUnlessAborted(60_000, ctl.signal);
    assert.ok(Date.now() - again < 1_000);
  });
});
