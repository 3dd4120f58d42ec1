/**
 * One request on an HTTP/1.1 connection with a promise for its end: health checks on pooled
 * connections and the warm path's requests through the proxy's own listener. The body is read
 * and dropped; only the status matters to them.
 */
import type { H1Connection } from "./h1-client.js";

/** What a health check reads of a response (h1 and h2 alike). */
export interface ProbeResponse {
  statusCode: number;
  body: { dump(): Promise<void> };
}

export interface ProbeRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Inactivity deadline on the connection's clock (h1 only); 0 or absent: none. */
  timeoutMs?: number;
}

/** A probe on the h1 codec: resolves at the end of the response (the body is read and dropped). */
export function probeH1(h1: H1Connection, opts: ProbeRequest): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let abort: ((err?: Error) => void) | undefined;
    const onAbort = (): void => abort?.(new Error("probe aborted"));
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const done = (): void => opts.signal?.removeEventListener("abort", onAbort);
    h1.dispatch(
      { method: opts.method, path: opts.path, headers: opts.headers ?? null, timeoutMs: opts.timeoutMs ?? 0 },
      {
        onConnect(a) {
          abort = a;
          if (opts.signal?.aborted) a(new Error("probe aborted"));
        },
        onHeaders(s) {
          status = s;
          return true;
        },
        onComplete() {
          done();
          resolve({ statusCode: status, body: { dump: () => Promise.resolve() } });
        },
        onError(err) {
          done();
          reject(err);
        },
      },
    );
  });
}
