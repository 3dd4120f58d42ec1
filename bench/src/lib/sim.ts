/**
 * The project's upstream simulator (`meshtune sim --config FILE`) as a child process pinned to
 * the harness core, driven through its control API (GET /endpoints, PATCH faults). A child
 * rather than in-process so that serving upstream traffic does not add jitter to the load
 * generator's send schedule and latency clock, which live in this process.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { FaultsInput, FaultsPatch, SimConfigInput, SimEndpointStatus, SimProtocol } from "@meshtune/contracts";
import { SIM_API_VERSION } from "@meshtune/contracts";
import { REPO_ROOT } from "../systems/meshtune.js";
import { waitFor } from "./log.js";
import { freePort } from "./ports.js";
import { type Managed, spawnManaged, tailLog } from "./procs.js";

const CLI = path.join(REPO_ROOT, "services/cli/dist/main.js");

export interface SimEndpointSpec {
  name: string;
  protocol?: SimProtocol;
  faults?: FaultsInput;
  bodyBytes?: number;
}

export interface RunningSim {
  pid: number;
  endpoints: SimEndpointStatus[];
  urlOf(name: string): string;
  portOf(name: string): number;
  setFaults(name: string, patch: FaultsPatch): Promise<void>;
  status(): Promise<SimEndpointStatus[]>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSim(
  endpoints: SimEndpointSpec[],
  workDir: string,
  cpus: string | undefined,
): Promise<RunningSim> {
  const controlPort = await freePort();
  const cfg: SimConfigInput = {
    apiVersion: SIM_API_VERSION,
    kind: "SimConfig",
    control: { host: "127.0.0.1", port: controlPort },
    endpoints: endpoints.map((e) => ({
      name: e.name,
      host: "127.0.0.1",
      port: 0,
      protocol: e.protocol ?? "http1",
      bodyBytes: e.bodyBytes ?? 64,
      faults: e.faults ?? {},
    })),
  };
  const file = path.join(workDir, "sim.yaml");
  writeFileSync(file, `${JSON.stringify(cfg, null, 2)}\n`);
  const proc: Managed = spawnManaged({
    name: "simulator",
    command: process.execPath,
    args: [CLI, "sim", "--config", file],
    logFile: path.join(workDir, "sim.log"),
    cpus,
    cwd: REPO_ROOT,
  });
  const base = `http://127.0.0.1:${controlPort}`;
  const ok = await waitFor(
    async () => {
      if (proc.exitCode() !== undefined) throw new Error("exited");
      const r = await fetch(`${base}/health`);
      await r.body?.cancel();
      return r.ok;
    },
    15_000,
    20,
  );
  if (!ok) {
    await proc.stop();
    throw new Error(`simulator did not start (exit ${proc.exitCode() ?? "none"}):\n${tailLog(proc.logFile)}`);
  }
  const status = async (): Promise<SimEndpointStatus[]> => {
    const r = await fetch(`${base}/endpoints`);
    if (!r.ok) throw new Error(`simulator control: GET /endpoints ${r.status}`);
    return (await r.json()) as SimEndpointStatus[];
  };
  const eps = await status();
  const byName = new Map(eps.map((e) => [e.name, e]));
  const get = (name: string) => {
    const e = byName.get(name);
    if (!e) throw new Error(`no simulator endpoint ${name}`);
    return e;
  };
  return {
    pid: proc.pid,
    endpoints: eps,
    urlOf: (n) => get(n).url,
    portOf: (n) => get(n).port,
    async setFaults(name, patch) {
      const r = await fetch(`${base}/endpoints/${encodeURIComponent(name)}/faults`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(patch),
      });
      if (!r.ok) throw new Error(`simulator control: PATCH faults ${r.status}: ${await r.text()}`);
      await r.body?.cancel();
    },
    status,
    async resetStats() {
      const r = await fetch(`${base}/reset-stats`, { method: "POST" });
      await r.body?.cancel();
    },
    stop: () => proc.stop(),
  };
}
