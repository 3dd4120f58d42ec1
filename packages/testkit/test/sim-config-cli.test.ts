import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runSimCli } from "../src/sim/cli.js";
import { loadSimConfigFile } from "../src/sim/config-file.js";
import type { Simulator } from "../src/sim/simulator.js";
import { get } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "meshtune-sim-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const header = "apiVersion: meshtune.io/sim/v1alpha1\nkind: SimConfig\n";

describe("loadSimConfigFile", () => {
  it("loads the quickstart example", async () => {
    const path = fileURLToPath(new URL("../../../examples/quickstart/sim.yaml", import.meta.url));
    const cfg = await loadSimConfigFile(path);
    expect(cfg.control.port).toBe(18000);
    expect(cfg.endpoints.map((e) => [e.port, e.protocol])).toEqual([
      [18081, "http1"],
      [18082, "http1"],
      [18083, "http1"],
      [18084, "http1"],
      [18085, "http1"],
    ]);
    expect(new Set(cfg.endpoints.map((e) => e.zone))).toEqual(new Set(["zone-a", "zone-b"]));
    for (const e of cfg.endpoints) expect(e.faults).toMatchObject({ errorRate: 0, blackHole: false, refuse: false });
  });

  it("reports path and reason for invalid input", async () => {
    const p = file("bad.yaml", `${header}endpoints:\n  - name: a\n    protocol: h3\n    faults: { errorRate: 3 }\n`);
    await expect(loadSimConfigFile(p)).rejects.toMatchObject({
      name: "ConfigError",
      issues: expect.arrayContaining([
        expect.objectContaining({ path: "endpoints[0].protocol" }),
        expect.objectContaining({ path: "endpoints[0].faults.errorRate" }),
      ]),
    });
  });

  it("reports malformed YAML and missing files as ConfigError", async () => {
    await expect(loadSimConfigFile(file("broken.yaml", "endpoints: [\n"))).rejects.toMatchObject({
      name: "ConfigError",
      issues: [{ path: "(root)", message: expect.stringMatching(/invalid YAML/) }],
    });
    await expect(loadSimConfigFile(join(dir, "missing.yaml"))).rejects.toMatchObject({ name: "ConfigError" });
  });

  it("resolves tls files relative to the config file", async () => {
    const p = file(
      "tls.yaml",
      `${header}tls: { certFile: certs/server.pem, keyFile: certs/server-key.pem }\nendpoints: [{ name: a }]\n`,
    );
    const cfg = await loadSimConfigFile(p);
    expect(cfg.tls.certFile).toBe(join(dir, "certs/server.pem"));
  });
});

describe("runSimCli", () => {
  it("prints the endpoint table and control URL, serves until stopped, exits 0", async () => {
    const p = file(
      "ok.yaml",
      `${header}control: { port: 0 }\nendpoints:\n  - { name: one, zone: zone-a }\n  - { name: two, protocol: h2 }\n`,
    );
    let out = "";
    const ac = new AbortController();
    let sim: Simulator | undefined;
    const code = runSimCli(["--config", p], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (out += s) },
      signal: ac.signal,
      onStarted: (s) => {
        sim = s;
      },
    });
    for (let i = 0; i < 100 && sim === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sim).toBeDefined();
    expect(out).toMatch(/NAME\s+PROTOCOL\s+URL\s+ZONE/);
    expect(out).toMatch(/one\s+http1\s+http:\/\/127\.0\.0\.1:\d+\s+zone-a/);
    expect(out).toMatch(/two\s+h2\s+https:\/\/127\.0\.0\.1:\d+\s+-/);
    expect(out).toContain(`control: ${sim!.controlUrl}`);
    expect((await get(`${sim!.endpoint("one").url}/`)).status).toBe(200);
    ac.abort();
    expect(await code).toBe(0);
    await expect(get(`${sim!.endpoint("one").url}/`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("exits 2 with path + reason on an invalid config, and on usage errors", async () => {
    let err = "";
    const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } };
    const p = file("bad2.yaml", `${header}endpoints: []\n`);
    expect(await runSimCli(["sim", "--config", p], io)).toBe(2);
    expect(err).toMatch(/endpoints: /);
    expect(await runSimCli([], io)).toBe(2);
    expect(await runSimCli(["--nope"], io)).toBe(2);
    expect(await runSimCli(["--help"], io)).toBe(0);
  });
});
