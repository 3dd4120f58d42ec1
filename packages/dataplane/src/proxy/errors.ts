import type { ServerResponse } from "node:http";

/**
 * Client-facing errors. Every proxy-generated response carries `x-meshtune-error` naming the
 * cause, so an application can tell a proxy 503 from an upstream 503.
 */
export const PROXY_ERRORS = {
  no_route: 404,
  bad_request: 400,
  no_healthy_upstream: 503,
  pool_overflow: 503,
  pending_timeout: 503,
  connect_failed: 503,
  draining: 503,
  /** Admission control refused the request: the proxy is saturated (event-loop lag, in-flight bound). */
  overloaded: 503,
  /** Request header block larger than proxy.maxHeaderBytes. */
  headers_too_large: 431,
  /** CONNECT tunnels are not offered: the proxy forwards HTTP requests only. */
  method_not_allowed: 405,
  /** The client closed the connection before a response; nothing is sent (nginx logs 499). */
  client_closed: 499,
  upstream_timeout: 504,
  upstream_reset: 502,
  upstream_protocol_error: 502,
} as const;
export type ProxyErrorCause = keyof typeof PROXY_ERRORS;
export const ERROR_HEADER = "x-meshtune-error";

/** A proxy-generated error response (or a reset when the response already started). */
export function writeError(res: ServerResponse, cause: ProxyErrorCause, detail: string): void {
  if (cause === "client_closed") res.destroy();
  else if (!res.headersSent) {
    const body = `${cause}: ${detail}\n`;
    res.writeHead(PROXY_ERRORS[cause], {
      [ERROR_HEADER]: cause,
      "content-type": "text/plain",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  } else res.destroy();
}

export function classifyUpstreamError(err: unknown): ProxyErrorCause {
  const code = (err as { code?: string }).code ?? "";
  // MESHTUNE_*: the h1 codec's (pool/h1-client.ts); UND_ERR_*: undici's, for h2.
  if (
    code === "MESHTUNE_UPSTREAM_RESET" ||
    code === "UND_ERR_SOCKET" ||
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    code === "UND_ERR_CLOSED"
  )
    return "upstream_reset";
  if (isTimeoutCode(code)) return "upstream_timeout";
  return "upstream_protocol_error";
}

export function isTimeoutCode(code: string | undefined): boolean {
  return (
    code === "MESHTUNE_HEADERS_TIMEOUT" ||
    code === "MESHTUNE_BODY_TIMEOUT" ||
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT"
  );
}

/** Timed out after the response headers were relayed. */
export function isBodyTimeout(code: string | undefined): boolean {
  return code === "MESHTUNE_BODY_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
}
