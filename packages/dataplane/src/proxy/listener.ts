/**
 * The egress listener's HTTP hygiene (issue #15):
 * - header and whole-request timeouts, so a slow client (slowloris) cannot hold a connection
 *   for a minute: node answers 408 and closes (checked every CHECK_MS, not node's 30 s default);
 * - 431 for a header block over proxy.maxHeaderBytes;
 * - CONNECT answered with a clear 405 naming the cause: the proxy forwards HTTP requests to
 *   its clusters and offers no tunnels (a tunnel would bypass balancing, pools and outlier
 *   detection, which is what the proxy is for);
 * - any other malformed request: 400, as before.
 * Every proxy-generated response carries x-meshtune-error.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { ProxyConfig } from "@meshtune/contracts";
import { createServer } from "../builtins.js";
import { ERROR_HEADER, PROXY_ERRORS, type ProxyErrorCause } from "./errors.js";

const CHECK_MS = 1_000;

const REASON: Partial<Record<number, string>> = {
  400: "Bad Request",
  405: "Method Not Allowed",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/** A raw error response on a socket the HTTP parser gave up on (or a CONNECT), then close. */
export function rawError(
  socket: Duplex,
  cause: ProxyErrorCause,
  detail: string,
  status: number = PROXY_ERRORS[cause],
): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = `${cause}: ${detail}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${REASON[status] ?? "Error"}\r\n${ERROR_HEADER}: ${cause}\r\ncontent-type: text/plain\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function createListener(
  cfg: ProxyConfig["proxy"],
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const server = createServer(
    {
      keepAlive: true,
      headersTimeout: cfg.headersTimeoutMs,
      requestTimeout: Math.max(cfg.requestTimeoutMs, cfg.headersTimeoutMs),
      connectionsCheckingInterval: Math.min(CHECK_MS, Math.max(100, Math.floor(cfg.headersTimeoutMs / 2))),
      maxHeaderSize: cfg.maxHeaderBytes,
      // A request without Content-Length or Transfer-Encoding has no body: node hands it over
      // as an already-ended stream instead of running the readable machinery to an 'end'
      // nobody listens for (node ≥ 24.12; earlier versions ignore the option).
      optimizeEmptyRequests: true,
    },
    handler,
  );
  server.on("connect", (req: IncomingMessage, socket: Duplex) => {
    rawError(
      socket,
      "method_not_allowed",
      `CONNECT ${req.url ?? ""}: tunnels are not offered; send plain HTTP requests (origin-form or absolute-form)`,
    );
  });
  // Malformed requests never reach the handler: node's parser rejects them.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "HPE_HEADER_OVERFLOW")
      return rawError(socket, "headers_too_large", `request header block over ${cfg.maxHeaderBytes} bytes`);
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT")
      return rawError(socket, "bad_request", "request not received in time", 408);
    rawError(socket, "bad_request", err.code ?? err.message);
  });
  return server;
}
