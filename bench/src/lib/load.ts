/**
 * Thin wrapper over the testkit's open-loop load generator (runLoad): latency is measured from
 * each request's scheduled send time, so a stalled proxy cannot hide its slow samples. Keeps
 * every sample (latency, endpoint, status, error) so scenarios can cut windows — the first
 * 1,000 requests, the seconds after a rate step — and count requests above a threshold.
 */
import { type LoadReport, type LoadSample, type LoadStage, runLoad } from "@meshtune/testkit";
import { r3, type Summary, summarize } from "./stats.js";

export interface Sample {
  index: number;
  at: number;
  latency: number;
  ok: boolean;
  status?: number;
  endpoint?: string;
  error?: string;
}

export interface LoadRun {
  report: LoadReport;
  samples: Sample[];
}

export interface LoadSpec {
  urls: string[];
  rps?: number;
  stages?: LoadStage[];
  durationMs?: number;
  timeoutMs?: number;
  maxInFlight?: number;
  ca?: string;
  keepSamples?: boolean;
  path?: string;
}

export async function load(spec: LoadSpec): Promise<LoadRun> {
  const samples: Sample[] = [];
  const keep = spec.keepSamples ?? true;
  const report = await runLoad({
    urls: spec.urls.map((u) => `${u}${spec.path ?? "/bench"}`),
    ...(spec.stages ? { stages: spec.stages } : { rps: spec.rps, durationMs: spec.durationMs }),
    timeoutMs: spec.timeoutMs ?? 10_000,
    maxInFlight: spec.maxInFlight ?? 2_000,
    ...(spec.ca ? { ca: spec.ca } : {}),
    onResult: keep
      ? (s: LoadSample) => {
          const ok = !s.dropped && s.error === undefined && s.status !== undefined && s.status < 400;
          samples.push({
            index: s.index,
            at: s.scheduledAtMs,
            latency: s.latencyMs,
            ok,
            status: s.status,
            endpoint: s.endpoint,
            error: s.dropped ? "dropped" : s.error,
          });
        }
      : undefined,
  });
  samples.sort((a, b) => a.index - b.index);
  return { report, samples };
}

/** Client-visible failures: transport errors, drops and non-2xx/3xx responses. */
export function clientErrors(r: LoadReport): number {
  let n = r.errorCount + r.dropped;
  for (const [status, count] of Object.entries(r.statuses)) if (Number(status) >= 400) n += count;
  return n;
}

export interface LoadFigures {
  requests: number;
  achievedRps: number;
  latencyMs: Summary;
  clientErrors: number;
  errors: Record<string, number>;
  statuses: Record<string, number>;
  byEndpoint: Record<string, number>;
}

export function figures(run: LoadRun, filter?: (s: Sample) => boolean): LoadFigures {
  const r = run.report;
  if (!filter) {
    return {
      requests: r.sent + r.dropped,
      achievedRps: Math.round(r.achievedRps),
      latencyMs: {
        count: r.completed,
        p50: r3(r.latencyMs.p50),
        p90: r3(r.latencyMs.p90),
        p99: r3(r.latencyMs.p99),
        p999: r3(r.latencyMs.p999),
        max: r3(r.latencyMs.max),
        mean: r3(r.latencyMs.mean),
      },
      clientErrors: clientErrors(r),
      errors: r.errors,
      statuses: r.statuses,
      byEndpoint: Object.fromEntries(Object.entries(r.byEndpoint).map(([k, v]) => [k, v.count])),
    };
  }
  const sel = run.samples.filter(filter);
  const errors: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const byEndpoint: Record<string, number> = {};
  let bad = 0;
  const lat: number[] = [];
  for (const s of sel) {
    if (s.error) errors[s.error] = (errors[s.error] ?? 0) + 1;
    if (s.status !== undefined) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    if (!s.ok) bad++;
    if (s.error === undefined) {
      lat.push(s.latency);
      if (s.endpoint) byEndpoint[s.endpoint] = (byEndpoint[s.endpoint] ?? 0) + 1;
    }
  }
  const span = sel.length > 1 ? (sel[sel.length - 1]!.at - sel[0]!.at) / 1000 : 0;
  return {
    requests: sel.length,
    achievedRps: span > 0 ? Math.round(sel.length / span) : 0,
    latencyMs: summarize(lat),
    clientErrors: bad,
    errors,
    statuses,
    byEndpoint,
  };
}
