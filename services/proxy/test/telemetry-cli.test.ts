/**
 * `meshtune proxy` (runProxy, from the built package) wires telemetry: /metrics on the admin
 * port, the config application as a fast signal, request spans flushed on SIGTERM, and
 * --no-telemetry turns all of it off.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_API_VERSION, PROXY_SPANS } from "@meshtune/contracts";
import { freePort, type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "main.js");
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function receiver() {
  const got: { path: string; body: Buffer }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({ path: req.url ?? "", body: Buffer.concat(chunks) });
      res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": 0 });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  // Protobuf strings are plain UTF-8 on the wire: enough to spot a span or metric name.
  const has = (path: string, text: string) => got.some((g) => g.path === path && g.body.includes(text));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, has };
}

function runProxy(args: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.runProxy(${JSON.stringify(args)})).then((c) => process.exit(c))`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  cleanup.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  return { child, exited };
}

async function until(fn: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (await fn()) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

async function setup() {
  const sim: Simulator = await startSimulatorWith([{ name: "a" }]);
  cleanup.push(() => sim.close());
  const [listener, admin] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "meshtune-telemetry-cli-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "proxy.yaml");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: CONFIG_API_VERSION,
      kind: "ProxyConfig",
      proxy: { zone: "zone-a", listener: { port: listener }, admin: { port: admin }, drainTimeoutMs: 1000 },
      clusters: [
        {
          name: "api",
          discovery: { type: "static", endpoints: [{ address: "127.0.0.1", port: sim.endpoint("a").port }] },
          healthCheck: { intervalMs: 60_000 },
        },
      ],
    }),
  );
  return { file, listener, admin };
}

const fetchText = async (url: string, headers: Record<string, string> = {}) => {
  const r = await request(url, { headers });
  return { status: r.statusCode, text: await r.body.text() };
};

describe("meshtune proxy wires telemetry", () => {
  it("serves /metrics, sends the config application at once and flushes request spans on SIGTERM", async () => {
    const rx = await receiver();
    const { file, listener, admin } = await setup();
    const p = runProxy(["--config", file, "--id", "cli-proxy", "--otlp-endpoint", rx.url, "--trace-sample-ratio", "1"]);
    await until(async () => (await fetchText(`http://127.0.0.1:${admin}/ready`)).status === 200);
    await until(() => rx.has("/v1/traces", PROXY_SPANS.configApply.name), 2000);

    const m = await fetchText(`http://127.0.0.1:${admin}/metrics`);
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/^meshtune_proxy_config_version 1$/m);
    expect(m.text).toMatch(/service_instance_id="cli-proxy"/);

    expect((await fetchText(`http://127.0.0.1:${listener}/hello`, { host: "api.example.com" })).status).toBe(200);
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    // The request's spans waited in the 5 s batch; shutdown flushed them before exit.
    expect(rx.has("/v1/traces", "meshtune.pool.wait_ms")).toBe(true);
    // The final metrics push carries the request.
    expect(rx.has("/v1/metrics", "meshtune_proxy_upstream_requests_total")).toBe(true);
  });

  it("--no-telemetry: no /metrics, nothing exported", async () => {
    const rx = await receiver();
    const { file, listener, admin } = await setup();
    const p = runProxy(["--config", file, "--otlp-endpoint", rx.url, "--no-telemetry"]);
    await until(async () => (await fetchText(`http://127.0.0.1:${admin}/ready`)).status === 200);
    expect((await fetchText(`http://127.0.0.1:${admin}/metrics`)).status).toBe(404);
    expect((await fetchText(`http://127.0.0.1:${listener}/`, { host: "api.example.com" })).status).toBe(200);
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(rx.has("/v1/traces", "") || rx.has("/v1/metrics", "")).toBe(false);
  });

  it("rejects an invalid sample ratio with exit code 2", async () => {
    const { file } = await setup();
    const p = runProxy(["--config", file, "--trace-sample-ratio", "1.5"]);
    expect(await p.exited).toBe(2);
  });
});
