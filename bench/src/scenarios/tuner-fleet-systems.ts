/**
 * The fleets of the tuner-fleet scenario: N meshtune proxies following the tuner (the tuner a
 * child process, tuner-launcher.ts), N meshtune proxies alone, N HAProxy and N NGINX — each
 * fleet one composite ProxyInstance (every listener in `ports`). Retries are off in every
 * system here, so a request sent to the dead endpoint is a failed request the client sees
 * (with one retry every system would hide nearly all of them and the figure would compare
 * nothing); each system keeps its best passive and active health checks (README table).
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sleep, waitFor } from "../lib/log.js";
import { freePort } from "../lib/ports.js";
import { type Managed, spawnManaged, tailLog, treeCpuMs, treeRssMiB } from "../lib/procs.js";
import { HAPROXY_BIN, haproxyConfig } from "../systems/haproxy.js";
import { meshtuneConfig, REPO_ROOT, WARMUP_DEADLINE_MS } from "../systems/meshtune.js";
import { startNativeProxy } from "../systems/native.js";
import { NGINX_BIN, nginxConfig } from "../systems/nginx.js";
import type { ProxyInstance, ProxySpec, SystemDef } from "../systems/types.js";
import { type ControlHandle, purgeControl } from "./tuner-fleet-control.js";

const CLI = path.join(REPO_ROOT, "services/cli/dist/main.js");
const LAUNCHER = fileURLToPath(new URL("../tuner-launcher.js", import.meta.url));
/** meshtune's own threshold: Envoy's default of 5 consecutive local-origin failures. */
export const LOCAL_ORIGIN_THRESHOLD = 5;

export interface TunerSettings {
  redisUrl: string;
  metricsIntervalMs: number;
  evaluationIntervalMs: number;
  /** EngineConfigInput (one rule off for the ablation). */
  engineConfig?: Record<string, unknown>;
}

/** N composite instances of one system. */
export function fleetOf(def: SystemDef, n: number, id = def.id, label = `${def.label} ×${n}`): SystemDef {
  return {
    id,
    system: def.system,
    label,
    async start(spec: ProxySpec): Promise<ProxyInstance> {
      const insts: ProxyInstance[] = [];
      try {
        // Started in batches of 8: twenty Node.js processes starting at once on two cores
        // would each miss their warm-up deadline.
        for (let i = 0; i < n; i += 8) {
          const batch = Array.from({ length: Math.min(8, n - i) }, (_, j) => {
            const workDir = path.join(spec.workDir, `p${i + j}`);
            mkdirSync(workDir, { recursive: true });
            return def.start({ ...spec, workDir });
          });
          // allSettled: the instances of a batch that did start are stopped too when one fails.
          const settled = await Promise.allSettled(batch);
          for (const r of settled) if (r.status === "fulfilled") insts.push(r.value);
          const failed = settled.find((r) => r.status === "rejected");
          if (failed) throw failed.reason;
        }
      } catch (err) {
        await Promise.all(insts.map((x) => x.stop()));
        throw err;
      }
      return {
        system: def.system,
        label,
        port: insts[0]?.port,
        ports: insts.map((x) => x.port ?? 0),
        pid: insts[0]?.pid,
        readyMs: Math.max(...insts.map((x) => x.readyMs)),
        cpuMs: () => insts.reduce((a, x) => a + x.cpuMs(), 0),
        rssMiB: () => insts.reduce((a, x) => a + x.rssMiB(), 0),
        stop: async () => {
          await Promise.all(insts.map((x) => x.stop()));
        },
      };
    },
  };
}

export function haproxyNoRetry(): SystemDef {
  return {
    id: "haproxy",
    system: "haproxy",
    label: "HAProxy 2.6",
    async start(spec) {
      const listen = await freePort();
      const cfg = path.join(spec.workDir, "haproxy.cfg");
      writeFileSync(cfg, haproxyConfig(spec, listen).replace("  retries 1\n", "  retries 0\n"));
      return startNativeProxy({
        system: "haproxy",
        label: "HAProxy",
        command: HAPROXY_BIN,
        args: ["-f", cfg, "-db"],
        logFile: path.join(spec.workDir, "haproxy.log"),
        cpus: spec.cpus,
        listen,
      });
    },
  };
}

export function nginxNoRetry(): SystemDef {
  return {
    id: "nginx",
    system: "nginx",
    label: "NGINX 1.22",
    async start(spec) {
      const listen = await freePort();
      const dir = spec.workDir;
      mkdirSync(path.join(dir, "tmp"), { recursive: true });
      const cfg = path.join(dir, "nginx.conf");
      // tries 1: no retry, while `error timeout` still counts failures toward max_fails
      // (`proxy_next_upstream off` would stop NGINX from ever marking the server down).
      writeFileSync(
        cfg,
        nginxConfig(spec, listen, dir).replace("proxy_next_upstream_tries 2;", "proxy_next_upstream_tries 1;"),
      );
      return startNativeProxy({
        system: "nginx",
        label: "NGINX",
        command: NGINX_BIN,
        args: ["-p", dir, "-c", cfg, "-e", path.join(dir, "error.log")],
        logFile: path.join(dir, "nginx.out"),
        cpus: spec.cpus,
        listen,
        extraLogs: [path.join(dir, "error.log")],
      });
    },
  };
}

async function waitHttp(url: string, proc: Managed, what: string, timeoutMs: number): Promise<void> {
  const ok = await waitFor(
    async () => {
      if (proc.exitCode() !== undefined) throw new Error("exited");
      const r = await fetch(url);
      await r.body?.cancel();
      return r.status === 200;
    },
    timeoutMs,
    20,
  );
  if (!ok) {
    await proc.stop();
    throw new Error(`${what} not ready (exit ${proc.exitCode() ?? "none"}):\n${tailLog(proc.logFile)}`);
  }
}

async function startTunerChild(dir: string, t: TunerSettings, prefix: string, controlKey: string) {
  const optionsFile = path.join(dir, "tuner-options.json");
  const readyFile = path.join(dir, "tuner-ready.json");
  writeFileSync(
    optionsFile,
    JSON.stringify({
      redisUrl: t.redisUrl,
      prefix,
      controlKey,
      decisionsFile: path.join(dir, "decisions.jsonl"),
      evaluationIntervalMs: t.evaluationIntervalMs,
      engineConfig: t.engineConfig,
      logFile: path.join(dir, "tuner.log"),
      logLevel: "warn",
    }),
  );
  const proc = spawnManaged({
    name: "tuner",
    command: process.execPath,
    args: [LAUNCHER, optionsFile, readyFile],
    logFile: path.join(dir, "tuner.out"),
    cwd: REPO_ROOT,
  });
  const ok = await waitFor(async () => {
    if (proc.exitCode() !== undefined) throw new Error("exited");
    return existsSync(readyFile);
  }, 20_000);
  if (!ok) {
    await proc.stop();
    throw new Error(`tuner did not start (exit ${proc.exitCode() ?? "none"}):\n${tailLog(proc.logFile)}`);
  }
  const ready = JSON.parse(readFileSync(readyFile, "utf8")) as { collectorUrl: string };
  return { proc, collectorUrl: ready.collectorUrl };
}

/**
 * N meshtune proxies (the shipped CLI), following a fresh tuner when `tuner` is given (random
 * Redis prefix and signing key per run), else alone with telemetry off. `control()` names the
 * last run's Redis prefix for readControl.
 */
export function meshtuneFleet(o: { id: string; label: string; n: number; tuner?: TunerSettings }) {
  let last: ControlHandle | undefined;
  const def: SystemDef = {
    id: o.id,
    system: "meshtune",
    label: o.label,
    async start(spec: ProxySpec): Promise<ProxyInstance> {
      const prefix = `mt-bench-${randomUUID().slice(0, 8)}`;
      const controlKey = `bench:${randomUUID().replaceAll("-", "")}`;
      const tuner = o.tuner ? await startTunerChild(spec.workDir, o.tuner, prefix, controlKey) : undefined;
      if (o.tuner) last = { redisUrl: o.tuner.redisUrl, prefix };
      let i = 0;
      const one: SystemDef = {
        id: o.id,
        system: "meshtune",
        label: o.label,
        async start(s: ProxySpec): Promise<ProxyInstance> {
          const id = `p${i++}`;
          const [listen, admin] = [await freePort(), await freePort()];
          const cfg = meshtuneConfig(s, listen, admin, {});
          for (const c of cfg.clusters ?? []) {
            c.outlier = { ...c.outlier, consecutiveLocalOriginFailures: LOCAL_ORIGIN_THRESHOLD };
            c.retry = { ...c.retry, maxRetries: 0 };
          }
          const file = path.join(s.workDir, "proxy.yaml");
          writeFileSync(file, `${JSON.stringify(cfg, null, 2)}\n`);
          const flags = tuner
            ? [
                "--otlp-endpoint",
                tuner.collectorUrl,
                "--metrics-interval-ms",
                String(o.tuner?.metricsIntervalMs),
                "--redis-url",
                o.tuner?.redisUrl ?? "",
                "--redis-prefix",
                prefix,
                "--control-key",
                controlKey,
                "--control-check-interval-ms",
                "500",
              ]
            : ["--no-telemetry"];
          const t0 = performance.now();
          const proc = spawnManaged({
            name: `${o.id}-${id}`,
            command: process.execPath,
            args: [CLI, "proxy", "--config", file, "--id", id, "--no-watch", "--log-level", "warn", ...flags],
            logFile: path.join(s.workDir, "meshtune.log"),
            cwd: REPO_ROOT,
          });
          await waitHttp(`http://127.0.0.1:${admin}/ready`, proc, `meshtune ${id}`, WARMUP_DEADLINE_MS + 40_000);
          return {
            system: "meshtune",
            label: id,
            port: listen,
            pid: proc.pid,
            readyMs: performance.now() - t0,
            cpuMs: () => treeCpuMs(proc.pid),
            rssMiB: () => treeRssMiB(proc.pid),
            stop: async () => {
              await proc.stop();
              await sleep(20);
            },
          };
        },
      };
      try {
        const fleet = await fleetOf(one, o.n, o.id, o.label).start(spec);
        return {
          ...fleet,
          // The tuner's CPU is the fleet's too.
          cpuMs: () => fleet.cpuMs() + (tuner ? treeCpuMs(tuner.proc.pid) : 0),
          stop: async () => {
            await fleet.stop();
            await tuner?.proc.stop();
            if (o.tuner) await purgeControl({ redisUrl: o.tuner.redisUrl, prefix }).catch(() => {});
          },
        };
      } catch (err) {
        await tuner?.proc.stop();
        throw err;
      }
    },
  };
  return { def, control: () => last };
}
