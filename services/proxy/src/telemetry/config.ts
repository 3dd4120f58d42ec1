/**
 * Telemetry settings: CLI flags win over the standard OTel environment variables, which win
 * over the defaults. Only the variables listed here are read (no OTel auto-configuration), so
 * what the proxy does is what `meshtune proxy --help` says.
 */

export const TELEMETRY_DEFAULTS = {
  /** OTLP/HTTP base URL; /v1/traces and /v1/metrics are appended. */
  otlpEndpoint: "http://127.0.0.1:4318",
  /**
   * Head-sampling ratio for request traces when the caller sent no sampled parent. Traces are
   * for looking at single requests; the tuner decides from metrics and fast signals, which are
   * never sampled. 1% is Istio's default too; sampled requests cost several times an unsampled
   * one (docs/decisions/0005-proxy-telemetry.md), and a caller's sampled traceparent is always
   * honoured whatever the ratio.
   */
  sampleRatio: 0.01,
  /** OTLP metric push interval. The tuner's windows are tens of seconds; 10 s gives it several points per window. */
  metricsIntervalMs: 10_000,
} as const;

export interface TelemetrySettings {
  enabled: boolean;
  otlpEndpoint: string;
  sampleRatio: number;
  metricsIntervalMs: number;
}

export interface TelemetryFlags {
  noTelemetry?: boolean;
  otlpEndpoint?: string;
  sampleRatio?: string;
  metricsIntervalMs?: string;
}

export type SettingsResult = { ok: true; value: TelemetrySettings } | { ok: false; error: string };

/** Environment variables read (standard OTel names). */
export const TELEMETRY_ENV = {
  disabled: "OTEL_SDK_DISABLED",
  endpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
  sampleRatio: "OTEL_TRACES_SAMPLER_ARG",
  metricsInterval: "OTEL_METRIC_EXPORT_INTERVAL",
} as const;

export function resolveTelemetrySettings(flags: TelemetryFlags, env: NodeJS.ProcessEnv = process.env): SettingsResult {
  const enabled = !(flags.noTelemetry || env[TELEMETRY_ENV.disabled]?.trim().toLowerCase() === "true");
  const endpoint = (flags.otlpEndpoint ?? env[TELEMETRY_ENV.endpoint] ?? TELEMETRY_DEFAULTS.otlpEndpoint).replace(
    /\/+$/,
    "",
  );
  try {
    const u = new URL(endpoint);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    return { ok: false, error: `OTLP endpoint must be an http(s) URL, got '${endpoint}'` };
  }
  const ratioRaw = flags.sampleRatio ?? env[TELEMETRY_ENV.sampleRatio];
  const sampleRatio = ratioRaw === undefined ? TELEMETRY_DEFAULTS.sampleRatio : Number(ratioRaw);
  if (!Number.isFinite(sampleRatio) || sampleRatio < 0 || sampleRatio > 1)
    return { ok: false, error: `trace sample ratio must be a number in [0, 1], got '${ratioRaw}'` };
  const intervalRaw = flags.metricsIntervalMs ?? env[TELEMETRY_ENV.metricsInterval];
  const metricsIntervalMs = intervalRaw === undefined ? TELEMETRY_DEFAULTS.metricsIntervalMs : Number(intervalRaw);
  if (!Number.isInteger(metricsIntervalMs) || metricsIntervalMs < 100)
    return { ok: false, error: `metrics interval must be an integer ≥ 100 (ms), got '${intervalRaw}'` };
  return { ok: true, value: { enabled, otlpEndpoint: endpoint, sampleRatio, metricsIntervalMs } };
}
