/**
 * A real Prometheus (Debian's package) for the live test: scrapes the given targets every
 * second, loads the committed rule files, and answers range queries over its HTTP API.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPrometheusBinary, freePort } from "@meshtune/testkit";
import { stringify } from "yaml";
import { PROMETHEUS_FILES } from "../../src/render.js";
import { REPO_ROOT } from "../prometheus-bin.js";
import { type Proc, start, waitFor } from "./processes.js";

export interface Target {
  job: string;
  /** host:port; /metrics is scraped */
  address: string;
}

export interface Prometheus {
  readonly url: string;
  readonly proc: Proc;
  /** Range query over [since, now] with a 1 s step: the result series (empty = no data). */
  queryRange(expr: string, sinceMs: number): Promise<unknown[]>;
  /** Every loaded rule with its evaluation health (`ok`, `err`, `unknown`) and last error. */
  rules(): Promise<{ name: string; health: string; lastError?: string }[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: Target[]): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "meshtune-prometheus-"));
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [join(REPO_ROOT, PROMETHEUS_FILES.recording), join(REPO_ROOT, PROMETHEUS_FILES.alerts)],
    scrape_configs: [...new Set(targets.map((t) => t.job))].map((job) => ({
      job_name: job,
      static_configs: [{ targets: targets.filter((t) => t.job === job).map((t) => t.address) }],
    })),
  };
  writeFileSync(join(dir, "prometheus.yml"), stringify(config));
  const port = await freePort();
  const proc = start("prometheus", findPrometheusBinary("prometheus"), [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("Prometheus /-/ready", async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 30_000);
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n${proc.output()}`);
  }
  return {
    url,
    proc,
    async queryRange(expr, sinceMs) {
      const q = new URLSearchParams({
        query: expr,
        start: String(sinceMs / 1000),
        end: String(Date.now() / 1000),
        step: "1",
      });
      const res = await fetch(`${url}/api/v1/query_range?${q}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
      if (body.status !== "success") throw new Error(`Prometheus refused the query: ${body.error}`);
      return body.data?.result ?? [];
    },
    async rules() {
      const body = (await (await fetch(`${url}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
      };
      return body.data.groups.flatMap((g) =>
        g.rules.map((r) => ({ name: r.name, health: r.health, lastError: r.lastError })),
      );
    },
    stop,
  };
}
