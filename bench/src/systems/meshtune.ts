/**
 * meshtune's proxy as a child process pinned to one core: either the shipped CLI
 * (`meshtune proxy --config FILE`) or the instrumented launcher (meshtune-probe.ts), which is
 * the same EgressProxy plus an onAttempt hook that records each attempt's pool wait — the
 * only way to see pool wait from outside (the proxy exports no such metric yet).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { CoordinationConfig, ProxyConfigInput } from "@meshtune/contracts";
import { CONFIG_API_VERSION } from "@meshtune/contracts";
import { heapReexecEnv, missingHeapFlags, semiSpaceSetting } from "@meshtune/proxy/heap-flags";
import { sleep, waitFor } from "../lib/log.js";
import { freePort } from "../lib/ports.js";
import { spawnManaged, tailLog, treeCpuMs, treeRssMiB } from "../lib/procs.js";
import type { PoolWaitSummary, ProxyInstance, ProxySpec, SystemDef } from "./types.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI = path.join(REPO_ROOT, "services/cli/dist/main.js");
const PROBE = fileURLToPath(new URL("../meshtune-probe.js", import.meta.url));

export interface MeshtuneVariant {
  /** Coordination switches turned off for this variant (each measured separately). */
  coordination?: Partial<
    Pick<CoordinationConfig, "lbDirectedWarmup" | "warmupFailureEjects" | "poolAwareScore" | "predictiveScaleUp">
  >;
  /** pool.minWarm (default 2; 0 = lazy like Envoy). */
  minWarm?: number;
  /** Run the instrumented launcher (pool-wait figures) instead of the CLI. */
  probe?: boolean;
  /** CLI `--workers N` (several processes on one SO_REUSEPORT listener; the primary serves the admin API). */
  workers?: number;
}

export const WARMUP_DEADLINE_MS = 3_000;

export function meshtuneConfig(spec: ProxySpec, listen: number, admin: number, v: MeshtuneVariant): ProxyConfigInput {
  return {
    apiVersion: CONFIG_API_VERSION,
    kind: "ProxyConfig",
    proxy: {
      id: "bench",
      listener: { host: "127.0.0.1", port: listen },
      admin: { host: "127.0.0.1", port: admin },
      drainTimeoutMs: 1_000,
    },
    routes: [{ match: { host: "*" }, cluster: "sim" }],
    clusters: [
      {
        name: "sim",
        discovery: {
          type: "static",
          endpoints: spec.upstreams.map((u) => ({ address: "127.0.0.1", port: u.port })),
        },
        tls: spec.tls
          ? { enabled: true, sni: "localhost", caFile: spec.caFile, rejectUnauthorized: true, sessionReuse: true }
          : { enabled: false },
        lb: { policy: "least_request" },
        pool: {
          minWarm: v.minWarm ?? 2,
          maxConnections: 64,
          maxPendingRequests: 1024,
          connectTimeoutMs: spec.connectTimeoutMs,
          idleTimeoutMs: 60_000,
          pendingTimeoutMs: spec.requestTimeoutMs,
        },
        warmup: { enabled: true, deadlineMs: WARMUP_DEADLINE_MS, healthCheckOnConnection: true },
        healthCheck: {
          enabled: true,
          path: "/health",
          intervalMs: spec.healthIntervalMs,
          timeoutMs: Math.min(spec.healthIntervalMs, spec.connectTimeoutMs),
          healthyThreshold: 1,
          unhealthyThreshold: 2,
        },
        outlier: {
          enabled: true,
          consecutive5xx: 5,
          consecutiveGatewayErrors: 5,
          consecutiveLocalOriginFailures: 1,
          maxEjectionPercent: 40,
          // Latency ejection off: the slow-endpoint scenario measures the balancer's score.
          latency: { enabled: false },
        },
        retry: { maxRetries: 1, retryOn: ["connect-failure", "reset", "gateway-error", "timeout"] },
        coordination: { ...v.coordination },
        requestTimeoutMs: spec.requestTimeoutMs,
      },
    ],
  };
}

/** The V8 flag `meshtune proxy` re-executes with (same setting, MESHTUNE_MAX_SEMI_SPACE_MIB honoured). */
function probeHeapArgs(): string[] {
  const s = semiSpaceSetting([], process.env);
  if (!s.ok) throw new Error(s.error);
  return missingHeapFlags({ execArgv: [], env: process.env, mib: s.mib });
}

export function meshtuneSystem(id: string, label: string, v: MeshtuneVariant = {}): SystemDef {
  return {
    id,
    system: "meshtune",
    label,
    async start(spec: ProxySpec): Promise<ProxyInstance> {
      const [listen, admin] = [await freePort(), await freePort()];
      const cfgFile = path.join(spec.workDir, "proxy.yaml");
      // JSON is YAML: the CLI's YAML loader reads it as is.
      writeFileSync(cfgFile, `${JSON.stringify(meshtuneConfig(spec, listen, admin, v), null, 2)}\n`);
      // BENCH_PROXY_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is for profiling the proxy.
      const nodeArgs = process.env.BENCH_PROXY_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
      const args = v.probe
        ? [...probeHeapArgs(), ...nodeArgs, PROBE, cfgFile]
        : // Telemetry off, as HAProxy's and NGINX's logs are: this measures the data plane.
          [
            ...nodeArgs,
            CLI,
            "proxy",
            "--config",
            cfgFile,
            "--no-watch",
            "--log-level",
            "warn",
            "--no-telemetry",
            ...(v.workers ? ["--workers", String(v.workers)] : []),
          ];
      const t0 = performance.now();
      const proc = spawnManaged({
        name: label,
        command: process.execPath,
        args,
        logFile: path.join(spec.workDir, "meshtune.log"),
        cpus: spec.cpus,
        cwd: REPO_ROOT,
        // The CLI re-executes itself with these (heap-flags.ts); the probe launcher is started
        // with them so that both run with the same heap.
        ...(v.probe ? { env: heapReexecEnv(process.env) } : {}),
      });
      const base = `http://127.0.0.1:${admin}`;
      const ready = await waitFor(
        async () => {
          if (proc.exitCode() !== undefined) throw new Error("exited");
          const r = await fetch(`${base}/ready`);
          await r.body?.cancel();
          return r.status === 200;
        },
        WARMUP_DEADLINE_MS + 10_000,
        10,
      );
      if (!ready) {
        await proc.stop();
        throw new Error(`meshtune did not become ready (exit ${proc.exitCode() ?? "none"}):\n${tailLog(proc.logFile)}`);
      }
      const readyMs = performance.now() - t0;
      const getJson = async (p: string, method = "GET") => {
        const r = await fetch(`${base}${p}`, { method });
        if (r.status !== 200) throw new Error(`admin ${p}: ${r.status}`);
        return r.json();
      };
      return {
        system: "meshtune",
        label,
        port: listen,
        pid: proc.pid,
        readyMs,
        cpuMs: () => treeCpuMs(proc.pid),
        rssMiB: () => treeRssMiB(proc.pid),
        clusters: () => getJson("/clusters"),
        poolWait: v.probe
          ? async (reset = false) =>
              (await getJson(reset ? "/bench/pool-wait?reset=1" : "/bench/pool-wait")) as PoolWaitSummary
          : undefined,
        stop: async () => {
          await proc.stop();
          await sleep(50);
        },
      };
    },
  };
}
