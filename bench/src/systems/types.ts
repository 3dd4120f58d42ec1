/** What every system under test (meshtune, HAProxy, NGINX, or none: direct) looks like to a scenario. */

export interface UpstreamSpec {
  name: string;
  port: number;
}

/** The same settings, translated into each proxy's own configuration language. */
export interface ProxySpec {
  upstreams: UpstreamSpec[];
  /** Upstreams speak HTTPS (verified against the testkit CA, SNI "localhost"). */
  tls: boolean;
  caFile?: string;
  /** meshtune pool.connectTimeoutMs = HAProxy `timeout connect` = NGINX proxy_connect_timeout. */
  connectTimeoutMs: number;
  /** meshtune requestTimeoutMs = HAProxy `timeout server` = NGINX proxy_read_timeout. */
  requestTimeoutMs: number;
  /** Active health-check interval (meshtune healthCheck.intervalMs = HAProxy `inter`). */
  healthIntervalMs: number;
  /** Directory for config files, pid files and logs of this run. */
  workDir: string;
  /** taskset CPU list for the proxy (--pin), else undefined. */
  cpus: string | undefined;
}

export interface PoolWaitSummary {
  attempts: number;
  /** Attempts that found no idle connection and waited (waitedMs > 0). */
  waited: number;
  /** Attempts served by a connection opened for them or while they waited. */
  fresh: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  upstreamAttemptMs?: { p50: number; p99: number; p999: number; max: number };
  inProxyRequestMs?: { p50: number; p99: number; p999: number; max: number };
  /** The proxy's event loop over the same window (utilisation, delay percentiles, GC). */
  loop?: {
    eventLoopUtilization: number;
    eventLoopDelayMs: { p50: number; p99: number; max: number };
    gcMs: number;
    gcMaxPauseMs: number;
  };
}

export interface ProxyInstance {
  /** "meshtune", "haproxy", "nginx" or "direct". */
  system: string;
  /** Label for tables and JSON keys, e.g. "meshtune (poolAwareScore off)". */
  label: string;
  /** Listener on 127.0.0.1; undefined for direct. */
  port: number | undefined;
  /** A fleet of instances (scenario fleet): every listener. */
  ports?: number[];
  /** Root pid of the proxy's process tree (CPU is summed over it). */
  pid: number | undefined;
  /** ms from spawn until the system reported ready. */
  readyMs: number;
  /** CPU time (user + system) of the process tree so far, ms. */
  cpuMs(): number;
  rssMiB(): number;
  /** meshtune only: GET /clusters from the admin API. */
  clusters?(): Promise<unknown>;
  /** meshtune (instrumented launcher) only: pool wait of upstream attempts since the last reset. */
  poolWait?(reset?: boolean): Promise<PoolWaitSummary>;
  stop(): Promise<void>;
}

export interface SystemDef {
  /** Key in the JSON results. */
  id: string;
  system: "meshtune" | "haproxy" | "nginx" | "direct";
  label: string;
  start(spec: ProxySpec): Promise<ProxyInstance>;
}
