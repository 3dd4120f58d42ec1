/**
 * The proxy configuration of the deployment examples (Kubernetes sidecar, compose). Typed with
 * the contracts' ProxyConfigInput, and the manifest test parses it with ProxyConfigSchema, so
 * the examples cannot drift from what `meshtune proxy` accepts.
 */
import type { ProxyConfigInput } from "@meshtune/contracts";

/** One external API (strict_dns over TLS) behind the egress listener; admin on all interfaces for probes and scrapes. */
export function proxyConfig(
  listenerHost: string,
  cluster: { hostname: string; port: number; tls: boolean },
): ProxyConfigInput {
  return {
    apiVersion: "meshtune.io/v1alpha1",
    kind: "ProxyConfig",
    proxy: {
      listener: { host: listenerHost, port: 15001 },
      admin: { host: "0.0.0.0", port: 15000 },
      drainTimeoutMs: 20_000,
    },
    routes: [{ match: { host: "api.example.com" }, cluster: "api" }],
    clusters: [
      {
        name: "api",
        discovery: { type: "strict_dns", hostname: cluster.hostname, port: cluster.port, refreshIntervalMs: 5_000 },
        lb: { policy: "least_request", slowStart: { windowMs: 10_000 } },
        pool: { minWarm: 2, maxConnections: 64, connectTimeoutMs: 1_000, idleTimeoutMs: 60_000 },
        warmup: { deadlineMs: 3_000 },
        healthCheck: { path: "/health", intervalMs: 5_000, timeoutMs: 1_000 },
        outlier: { consecutive5xx: 5, consecutiveLocalOriginFailures: 3, maxEjectionPercent: 40 },
        ...(cluster.tls ? { tls: { enabled: true, sni: cluster.hostname } } : {}),
        requestTimeoutMs: 10_000,
      },
    ],
  };
}

/** Kubernetes sidecar: the app in the same pod calls 127.0.0.1:15001; the external API is reached over TLS. */
export function k8sProxyConfig(): ProxyConfigInput {
  return proxyConfig("127.0.0.1", { hostname: "api.example.com", port: 443, tls: true });
}
