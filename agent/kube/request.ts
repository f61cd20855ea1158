// One API request: sent to a RequestTarget, bounded by a timeout and a cap on the response body, and settled
// exactly once, so that a response cut mid-body (clean close, reset, timeout) rejects instead of hanging. A JSON
// body is parsed; any other body (a proxy's error page) is kept as text.
import { networkError, KubeNetworkError, responseOf, send, type KubeResponse, type RequestTarget } from './transport.ts';

export interface OutgoingRequest {
  method: string;
  /** The serialized body, if any. */
  body: string | undefined;
  contentType: string | undefined;
  signal: AbortSignal | undefined;
}

export interface RequestLimits {
  /** From sending to the end of the response body. */
  timeoutMs: number;
  maxBodyBytes: number;
}

/** Resolves with any HTTP status; rejects with KubeNetworkError when there is no (complete) response. */
export function requestOnce(target: RequestTarget, r: OutgoingRequest, limits: RequestLimits): Promise<KubeResponse> {
  const { timeoutMs, maxBodyBytes } = limits;
  return new Promise<KubeResponse>((resolve, reject) => {
    const req = send(target, r.method, r.body, r.contentType, r.signal);
    let settled = false;
    const timer = setTimeout(() => {
      const err = new KubeNetworkError(`timeout after ${timeoutMs} ms`);
      req.destroy(err);
      fail(err);
    }, timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(networkError(err));
    }
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= maxBodyBytes) {
          chunks.push(c);
          return;
        }
        // Settle first, then drop the connection without an error: destroying with one would raise it on the socket,
        // which, the body being complete, may already be back in the agent's pool with no listener (a crash).
        fail(new KubeNetworkError(`response over ${maxBodyBytes} bytes`));
        chunks.length = 0;
        res.removeAllListeners('data');
        req.destroy();
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new KubeNetworkError('response cut before its end'));
      });
      res.on('end', () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          // not JSON: keep the text (error pages from proxies)
        }
        resolve(responseOf(res, parsed));
      });
    });
  });
}
