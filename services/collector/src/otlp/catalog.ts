/**
 * Which proxy metrics the collector turns into window fields (names only from the contracts
 * catalog, PROXY_METRICS and LABEL). Everything else is ignored and counted.
 */
import { BUCKET_KIND, type BucketKind, GAUGE, type GaugeName, HISTOGRAM_BOUNDS } from "@meshtune/adapters";
import { LABEL, PROXY_METRICS } from "@meshtune/contracts";

export interface CounterRule {
  type: "counter";
  kind: BucketKind;
  /** The label whose value completes the field (`<ep>|<kind>|<value>`); none for picks. */
  label?: string;
  /** Extra label that only distinguishes series (picks by policy). */
  seriesLabel?: string;
  /** Label values that also count per proxy as a failure or as healthy evidence. */
  fail?: ReadonlySet<string> | "all";
  ok?: ReadonlySet<string>;
}
export interface HistogramRule {
  type: "histogram";
  kind: BucketKind;
  bounds: readonly number[];
}
export interface GaugeRule {
  type: "gauge";
  /** Fixed gauge, or by the value of `label` (pool connections by state). */
  gauge?: GaugeName;
  label?: string;
  byLabel?: Readonly<Record<string, GaugeName>>;
}
export type MetricRule = CounterRule | HistogramRule | GaugeRule;

const M = PROXY_METRICS;
const set = (...v: string[]) => new Set(v);

export const METRIC_RULES: ReadonlyMap<string, MetricRule> = new Map<string, MetricRule>([
  [
    M.requests.name,
    { type: "counter", kind: BUCKET_KIND.attempts, label: LABEL.statusClass, fail: set("5xx", "error") },
  ],
  [M.requestDuration.name, { type: "histogram", kind: BUCKET_KIND.latency, bounds: HISTOGRAM_BOUNDS.lat! }],
  [M.poolWait.name, { type: "histogram", kind: BUCKET_KIND.poolWait, bounds: HISTOGRAM_BOUNDS.pw! }],
  [M.connectDuration.name, { type: "histogram", kind: BUCKET_KIND.connectLatency, bounds: HISTOGRAM_BOUNDS.cl! }],
  [
    M.connectFailures.name,
    {
      type: "counter",
      kind: BUCKET_KIND.connectFailures,
      label: LABEL.reason,
      fail: "all",
    },
  ],
  [
    M.warmup.name,
    {
      type: "counter",
      kind: BUCKET_KIND.warmup,
      label: LABEL.outcome,
      fail: set("connect_failed", "health_failed"),
      ok: set("ready"),
    },
  ],
  [
    M.healthChecks.name,
    {
      type: "counter",
      kind: BUCKET_KIND.health,
      label: LABEL.result,
      fail: set("failure", "timeout"),
      ok: set("success"),
    },
  ],
  [M.ejections.name, { type: "counter", kind: BUCKET_KIND.ejections, label: LABEL.reason }],
  [M.lbPicks.name, { type: "counter", kind: BUCKET_KIND.picks, seriesLabel: LABEL.policy }],
  [M.inFlight.name, { type: "gauge", gauge: GAUGE.inFlight }],
  [
    M.poolConnections.name,
    {
      type: "gauge",
      label: LABEL.state,
      byLabel: { idle: GAUGE.poolIdle, active: GAUGE.poolActive, connecting: GAUGE.poolConnecting },
    },
  ],
  [M.poolPending.name, { type: "gauge", gauge: GAUGE.poolPending }],
  [M.lbScore.name, { type: "gauge", gauge: GAUGE.lbScore }],
]);
