// A watch stream: one long GET whose body is a sequence of JSON objects, one per line, each handed to onObject as
// its line completes. A client-side idle timer ends a stream that goes silent; a non-200 answer is drained (a
// little of its body kept as text) and returned with its status and Retry-After.
import { networkError, KubeNetworkError, responseOf, send, type KubeResponse, type RequestTarget } from './transport.ts';

export interface WatchStreamOptions {
  signal: AbortSignal | undefined;
  /** Abort when nothing arrives for this long. */
  idleTimeoutMs: number;
  /** The most text buffered for one line (an object) before the stream is dropped. */
  maxLineBytes: number;
  onObject(obj: unknown): void;
  /** Called when the response starts, with its status. */
  onResponse(status: number): void;
}

/**
 * Resolves when the stream ends: { status: 200 } when it closed normally, or the non-200 response; rejects with
 * KubeNetworkError when there is no response, the stream is cut, goes idle, or carries a line that is not JSON.
 */
export function watchStream(target: RequestTarget, w: WatchStreamOptions): Promise<KubeResponse> {
  const maxLine = w.maxLineBytes;
  return new Promise<KubeResponse>((resolve, reject) => {
    const req = send(target, 'GET', undefined, undefined, w.signal);
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        fail(new KubeNetworkError(`watch idle for ${w.idleTimeoutMs} ms`));
        req.destroy();
      }, w.idleTimeoutMs);
    };
    arm();
    let settled = false;
    const fail = (err: Error) => {
      if (timer !== undefined) clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(networkError(err));
    };
    req.on('error', fail);
    req.on('response', (res) => {
      w.onResponse(res.statusCode ?? 0);
      if (res.statusCode !== 200) {
        // drain a small error body, report the status
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new KubeNetworkError('response cut before its end'));
        });
        res.on('end', () => {
          if (timer !== undefined) clearTimeout(timer);
          settled = true;
          resolve(responseOf(res, Buffer.concat(chunks).toString('utf8')));
        });
        return;
      }
      let buffer = '';
      // Settle first, then drop the connection without an error: destroying with one would raise it on the socket,
      // which, the stream having ended in the same chunk, may have no listener left (a crash).
      const abort = (err: Error) => {
        fail(err);
        buffer = '';
        res.removeAllListeners('data');
        req.destroy();
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        arm();
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          if (nl > maxLine) return abort(new KubeNetworkError(`watch line over ${maxLine} bytes`));
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line === '') continue;
          let obj: unknown;
          try {
            obj = JSON.parse(line);
          } catch {
            return abort(new KubeNetworkError('watch stream: invalid JSON line'));
          }
          w.onObject(obj);
        }
        // what is left is the start of a line: it may not grow past the cap either
        if (buffer.length > maxLine) abort(new KubeNetworkError(`watch line over ${maxLine} bytes`));
      });
      res.on('error', fail);
      res.on('aborted', () => fail(new KubeNetworkError('watch stream cut')));
      res.on('close', () => {
        if (!res.complete) fail(new KubeNetworkError('watch stream cut'));
      });
      res.on('end', () => {
        if (timer !== undefined) clearTimeout(timer);
        if (settled) return;
        settled = true;
        if (!res.complete) reject(new KubeNetworkError('watch stream cut'));
        else resolve({ status: 200, body: undefined });
      });
    });
  });
}
