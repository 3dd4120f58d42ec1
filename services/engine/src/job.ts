/**
 * One evaluation job: lock the cluster, read windows + state + operator settings, evaluate (the
 * pure core), commit state and decisions in one fenced atomic step, release the lock. The
 * evaluation time is the job's window end (`at`), never the wall clock, so a retried job
 * decides exactly what the first try decided and the decision-seen markers drop the repeats.
 * A job whose `at` is not after the state's last evaluation is stale (already done, or
 * overtaken by a later window) and does nothing.
 * Traced (docs/decisions/0018-tuner-tracing.md): `meshtune.engine.read`, `.rules` (with one
 * `meshtune.engine.rule` child per rule that proposed something) and `.commit` under the job's
 * span; each decision carries its rule span's traceparent so the actuator continues the trace.
 */
import { inSpan, type Result, TRACER_NAME, traceparentOf } from "@meshtune/adapters";
import type { ClusterWindows, Decision } from "@meshtune/contracts";
import { type EngineConfig, type EngineState, evaluate, type OperatorSettings } from "@meshtune/engine";
import { context, trace } from "@opentelemetry/api";
import type { EngineStore } from "./store.js";

/** Where the windows come from (the collector's reader in production, a fake in tests). */
export interface WindowSource {
  read(cluster: string, at: number): Promise<Result<ClusterWindows>>;
}

export type JobOutcome =
  | { result: "evaluated"; decisions: Decision[]; added: Decision[]; evaluateMs: number }
  | { result: "stale"; lastEvaluatedAt: number }
  | { result: "locked" };

export interface JobDeps {
  store: EngineStore;
  windows: WindowSource;
  config: EngineConfig;
  /** Forces dry-run for every cluster (the CLI's --dry-run), on top of the operator settings. */
  dryRun: boolean;
  lockTtlMs: number;
  /** How long to wait for another worker's lock on the cluster before giving the job back. */
  lockWaitMs: number;
  onState?: (cluster: string, state: EngineState, costs: Record<string, number>) => void;
  onBadPins?: (cluster: string, endpoints: string[]) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function acquire(deps: JobDeps, cluster: string): Promise<string | undefined> {
  const deadline = Date.now() + deps.lockWaitMs;
  for (let i = 0; i < 10_000; i++) {
    const token = await deps.store.lock(cluster, deps.lockTtlMs);
    if (token || Date.now() >= deadline) return token;
    await sleep(20);
  }
  return undefined;
}

function withForcedDryRun(o: OperatorSettings, forced: boolean): OperatorSettings {
  return forced ? { ...o, dryRun: { ...o.dryRun, global: true } } : o;
}

/**
 * One `meshtune.engine.rule` span per rule that proposed decisions (the pure core is one
 * synchronous call, so these spans mark which rules spoke, not how long each took), and each
 * decision stamped with its rule span's traceparent. Unchanged decisions when nothing traces.
 */
function traceRules(decisions: Decision[]): Decision[] {
  const byRule = new Map<string, Decision[]>();
  for (const d of decisions) byRule.set(d.rule, [...(byRule.get(d.rule) ?? []), d]);
  const stamped = new Map<string, string | undefined>();
  for (const [rule, ds] of byRule) {
    const span = trace.getTracer(TRACER_NAME).startSpan("meshtune.engine.rule", {
      attributes: {
        "meshtune.rule": rule,
        "meshtune.decisions": ds.length,
        "meshtune.kinds": [...new Set(ds.map((d) => d.kind))],
        "meshtune.dry_run": ds.some((d) => d.dryRun),
      },
    });
    stamped.set(rule, traceparentOf(trace.setSpan(context.active(), span)));
    span.end();
  }
  return decisions.map((d) => {
    const traceparent = stamped.get(d.rule);
    return traceparent ? { ...d, traceparent } : d;
  });
}

/** Throws on I/O failure (BullMQ retries the job); returns what happened otherwise. */
export async function runEvaluationJob(deps: JobDeps, cluster: string, at: number): Promise<JobOutcome> {
  const token = await acquire(deps, cluster);
  if (!token) return { result: "locked" };
  try {
    const [loaded, windows] = await inSpan("meshtune.engine.read", {}, () =>
      Promise.all([deps.store.load(cluster), deps.windows.read(cluster, at)]),
    );
    if (loaded.badPins.length > 0) deps.onBadPins?.(cluster, loaded.badPins);
    const last = loaded.state.lastEvaluatedAt;
    if (last !== undefined && at <= last) return { result: "stale", lastEvaluatedAt: last };
    if (!windows.ok) throw new Error(windows.error);
    const started = performance.now();
    const { out, decisions } = await inSpan("meshtune.engine.rules", {}, async (span) => {
      const out = evaluate({
        config: deps.config,
        windows: windows.value,
        state: loaded.state,
        now: at,
        operator: withForcedDryRun(loaded.operator, deps.dryRun),
      });
      span.setAttribute("meshtune.decisions", out.decisions.length);
      return { out, decisions: traceRules(out.decisions) };
    });
    const evaluateMs = performance.now() - started;
    const committed = await inSpan("meshtune.engine.commit", {}, () =>
      deps.store.commit(cluster, token, out.state, decisions),
    );
    if (!committed.ok) throw new Error(committed.error);
    deps.onState?.(cluster, out.state, out.costs);
    return { result: "evaluated", decisions, added: committed.value, evaluateMs };
  } finally {
    await deps.store.unlock(cluster, token).catch(() => {});
  }
}
