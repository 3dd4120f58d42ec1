/**
 * The proxy as a library: an HTTP/1.1 egress listener, an admin API, and the clusters behind
 * them. Configuration arrives only through applyConfig(version, config) / applyControl(),
 * which return ACK or NACK with a reason; a rejected update keeps the last good config
 * (the file watcher, SIGHUP and — in a later issue — Redis all call the same method).
 */
import { randomUUID } from "node:crypto";
import type { RequestListener, Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type ApplyResult,
  type ControlSnapshot,
  formatIssues,
  type ProxyConfig,
  parseControlSnapshot,
  parseProxyConfig,
} from "@meshtune/contracts";
import { createServer } from "../builtins.js";
import { type Clock, type Random, systemClock } from "../clock.js";
import { type ClusterEvent, ClusterRuntime } from "../cluster.js";
import type { Resolver } from "../discovery/discovery.js";
import { hostKey } from "../host.js";
import { type AdminExtras, createAdminHandler } from "./admin.js";
import { AdmissionControl } from "./admission.js";
import { Forwarder, type ForwardHooks } from "./forward.js";
import { createListener } from "./listener.js";
import { Router } from "./router.js";
import { warmRequestPath, warmTargets } from "./warm-path.js";

/** Admin API against slow clients (slowloris): 10 s for the headers, 30 s for the request. */
const ADMIN_LIMITS = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 };

export interface ProxyDeps {
  clock?: Clock;
  random?: Random;
  resolver?: Resolver;
  readCa?: (path: string) => string;
  onClusterEvent?: (ev: ClusterEvent) => void;
  hooks?: ForwardHooks;
  admin?: AdminExtras;
  log?: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  /**
   * Requests per cluster sent through the proxy's own listener before /ready, so the first
   * user requests run compiled code (warm-path.ts). Default WARM_REQUESTS; 0 turns it off.
   */
  warmRequests?: number;
  /**
   * Multi-worker mode (workers/): the listener is bound with SO_REUSEPORT so every worker
   * accepts on the same address, and the admin API listens where given (an ephemeral
   * loopback port: the primary serves the configured admin address).
   */
  worker?: {
    admin: { host: string; port: number };
    /** "follow": another worker runs the active health checks and shares its verdicts. */
    healthChecks?: "run" | "follow";
  };
}

export const WARM_REQUESTS = 200;

export interface AppliedConfig {
  version: number;
  source: string;
  appliedAt: string;
  config: ProxyConfig;
}

export class EgressProxy {
  readonly #deps: Required<Pick<ProxyDeps, "clock" | "random">> & ProxyDeps;
  readonly clusters = new Map<string, ClusterRuntime>();
  #applied: AppliedConfig | undefined;
  #controlVersion = -1;
  #forwarder: Forwarder | undefined;
  #listener: Server | undefined;
  #admin: Server | undefined;
  #ready = false;
  #started = false;
  #shuttingDown = false;
  #admission: AdmissionControl | undefined;
  readonly id: string;

  constructor(deps: ProxyDeps = {}, id = `proxy-${process.pid}`) {
    this.#deps = { clock: systemClock, random: Math.random, ...deps };
    this.id = id;
  }

  get ready(): boolean {
    return this.#ready && !this.#shuttingDown;
  }
  get applied(): AppliedConfig | undefined {
    return this.#applied;
  }
  get controlVersion(): number {
    return this.#controlVersion;
  }
  get listenerAddress(): AddressInfo | undefined {
    return (this.#listener?.address() as AddressInfo | null) ?? undefined;
  }
  get adminAddress(): AddressInfo | undefined {
    return (this.#admin?.address() as AddressInfo | null) ?? undefined;
  }
  get inFlight(): number {
    return this.#forwarder?.inFlight ?? 0;
  }
  /** Downstream requests handled since start. */
  get requestsHandled(): number {
    return this.#forwarder?.handled ?? 0;
  }
  /** Monotonic now of the injected clock (ms). */
  readonly now = (): number => this.#deps.clock.now();
  /** Admission control (undefined before start()). */
  get admission(): AdmissionControl | undefined {
    return this.#admission;
  }

  #log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void {
    this.#deps.log?.(level, msg, fields);
  }

  /**
   * Validate and apply a full configuration. NACK (and keep the last good config) when the
   * input is invalid, the version is not newer, or a change needs a restart.
   */
  async applyConfig(version: number, input: unknown, source = "api"): Promise<ApplyResult> {
    const parsed = parseProxyConfig(input);
    if (!parsed.ok) {
      const reason = `invalid config:\n${formatIssues(parsed.issues)}`;
      this.#log("warn", "config rejected", { version, source, reason });
      return { status: "NACK", version, reason };
    }
    const cfg = parsed.value;
    // Everything that can fail is checked before anything changes, so a NACK never leaves a
    // half-applied config (review #2): today that is reading CA bundles.
    for (const [i, c] of cfg.clusters.entries()) {
      if (!c.tls.caFile) continue;
      if (!this.#deps.readCa)
        return { status: "NACK", version, reason: `clusters[${i}].tls.caFile: no CA reader configured` };
      try {
        this.#deps.readCa(c.tls.caFile);
      } catch (err) {
        return { status: "NACK", version, reason: `clusters[${i}].tls.caFile: ${(err as Error).message}` };
      }
    }
    const prev = this.#applied;
    if (prev && version <= prev.version) {
      return { status: "NACK", version, reason: `stale version ${version} (applied: ${prev.version})` };
    }
    if (
      prev &&
      this.#started &&
      (JSON.stringify(prev.config.proxy.listener) !== JSON.stringify(cfg.proxy.listener) ||
        JSON.stringify(prev.config.proxy.admin) !== JSON.stringify(cfg.proxy.admin))
    ) {
      return { status: "NACK", version, reason: "listener or admin address changed: restart the proxy to apply" };
    }
    const wanted = new Set(cfg.clusters.map((c) => c.name));
    for (const [name, rt] of this.clusters) {
      if (!wanted.has(name)) {
        this.clusters.delete(name);
        void rt.drainAll(cfg.proxy.drainTimeoutMs);
      }
    }
    const added: ClusterRuntime[] = [];
    for (const c of cfg.clusters) {
      const existing = this.clusters.get(c.name);
      if (existing) existing.update(c);
      else {
        const rt = new ClusterRuntime(c, {
          clock: this.#deps.clock,
          random: this.#deps.random,
          localZone: cfg.proxy.zone,
          resolver: this.#deps.resolver,
          readCa: this.#deps.readCa,
          onEvent: this.#deps.onClusterEvent,
          healthChecks: this.#deps.worker?.healthChecks ?? "run",
        });
        this.clusters.set(c.name, rt);
        added.push(rt);
      }
    }
    const router = new Router(cfg.routes, [...this.clusters.keys()]);
    if (this.#forwarder) this.#forwarder.setRoutes(router, this.clusters);
    else this.#forwarder = new Forwarder(router, this.clusters, this.#deps.hooks, this.#deps.clock);
    this.#admission?.update(cfg.proxy.admission);
    this.#applied = { version, source, appliedAt: new Date().toISOString(), config: cfg };
    if (this.#started) {
      for (const rt of added) {
        await rt.start();
        void rt.warmAll();
      }
    }
    this.#log("info", "config applied", { version, source, clusters: cfg.clusters.length });
    return { status: "ACK", version };
  }

  /** Apply a control-plane snapshot: pushed endpoints and per-endpoint overrides. */
  applyControl(input: unknown): ApplyResult {
    const parsed = parseControlSnapshot(input);
    if (!parsed.ok) {
      const version = (input as { version?: unknown } | null)?.version;
      return {
        status: "NACK",
        version: typeof version === "number" ? version : -1,
        reason: `invalid control snapshot:\n${formatIssues(parsed.issues)}`,
      };
    }
    const snapshot: ControlSnapshot = parsed.value;
    const v = snapshot.version;
    if (v <= this.#controlVersion)
      return { status: "NACK", version: v, reason: `stale version ${v} (applied: ${this.#controlVersion})` };
    for (const name of Object.keys(snapshot.clusters)) {
      if (!this.clusters.has(name)) return { status: "NACK", version: v, reason: `unknown cluster '${name}'` };
    }
    for (const [name, o] of Object.entries(snapshot.clusters)) {
      const rt = this.clusters.get(name)!;
      if (o.endpoints && rt.discovery.type !== "pushed") {
        return {
          status: "NACK",
          version: v,
          reason: `cluster '${name}' uses ${rt.discovery.type} discovery; endpoints cannot be pushed`,
        };
      }
    }
    for (const [name, o] of Object.entries(snapshot.clusters)) {
      const rt = this.clusters.get(name)!;
      if (o.endpoints) rt.discovery.push(o.endpoints);
      for (const host of rt.hosts.hosts) {
        const ov = o.endpointOverrides[host.key];
        host.overrideWeight = ov?.weight;
        if (ov?.ejected) rt.controlFlag.set(host, ov.ejectReason ?? "ejected by control plane");
        else rt.controlFlag.clear(host);
        const floor =
          ov?.minWarm !== undefined || ov?.preconnect !== undefined
            ? Math.max(ov.minWarm ?? 0, ov.preconnect ?? 0)
            : undefined;
        rt.setWarmFloor(host, floor);
      }
      rt.hosts.touch();
      // Tuned pool limits (issue #11): the config file's pool with the override's fields on top;
      // a snapshot without them restores the file's values.
      const base = this.#applied?.config.clusters.find((c) => c.name === name);
      if (base) {
        const p = o.pool ?? {};
        const pool = {
          ...base.pool,
          ...(p.connectTimeoutMs !== undefined ? { connectTimeoutMs: p.connectTimeoutMs } : {}),
          ...(p.maxConnectionsPerEndpoint !== undefined ? { maxConnections: p.maxConnectionsPerEndpoint } : {}),
          ...(p.maxPendingRequests !== undefined ? { maxPendingRequests: p.maxPendingRequests } : {}),
        };
        if (JSON.stringify(pool) !== JSON.stringify(rt.config.pool)) rt.update({ ...rt.config, pool });
      }
    }
    this.#controlVersion = v;
    return { status: "ACK", version: v };
  }

  /** Listen, start discovery and health checks, warm up; /ready turns true when warm or at the deadline. */
  async start(): Promise<void> {
    const cfg = this.#applied?.config;
    if (!cfg || !this.#forwarder) throw new Error("applyConfig must succeed before start()");
    this.#started = true;
    const fwd = this.#forwarder;
    const admission = new AdmissionControl(
      cfg.proxy.admission,
      this.#deps.clock,
      this.#deps.random,
      () => fwd.inFlight,
    );
    this.#admission = admission;
    admission.start();
    // Retries are never piled onto a saturated proxy (issue #15).
    fwd.setOverloaded(() => admission.overloaded);
    this.#listener = createListener(cfg.proxy, (req, res) => {
      if (this.#shuttingDown) res.setHeader("connection", "close");
      const verdict = admission.admit();
      // Refused before any work, but reported like every request (telemetry counts the 503s).
      if (!verdict.ok) return fwd.refuse(req, res, "overloaded", verdict.detail);
      fwd.handle(req, res);
    });
    // Slow clients on the admin port are cut off like on the listener (issue #14).
    this.#admin = createServer(ADMIN_LIMITS, createAdminHandler(this, this.#deps.admin));
    const worker = this.#deps.worker;
    const adminAt = worker?.admin ?? cfg.proxy.admin;
    await Promise.all([
      listen(this.#listener, cfg.proxy.listener.host, cfg.proxy.listener.port, worker !== undefined),
      listen(this.#admin, adminAt.host, adminAt.port, false),
    ]);
    for (const rt of this.clusters.values()) await rt.start();
    const deadlineMs = Math.max(...cfg.clusters.map((c) => c.warmup.deadlineMs));
    const warm = Promise.all([...this.clusters.values()].map((rt) => rt.warmAll()));
    let timer: { cancel(): void } | undefined;
    const deadline = new Promise<"deadline">((r) => {
      timer = this.#deps.clock.setTimeout(() => r("deadline"), deadlineMs);
    });
    const startedAt = this.#deps.clock.now();
    const outcome = await Promise.race([warm.then(() => "warm" as const), deadline]);
    timer?.cancel();
    if (outcome === "warm") await this.#warmPath(cfg, startedAt + deadlineMs);
    this.#ready = true;
    this.#log(
      "info",
      outcome === "warm" ? "warm-up complete; ready" : `warm-up deadline (${deadlineMs} ms) passed; ready`,
    );
  }

  /**
   * Warm the request path (warm-path.ts), within the warm-up deadline, through a private
   * loopback listener with the same handler and options as the egress listener: with
   * several workers on one SO_REUSEPORT address, requests to the shared port would land
   * in any worker, not this one.
   */
  async #warmPath(cfg: ProxyConfig, deadline: number): Promise<void> {
    const n = this.#deps.warmRequests ?? WARM_REQUESTS;
    const fwd = this.#forwarder;
    const handler = this.#listener?.listeners("request")[0] as RequestListener | undefined;
    if (n <= 0 || !fwd || !handler || !cfg.clusters.some((c) => c.warmup.enabled)) return;
    const warmServer = createListener(cfg.proxy, handler);
    await listen(warmServer, "127.0.0.1", 0, false);
    const port = (warmServer.address() as AddressInfo).port;
    const token = randomUUID();
    fwd.setWarmToken(token);
    const clock = this.#deps.clock;
    try {
      const r = await warmRequestPath(port, warmTargets(cfg), n, token, clock, deadline);
      this.#log("info", "request path warmed", r);
    } finally {
      fwd.setWarmToken(undefined);
      warmServer.closeAllConnections();
      await closeServer(warmServer);
    }
  }

  /**
   * Graceful shutdown (SIGTERM): /ready goes false, the listener stops accepting, in-flight
   * requests finish (up to drainTimeoutMs), then every pool drains and closes.
   */
  async shutdown(): Promise<{ inFlightAtDeadline: number }> {
    if (this.#shuttingDown) return { inFlightAtDeadline: 0 };
    this.#shuttingDown = true;
    const timeoutMs = this.#applied?.config.proxy.drainTimeoutMs ?? 10_000;
    this.#admission?.close();
    const clock = this.#deps.clock;
    const started = clock.now();
    const listenerClosed = this.#listener ? closeServer(this.#listener) : Promise.resolve();
    this.#listener?.closeIdleConnections();
    // Bounded: at most timeoutMs / 20 polls of the injected clock.
    while (this.inFlight > 0 && clock.now() - started < timeoutMs) await sleep(clock, 20);
    const left = this.inFlight;
    this.#listener?.closeAllConnections();
    await listenerClosed;
    const remaining = Math.max(0, timeoutMs - (clock.now() - started));
    await Promise.all([...this.clusters.values()].map((rt) => rt.drainAll(remaining)));
    if (this.#admin) {
      this.#admin.closeAllConnections();
      await closeServer(this.#admin);
    }
    return { inFlightAtDeadline: left };
  }

  /** Hard stop for tests: closes everything without waiting. */
  async close(): Promise<void> {
    this.#shuttingDown = true;
    this.#admission?.close();
    for (const rt of this.clusters.values()) rt.close();
    for (const s of [this.#listener, this.#admin]) {
      if (s) {
        s.closeAllConnections();
        await closeServer(s);
      }
    }
  }

  findHost(cluster: string, address: string, port: number) {
    return this.clusters.get(cluster)?.hosts.get(hostKey(address, port));
  }
}

function listen(server: Server, host: string, port: number, reusePort: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // exclusive: a worker binds its own socket, never a handle shared through node:cluster's
    // primary (which would give every worker's port-0 listener the same port, round-robin).
    // reusePort: the egress listener of every worker on one address (SO_REUSEPORT).
    server.listen({ port, host, exclusive: true, ...(reusePort ? { reusePort: true } : {}) }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const sleep = (clock: Clock, ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
