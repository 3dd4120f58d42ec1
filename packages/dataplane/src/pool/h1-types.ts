/**
 * The contract of the pooled connections' HTTP/1.1 codec (h1-client.ts): its errors, the
 * handler it drives (undici's legacy dispatch-handler shape, so the forwarder's Attempt serves
 * h1 and undici's h2 alike) and its options.
 */
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import type { Clock } from "../clock.js";

export type H1ErrorCode =
  | "MESHTUNE_UPSTREAM_RESET"
  | "MESHTUNE_HEADERS_TIMEOUT"
  | "MESHTUNE_BODY_TIMEOUT"
  | "MESHTUNE_UPSTREAM_PROTOCOL";

export class H1Error extends Error {
  readonly code: H1ErrorCode;
  constructor(code: H1ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** undici's legacy DispatchHandler, as far as the proxy uses it. */
export interface H1Handler {
  onConnect?(abort: (err?: Error) => void): void;
  onHeaders?(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onError?(err: Error): void;
}

export interface H1Request {
  method: string;
  path: string;
  /** Flat [name, value, …] or an object; CR, LF and NUL are refused (the request fails). */
  headers?: readonly string[] | Readonly<Record<string, string>> | null;
  body?: Readable | null;
  /** Inactivity deadline (see the header comment); 0 or absent: none. */
  timeoutMs?: number;
}

export interface H1Options {
  socket: Socket;
  clock: Clock;
  /** Host header when a request carries none (origin host[:port]). */
  defaultHost: string;
  /** Response header block limit (node's and undici's default: 16 KiB). */
  maxHeaderBytes?: number;
  /**
   * The connection must not serve another request (called before the handler's onComplete or
   * onError). `byPeer`: the server closed it; otherwise this side decided (abort, protocol
   * error, a response that ends the connection).
   */
  onUnusable(byPeer: boolean): void;
}
