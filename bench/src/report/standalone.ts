/**
 * The report rows of the standalone benchmarks' goals — bench/engine (engine-latest.json),
 * bench/actuator (actuator-latest.json) and services/collector/bench (collector-latest.json):
 * for every goal the measured figure, the target in words and met / NOT met. Each benchmark
 * writes its own shape (the engine: goal text → verdict with the figures in `summary`; the
 * actuator and the collector: goal key → limit with the figures in their parts), so each has
 * its own reader here. A goal whose figure is not in the JSON says so in its metric cell rather
 * than showing a made-up value. Pure: JSON in, rows out.
 */
import { cell, type ReportRow } from "./table.js";

type Json = Record<string, unknown>;

/** One goal as the report shows it. */
interface Judged {
  metric: string;
  /** The target in words, e.g. "≤ 500 ms". */
  goal: string;
  /** Absent when the goal is not known here: then only the benchmark's verdict is shown. */
  op?: "≤" | "≥";
  limit?: number;
  value?: number;
  /** The benchmark's own verdict, when its JSON has one. */
  verdict?: boolean;
  /** Where the figure comes from or what qualifies it; said after the metric. */
  note?: string;
}

function at(o: unknown, ...keys: string[]): unknown {
  let x = o;
  for (const k of keys) x = x && typeof x === "object" ? (x as Json)[k] : undefined;
  return x;
}

const numAt = (o: unknown, ...keys: string[]): number | undefined => {
  const v = at(o, ...keys);
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
};

const boolAt = (o: unknown, ...keys: string[]): boolean | undefined => {
  const v = at(o, ...keys);
  return typeof v === "boolean" ? v : undefined;
};

const words = (op: "≤" | "≥", limit: number | undefined, unit = "") =>
  limit === undefined ? "-" : `${op} ${cell(limit)}${unit}`;

/**
 * The figure decides met when there is one, so that the row never contradicts itself; the
 * benchmark's verdict is the fallback, and a disagreement between the two is said in the note.
 */
function rowOf(scenario: string, j: Judged): ReportRow {
  const byFigure =
    j.value === undefined || j.limit === undefined || j.op === undefined
      ? undefined
      : j.op === "≤"
        ? j.value <= j.limit
        : j.value >= j.limit;
  const met = byFigure ?? j.verdict;
  const notes = [
    j.note,
    j.value === undefined ? "figure not in the JSON" : undefined,
    byFigure !== undefined && j.verdict !== undefined && byFigure !== j.verdict
      ? `the benchmark judged it ${j.verdict ? "met" : "NOT met"}`
      : undefined,
  ].filter((n): n is string => Boolean(n));
  return {
    scenario,
    metric: notes.length ? `${j.metric} (${notes.join("; ")})` : j.metric,
    meshtune: cell(j.value),
    haproxy: "-",
    nginx: "-",
    ratio: "-",
    goal: j.goal,
    met: met === undefined ? "-" : met ? "met" : "NOT met",
  };
}

/** A goal this file does not know: its target (or its text) and the verdict if any. */
function unknownGoal(key: string, target: unknown): Judged {
  return typeof target === "boolean"
    ? { metric: key, goal: key, verdict: target }
    : { metric: key, goal: cell(target) };
}

/** The engine's goals, matched by the start of their text (older runs lack "(median of runs)"). */
const ENGINE: readonly {
  prefix: string;
  metric: string;
  key: string;
  op: "≤" | "≥";
  limit: number;
  goal: string;
}[] = [
  { prefix: "decision p99", metric: "decision p99 ms", key: "decisionP99Ms", op: "≤", limit: 100, goal: "≤ 100 ms" },
  {
    prefix: "precision",
    metric: "ejection precision (worst run)",
    key: "precisionMin",
    op: "≥",
    limit: 0.99,
    goal: "≥ 0.99",
  },
  // Recall cannot exceed 1, so "≥ 1" is DESIGN.md's "recall 1.0".
  { prefix: "recall", metric: "ejection recall (worst run)", key: "recallMin", op: "≥", limit: 1, goal: "= 1.0" },
  {
    prefix: "hard failure",
    metric: "hard failure → decision ms (worst run)",
    key: "hardFailureToDecisionMaxMs",
    op: "≤",
    limit: 1000,
    goal: "≤ 1 s",
  },
  {
    prefix: "latency degradation",
    metric: "latency degradation → decision ms (worst run)",
    key: "latencyDegradationDetectMaxMs",
    op: "≤",
    limit: 5000,
    goal: "≤ 5 s",
  },
  {
    prefix: "no false ejection",
    metric: "false ejections under stationary noise",
    key: "stationaryFalseEjections",
    op: "≤",
    limit: 0,
    goal: "= 0",
  },
];

function engine(json: Json, goals: Json): Judged[] {
  const size = [numAt(json, "latency", "proxies"), numAt(json, "latency", "endpoints")];
  return Object.entries(goals).map(([text, verdict]) => {
    const spec = ENGINE.find((s) => text.startsWith(s.prefix));
    if (!spec) return unknownGoal(text, verdict);
    const qualifier = /\(([^)]*)\)\s*$/.exec(text)?.[1];
    const note = [
      spec.key === "decisionP99Ms" && size[0] !== undefined && size[1] !== undefined
        ? `${size[0]} proxies × ${size[1]} endpoints`
        : undefined,
      qualifier,
    ].filter(Boolean);
    return {
      metric: spec.metric,
      goal: spec.goal,
      op: spec.op,
      limit: spec.limit,
      value: numAt(json, "summary", spec.key),
      verdict: typeof verdict === "boolean" ? verdict : undefined,
      note: note.length ? note.join(", ") : undefined,
    };
  });
}

function actuator(json: Json, goals: Json): Judged[] {
  return Object.entries(goals).map(([key, target]) => {
    const limit = typeof target === "number" ? target : undefined;
    if (key === "decisionToAppliedP99Ms") {
      // actuator-latest.json may carry a later run at another load; its figure is shown too.
      const repeat = numAt(json, "latencyRepeat", "decisionToAppliedMs", "p99");
      const proxies = numAt(json, "latency", "proxies");
      const note = [
        proxies === undefined ? undefined : `${proxies} proxies`,
        repeat === undefined
          ? undefined
          : `latencyRepeat run: ${cell(repeat)}${limit === undefined ? "" : repeat <= limit ? ", met" : ", NOT met"}`,
      ].filter(Boolean);
      return {
        metric: "decision → applied p99 ms, per proxy",
        goal: words("≤", limit, " ms"),
        op: "≤",
        limit,
        value: numAt(json, "latency", "decisionToAppliedMs", "p99"),
        verdict: boolAt(json, "latency", "met"),
        note: note.length ? note.join("; ") : undefined,
      };
    }
    if (key === "fleetFailuresVsOneProxy") {
      const failed = numAt(json, "fleet", "failedWithTuner");
      const threshold = numAt(json, "fleet", "oneProxyThreshold");
      const standIn = String(at(json, "fleet", "detector") ?? "").startsWith("stand-in");
      const note = [
        failed !== undefined && threshold !== undefined ? `${cell(failed)} failed ÷ ${cell(threshold)}` : undefined,
        standIn ? "stand-in detector, no engine" : undefined,
      ].filter(Boolean);
      return {
        metric: "fleet failed requests ÷ one proxy's threshold",
        goal: words("≤", limit, "×"),
        op: "≤",
        limit,
        value: numAt(json, "fleet", "ratioTunerToOneProxy"),
        verdict: boolAt(json, "fleet", "met"),
        note: note.length ? note.join("; ") : undefined,
      };
    }
    return unknownGoal(key, target);
  });
}

function collector(json: Json, goals: Json): Judged[] {
  return Object.entries(goals).map(([key, target]) => {
    const limit = typeof target === "number" ? target : undefined;
    if (key === "spansPerCore") {
      // Two span paths count (decoded and filtered; stored in Redis): the goal holds if the slower does.
      const request = numAt(json, "perCore", "requestSpansEndToEndCollector");
      const stored = numAt(json, "perCore", "fastSpansStoredEndToEndCollector");
      const both = [request, stored].filter((v): v is number => v !== undefined);
      return {
        metric: "spans per collector CPU-second, end to end",
        goal: words("≥", limit),
        op: "≥",
        limit,
        value: both.length ? Math.min(...both) : undefined,
        note: both.length
          ? `lower of request spans ${cell(request)} and stored fast-signal spans ${cell(stored)}`
          : undefined,
      };
    }
    if (key === "pointsPerCore") {
      const redis = numAt(json, "perCore", "pointsRedis");
      return {
        metric: "metric points per collector CPU-second, end to end",
        goal: words("≥", limit),
        op: "≥",
        limit,
        value: numAt(json, "perCore", "pointsEndToEndCollector"),
        note: redis === undefined ? undefined : `Redis: ${cell(redis)} per Redis CPU-second`,
      };
    }
    return unknownGoal(key, target);
  });
}

const READERS: Record<string, (json: Json, goals: Json) => Judged[]> = { engine, actuator, collector };

/**
 * Rows for one standalone benchmark's JSON. The benchmark is told by the JSON itself
 * (`benchmark`, or the actuator's `scenario`), else by the first word of `name`.
 */
export function standaloneRows(name: string, json: Json): ReportRow[] {
  const goals = json.goals;
  if (!goals || typeof goals !== "object") return [];
  const kind = String(json.benchmark ?? json.scenario ?? name).split(/[\s(]/)[0] ?? "";
  const read = READERS[kind];
  const judged = read ? read(json, goals as Json) : Object.entries(goals as Json).map(([k, v]) => unknownGoal(k, v));
  return judged.map((j) => rowOf(name, j));
}
