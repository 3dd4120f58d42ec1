/**
 * A cluster's active health checks: one loop per host, re-armed after each check with jitter
 * so a fleet does not probe in lock-step, run on pooled connections (pool.checkHealth); the
 * verdicts (thresholds applied) are kept by a HealthCheckTracker that flips failed_active_hc.
 * In "follow" mode another worker probes and its verdicts are adopted (issue #15).
 */
import type { HealthCheckConfig } from "@meshtune/contracts";
import type { Clock, Random, TimerHandle } from "../clock.js";
import { HealthCheckTracker } from "../health/state.js";
import { type FlagWriter, flagWriter, type Host } from "../host.js";
import type { ConnectionPool } from "../pool/pool.js";
import type { ClusterEvent } from "./types.js";

export interface ClusterHealthDeps {
  cluster: string;
  clock: Clock;
  random: Random;
  config(): HealthCheckConfig;
  /** False once the runtime closed, or when another worker runs the checks ("follow"). */
  runs(): boolean;
  /** The host's pool while the host is in the cluster. */
  pool(host: Host): ConnectionPool | undefined;
  /** Re-warm a host (the warm-up owner clears its failed_warmup flag). */
  rewarm(host: Host): void;
  emit(ev: ClusterEvent): void;
}

export class ClusterHealth {
  readonly tracker: HealthCheckTracker;
  readonly #d: ClusterHealthDeps;
  readonly #flag: FlagWriter;
  readonly #timers = new Map<Host, TimerHandle>();

  constructor(deps: ClusterHealthDeps) {
    this.#d = deps;
    this.#flag = flagWriter("failed_active_hc", () => deps.clock.now());
    // The clock stamps lastCheckedAt / lastTransitionAt (shown in /clusters as wall times).
    this.tracker = new HealthCheckTracker(deps.config(), this.#flag, {
      clock: deps.clock,
      onTransition: (t) =>
        deps.emit({
          type: "health",
          cluster: deps.cluster,
          host: t.host,
          healthy: t.transition === "became_healthy",
          detail: t.detail,
        }),
    });
  }

  schedule(host: Host, immediate: boolean): void {
    // One loop per host: discovery may add a host after start() began scheduling (review #8).
    this.stop(host);
    const d = this.#d;
    const hc = d.config();
    if (!hc.enabled || !d.runs()) return;
    // Jitter spreads checks so a fleet does not probe in lock-step.
    const delay = immediate ? 0 : hc.intervalMs * (0.9 + 0.2 * d.random());
    this.#timers.set(
      host,
      d.clock.setTimeout(() => {
        void this.run(host).finally(() => {
          if (d.pool(host)) this.schedule(host, false);
        });
      }, delay),
    );
  }

  stop(host: Host): void {
    this.#timers.get(host)?.cancel();
    this.#timers.delete(host);
  }

  stopAll(): void {
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
  }

  async run(host: Host): Promise<void> {
    const pool = this.#d.pool(host);
    if (!pool || pool.draining) return;
    const r = await pool.checkHealth();
    const first = !this.tracker.snapshot(host).checked;
    const t = this.tracker.record(host, r.ok, r.detail);
    // A checker's first verdict on a host is announced even when it changes nothing here:
    // followers may still carry a flag from a checker that died (a restarted worker 1 starts
    // with every host healthy, so its first passing check is no transition; review of #15).
    if (first && t === "none") {
      const healthy = this.tracker.snapshot(host).healthy;
      this.#d.emit({ type: "health", cluster: this.#d.cluster, host, healthy, detail: r.detail, initial: true });
    }
    // A host that failed warm-up comes back through the warm-up owner once a check on a
    // fresh connection passes: it re-warms to its floor and clears its own flag.
    if (r.ok && host.hasFlag("failed_warmup")) this.#d.rewarm(host);
  }

  /** A verdict of the worker that runs the health checks (healthChecks: "follow"). */
  adopt(host: Host, healthy: boolean, detail: string): void {
    if (!this.#d.pool(host) || !this.#d.config().enabled) return;
    const t = this.tracker.adopt(host, healthy, detail);
    if (t === "became_healthy" && host.hasFlag("failed_warmup")) this.#d.rewarm(host);
  }

  /** Checks were switched on or off by a config update: start them, or stop them and clear the flag. */
  enabledChanged(hosts: readonly Host[]): void {
    const enabled = this.#d.config().enabled;
    for (const h of hosts) {
      if (enabled) this.schedule(h, true);
      else {
        this.stop(h);
        this.#flag.clear(h);
      }
    }
  }
}
