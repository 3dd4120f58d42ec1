/**
 * Every listener against slow and oversized clients (issue #14): the collector's OTLP port,
 * the actuator's admin API, the engine worker's metrics port, the proxy's admin API and its
 * egress listener. Each binds loopback by default, cuts off a slowloris client (headers
 * trickled one line a second) within its header timeout, and answers 431 to a header block
 * over its limit; each process stays up and keeps serving.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTuner, type Tuner } from "@meshtune/cli";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import { request } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { requireRedis } from "../packages/adapters/test/services.js";
import { type ProxyProc, startProxyProc, stopProc } from "./faults.js";
import { Closer } from "./helpers.js";

const closer = new Closer();
const dir = mkdtempSync(join(tmpdir(), "meshtune-sec-listeners-"));
/** Longest a slowloris connection may live: the 10 s header timeout plus Node's 1 s check. */
const CUT_OFF_MS = 13_000;
let sim: Simulator;
let tuner: Tuner;
let proxy: ProxyProc;
const listeners: Record<string, URL> = {};

beforeAll(async () => {
  closer.defer(() => rmSync(dir, { recursive: true, force: true }));
  sim = await startSimulatorWith([{ name: "a" }]);
  closer.defer(() => sim.close());
  tuner = await startTuner({
    redisUrl: await requireRedis(),
    prefix: `mt-sec-listen-${randomUUID().slice(0, 8)}`,
    logLevel: "silent",
    admin: { token: "t" },
  });
  closer.defer(() => tuner.close());
  proxy = await startProxyProc({ id: "l1", dir, sim, cluster: "api", otlp: tuner.collectorUrl });
  closer.defer(() => stopProc(proxy.child));
  const engine = tuner.metricsUrls.find(
    (u) => !u.startsWith(tuner.collectorUrl) && !u.startsWith(tuner.actuatorAdminUrl),
  );
  Object.assign(listeners, {
    collector: new URL(tuner.collectorUrl),
    "actuator admin": new URL(tuner.actuatorAdminUrl),
    "engine metrics": new URL(engine!),
    "proxy admin": new URL(`http://127.0.0.1:${proxy.admin}`),
    "proxy listener": new URL(`http://127.0.0.1:${proxy.listener}`),
  });
}, 60_000);
afterAll(() => closer.closeAll(), 60_000);

/** Trickles header lines one a second; resolves with how long the server kept the socket. */
function slowloris(url: URL): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = connect(Number(url.port), url.hostname);
    let timer: NodeJS.Timeout | undefined;
    let n = 0;
    const done = () => {
      clearInterval(timer);
      sock.destroy();
      resolve(Date.now() - started);
    };
    sock.on("connect", () => {
      sock.write(`GET /metrics HTTP/1.1\r\nHost: ${url.host}\r\n`);
      timer = setInterval(() => {
        if (Date.now() - started > 3 * CUT_OFF_MS) return done();
        sock.write(`X-Slow-${n++}: ${"a".repeat(8)}\r\n`);
      }, 1_000);
    });
    sock.on("data", () => {}); // read the 408 and the FIN, or 'close' never comes
    sock.on("close", done);
    sock.on("error", () => {});
  });
}

/** One raw request; resolves with everything the server sent before it closed. */
function raw(url: URL, text: string): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const sock = connect(Number(url.port), url.hostname, () => sock.write(text));
    sock.on("data", (d) => {
      data += d;
    });
    sock.on("close", () => resolve(data));
    sock.on("error", () => {});
    sock.setTimeout(10_000, () => sock.destroy());
  });
}

it("binds loopback by default", () => {
  for (const [name, url] of Object.entries(listeners)) expect(url.hostname, name).toBe("127.0.0.1");
});

it("cuts off slowloris clients on every listener", async () => {
  const names = Object.keys(listeners);
  const lived = await Promise.all(names.map((n) => slowloris(listeners[n]!)));
  console.info(`[security-listeners] slowloris cut off after ${names.map((n, i) => `${n} ${lived[i]} ms`).join(", ")}`);
  for (const [i, n] of names.entries()) expect(lived[i], n).toBeLessThanOrEqual(CUT_OFF_MS);
}, 60_000);

it("answers 431 to an oversized header block and keeps serving", async () => {
  for (const [name, url] of Object.entries(listeners)) {
    const res = await raw(url, `GET /metrics HTTP/1.1\r\nHost: api\r\nX-Big: ${"a".repeat(17 * 1024)}\r\n\r\n`);
    expect(res.split("\r\n")[0], name).toMatch(/^HTTP\/1\.1 431/);
    const ok = await request(new URL("/metrics", url), { headers: { host: "api" } });
    await ok.body.dump();
    expect(ok.statusCode, `${name} still serves`).toBeLessThan(500);
  }
}, 30_000);
