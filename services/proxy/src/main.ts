/**
 * `meshtune proxy`: thin service wiring — parse flags, load the YAML config, start the
 * data plane, reload on file change and SIGHUP, drain on SIGTERM/SIGINT and exit 0.
 */

import { readFileSync, watch } from "node:fs";
import type { ServerResponse } from "node:http";
import os from "node:os";
import { basename, dirname, resolve as resolvePath } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, formatIssues, parseProxyConfig } from "@meshtune/contracts";
import {
  announce,
  EgressProxy,
  healthRole,
  receiveVerdicts,
  verdictSender,
  WorkerPrimary,
  workerId,
} from "@meshtune/dataplane";
import pino from "pino";
import { readYamlFile } from "./config-file.js";
// Light modules only: the telemetry SDK and the control client are imported when enabled.
import { CONTROL_HELP, CONTROL_OPTIONS, resolveControlSettings } from "./control/options.js";
import { HEAP_HELP } from "./heap-flags.js";
import { resolveTelemetrySettings, TELEMETRY_DEFAULTS } from "./telemetry/config.js";

export const PROXY_HELP = `Usage: meshtune proxy --config FILE [options]

Runs the meshtune sidecar proxy: an HTTP/1.1 egress listener (default 127.0.0.1:15001) that
routes by Host header to clusters of external endpoints, with load balancing, warm connection
pools, health checks and outlier detection; and an admin API (default 127.0.0.1:15000) with
/live, /ready, /clusters, /config and /metrics (Prometheus). Traces, metrics and fast failure
signals go out over OTLP/HTTP (protobuf); docs/telemetry.md lists every metric and attribute.

Options:
  -c, --config FILE     EgressProxy configuration (YAML; schema: packages/contracts/schema/proxy-config.schema.json)
      --id ID           EgressProxy id (default: <hostname>-<pid> or proxy.id from the config)
      --log-level LEVEL trace|debug|info|warn|error (default: info)
      --no-watch        Do not reload when the file changes (SIGHUP still reloads)
      --otlp-endpoint URL
                        OTLP/HTTP base URL; /v1/traces and /v1/metrics are appended
                        (env OTEL_EXPORTER_OTLP_ENDPOINT; default ${TELEMETRY_DEFAULTS.otlpEndpoint})
      --trace-sample-ratio R
                        Head-sampling ratio in [0, 1] for request traces without a sampled parent
                        (env OTEL_TRACES_SAMPLER_ARG; default ${TELEMETRY_DEFAULTS.sampleRatio}); metrics and
                        fast failure signals are never sampled
      --metrics-interval-ms MS
                        OTLP metrics push interval (env OTEL_METRIC_EXPORT_INTERVAL; default ${TELEMETRY_DEFAULTS.metricsIntervalMs})
      --no-telemetry    No traces, no metrics, no /metrics (env OTEL_SDK_DISABLED=true)
      --workers N|auto  Worker processes sharing the listener (SO_REUSEPORT), each with its own pools;
                        outlier and warm-up verdicts are shared, worker 1 runs the active health
                        checks for all, the admin API reports the whole proxy
                        (default: proxy.workers from the config, 1; auto = one per core)
${HEAP_HELP}
${CONTROL_HELP}
  -h, --help            Show this help

Signals: SIGHUP reloads the config (an invalid file is rejected and the last good config kept);
SIGTERM/SIGINT drain in-flight requests (proxy.drainTimeoutMs) and exit 0.`;

export async function runProxy(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string", short: "c" },
      id: { type: "string" },
      "log-level": { type: "string", default: "info" },
      "no-watch": { type: "boolean", default: false },
      "otlp-endpoint": { type: "string" },
      "trace-sample-ratio": { type: "string" },
      "metrics-interval-ms": { type: "string" },
      "no-telemetry": { type: "boolean", default: false },
      workers: { type: "string" },
      // Applied by the CLI before this module loads (heap-flags.ts); accepted here so that
      // strict parsing does not reject it.
      "max-semi-space-mib": { type: "string" },
      ...CONTROL_OPTIONS,
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(PROXY_HELP);
    return 0;
  }
  if (!values.config) {
    console.error("meshtune proxy: --config FILE is required (see --help)");
    return 2;
  }
  const file = values.config;
  const tset = resolveTelemetrySettings({
    noTelemetry: values["no-telemetry"],
    otlpEndpoint: values["otlp-endpoint"],
    sampleRatio: values["trace-sample-ratio"],
    metricsIntervalMs: values["metrics-interval-ms"],
  });
  if (!tset.ok) {
    console.error(`meshtune proxy: ${tset.error}`);
    return 2;
  }
  const control = resolveControlSettings(values);
  if (!control.ok) {
    console.error(`meshtune proxy: ${control.error}`);
    return 2;
  }
  const log = pino({ name: "meshtune-proxy", level: values["log-level"] });
  let raw: unknown;
  try {
    raw = readYamlFile(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  const rawProxy = (raw as { proxy?: { id?: string; zone?: string } } | undefined)?.proxy;
  const rawId = rawProxy?.id;
  const id = values.id ?? rawId ?? `${os.hostname()}-${process.pid}`;
  // --workers N: this process becomes the primary (workers/primary.ts in the data plane).
  const wid = workerId();
  const workers = resolveWorkers(values.workers ?? (rawProxy as { workers?: unknown } | undefined)?.workers);
  if (workers === undefined) {
    console.error("meshtune proxy: --workers must be a positive integer or auto");
    return 2;
  }
  if (workers > 1 && wid === undefined) return runPrimary(raw, file, id, workers, log);
  // Loaded only when on: the OpenTelemetry SDK is ~15 MiB of heap a proxy run with
  // --no-telemetry does not need (issue #15, RSS goal).
  const { ProxyTelemetry } = tset.value.enabled ? await import("./telemetry/index.js") : { ProxyTelemetry: undefined };
  const telemetry = ProxyTelemetry
    ? new ProxyTelemetry({
        instanceId: wid === undefined ? id : `${id}-w${wid}`,
        zone: typeof rawProxy?.zone === "string" ? rawProxy.zone : undefined,
        otlpEndpoint: tset.value.otlpEndpoint,
        sampleRatio: tset.value.sampleRatio,
        metricsIntervalMs: tset.value.metricsIntervalMs,
        log: (level, msg, fields) => log[level](fields ?? {}, msg),
      })
    : undefined;
  const sendVerdict = wid === undefined ? undefined : verdictSender(wid);
  let controlRead = !control.value;
  const readyRoute = (res: ServerResponse) => {
    const ready = proxy.ready && controlRead;
    const text = `${JSON.stringify({ ready }, null, 2)}\n`;
    res.writeHead(ready ? 200 : 503, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const proxy = new EgressProxy(
    {
      readCa: (p) => readFileSync(p, "utf8"),
      log: (level, msg, fields) => log[level](fields ?? {}, msg),
      hooks: telemetry?.hooks,
      // /ready waits for the first read of the control snapshots too (issue #14): a restarted
      // proxy must not take traffic on its file config alone while the fleet is on a newer one.
      admin: { routes: { ...telemetry?.adminRoutes, "/ready": (_req, res) => readyRoute(res) } },
      // Worker 1 runs the active health checks; the others adopt its verdicts (issue #15).
      ...(wid === undefined
        ? {}
        : { worker: { admin: { host: "127.0.0.1", port: 0 }, healthChecks: healthRole(wid) } }),
      onClusterEvent: (ev) => {
        telemetry?.onClusterEvent(ev);
        sendVerdict?.(ev);
        if (ev.type === "warmup_done" && ev.failed > 0)
          log.warn(
            { cluster: ev.cluster, endpoint: ev.host.key, ready: ev.ready, failed: ev.failed, reason: ev.failures[0] },
            "warm-up failures",
          );
        else if (ev.type === "outlier") log.warn({ cluster: ev.cluster, ...summarize(ev.event) }, "outlier");
        else if (ev.type === "health" && !ev.initial)
          log[ev.healthy ? "info" : "warn"](
            { cluster: ev.cluster, endpoint: ev.host.key, detail: ev.detail },
            ev.healthy ? "health check passing again" : "health check failing",
          );
        else if (ev.type === "discovery" && ev.event.type === "resolve_failed")
          log.warn({ cluster: ev.cluster, ...ev.event }, "dns");
      },
    },
    id,
  );
  telemetry?.attach(proxy);
  let version = 1;
  const first = await proxy.applyConfig(version, raw, file);
  if (first.status === "NACK") {
    console.error(`invalid config ${file}:\n${first.reason.replace(/^invalid config:\n/, "")}`);
    return 1;
  }
  // A proxy that cannot start exits 1 (its orchestrator sees that); only applied configs and
  // run-time reloads are telemetry's fast signals.
  telemetry?.configApplied({ kind: "config", version, result: first.status, source: file });
  await proxy.start();
  if (wid !== undefined) {
    receiveVerdicts(proxy);
    announce(proxy, wid);
  }
  const l = proxy.listenerAddress;
  const a = proxy.adminAddress;
  log.info({ listener: `${l?.address}:${l?.port}`, admin: `${a?.address}:${a?.port}`, id: proxy.id }, "proxy ready");
  const controlClient = control.value
    ? await (await import("./control/start.js")).startProxyControl(proxy, control.value, log, (kind) =>
        telemetry?.controlRefused(kind),
      )
    : undefined;
  controlRead = true; // the stored snapshots were applied, or Redis did not answer within the start wait

  // Reloads run one at a time, each with the next version number, so a reload that arrives
  // while another is being applied is queued, not NACKed as stale (review #12b).
  let nextVersion = version + 1;
  let chain: Promise<void> = Promise.resolve();
  const applyReload = async (why: string) => {
    let input: unknown;
    try {
      input = readYamlFile(file);
    } catch (err) {
      log.error({ why, err: (err as Error).message }, "reload failed; keeping the last good config");
      return;
    }
    const v = nextVersion++;
    let r: Awaited<ReturnType<typeof proxy.applyConfig>>;
    try {
      r = await proxy.applyConfig(v, input, `${file} (${why})`);
    } catch (err) {
      // applyConfig validates before it changes anything; this is a last line of defence so a
      // reload can never take the proxy down.
      r = { status: "NACK", version: v, reason: (err as Error).message };
    }
    telemetry?.configApplied({
      kind: "config",
      version: v,
      result: r.status,
      source: `${file} (${why})`,
      reason: reasonOf(r),
    });
    if (r.status === "ACK") {
      version = r.version;
      // A reload puts the file's pool limits back; the tuner's snapshot goes on top again.
      await controlClient?.resync();
    } else log.error({ why, reason: r.reason }, "reload rejected; keeping the last good config");
  };
  const reload = (why: string) => {
    chain = chain.then(() => applyReload(why));
    return chain;
  };
  let debounce: NodeJS.Timeout | undefined;
  // Watch the directory, not the file: editors and Kubernetes ConfigMaps replace the file
  // (rename or symlink swap), after which a watch on the old inode never fires again (review #12a).
  const watcher = values["no-watch"]
    ? undefined
    : watch(dirname(resolvePath(file)), (_event, name) => {
        if (name !== null && name !== basename(file) && name !== "..data") return;
        clearTimeout(debounce);
        debounce = setTimeout(() => void reload("file changed"), 200);
      });
  process.on("SIGHUP", () => void reload("SIGHUP"));

  return new Promise<number>((resolve) => {
    const stop = async (sig: string) => {
      log.info({ signal: sig }, "draining");
      watcher?.close();
      clearTimeout(debounce);
      await controlClient?.close();
      const r = await proxy.shutdown();
      await telemetry?.shutdown();
      log.info({ inFlightAtDeadline: r.inFlightAtDeadline }, "stopped");
      resolve(0);
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  });
}

/** --workers / proxy.workers: a count, "auto" (one per core), or undefined when invalid. */
function resolveWorkers(v: unknown): number | undefined {
  if (v === undefined || v === null) return 1;
  if (v === "auto") return os.availableParallelism();
  const n = typeof v === "number" ? v : Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

/** The primary of a multi-worker proxy: forks the workers, relays verdicts, serves the admin API. */
async function runPrimary(raw: unknown, file: string, id: string, workers: number, log: pino.Logger): Promise<number> {
  const parsed = parseProxyConfig(raw);
  if (!parsed.ok) {
    console.error(`invalid config ${file}:\n${formatIssues(parsed.issues)}`);
    return 1;
  }
  const cfg = parsed.value.proxy;
  const primary = new WorkerPrimary({
    workers,
    id,
    admin: cfg.admin,
    drainTimeoutMs: cfg.drainTimeoutMs,
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
  });
  await primary.start();
  log.info({ workers, admin: `${cfg.admin.host}:${cfg.admin.port}`, id }, "proxy primary started");
  process.on("SIGHUP", () => primary.signal("SIGHUP"));
  return new Promise<number>((resolve) => {
    const stop = async (sig: string) => {
      log.info({ signal: sig }, "stopping workers");
      await primary.stop();
      resolve(0);
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  });
}

function reasonOf(r: { status: "ACK" | "NACK"; reason?: string }): string | undefined {
  return r.status === "NACK" ? r.reason : undefined;
}

function summarize(ev: { type: string; host?: { key: string }; reason?: string }) {
  return { event: ev.type, endpoint: ev.host?.key, reason: ev.reason };
}
