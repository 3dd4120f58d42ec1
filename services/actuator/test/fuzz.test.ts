/**
 * Hostile input on the actuator's admin API (issue #14), property-based with fast-check:
 * random methods, paths (bad percent-escapes, dot segments, NULs), bearer tokens (none, wrong,
 * right) and bodies (random JSON, text, 70 KiB). Every request gets a 2xx-4xx status with a
 * clear JSON error for 4xx, a mutation without the right token is always 401 and changes
 * nothing, and the API keeps serving. MESHTUNE_FUZZ_RUNS sets the case count (default 200;
 * bench/fuzz/run.mjs runs 10,000) and MESHTUNE_FUZZ_OUT collects the counts (JSON lines).
 */
import { appendFileSync } from "node:fs";
import { createRedis, type Redis, silentLogger } from "@meshtune/adapters";
import fc from "fast-check";
import { Agent, request } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Closer, randomName, requireRedis } from "../../../packages/adapters/test/services.js";
import { type Actuator, startActuator } from "../src/index.js";

const RUNS = Number(process.env.MESHTUNE_FUZZ_RUNS ?? 200);
const TOKEN = "fuzz-admin-token-0123456789";
const closer = new Closer();
const prefix = randomName("fuzz-act");
const client = new Agent({ connections: 4 });
let actuator: Actuator;
let base: string;
let redis: Redis;

beforeAll(async () => {
  const url = await requireRedis();
  redis = createRedis(url, { name: "actuator-fuzz" });
  closer.defer(() => redis.quit());
  actuator = await startActuator({
    redisUrl: url,
    prefix,
    admin: { port: 0, token: TOKEN },
    settings: { scanIntervalMs: 60_000 },
    logger: silentLogger(),
  });
  closer.add(actuator);
  base = `http://127.0.0.1:${actuator.adminAddress?.port}`;
});
afterAll(async () => {
  await client.close();
  // The keys the fuzzer's authorised writes created, under this test's prefix only.
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await closer.closeAll();
});

const segment = fc.oneof(
  fc.constantFrom("clusters", "settings", "pins", "versions", "pending", "live", "metrics", "api", "10.0.0.1:443"),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.constantFrom("%", "%E0%A4%A", "%zz", "..", ".", "%00", "%2F", "-1", "1e309", "NaN"),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 3 }),
  fc
    .record({
      dryRun: fc.anything({ maxDepth: 1 }),
      killSwitch: fc.boolean(),
      maxChangesPerMinute: fc.oneof(fc.integer(), fc.double()),
    })
    .map((o) => JSON.stringify(o)),
  fc.string({ maxLength: 64 }),
  fc.constant("BIG"), // 70 KiB, expanded in the property (a counterexample stays readable)
);
const auth = fc.constantFrom("none", "wrong", "right", "basic");
const method = fc.constantFrom("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS");

it("every admin request gets a clear 2xx-4xx answer; no token, no mutation; the API stays up", async () => {
  const statuses: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(method, fc.array(segment, { maxLength: 4 }), auth, body, async (m, parts, a, b) => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (a === "right") headers.authorization = `Bearer ${TOKEN}`;
      if (a === "wrong") headers.authorization = `Bearer ${TOKEN.slice(0, -1)}x`;
      if (a === "basic") headers.authorization = `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}`;
      const res = await request(`${base}/${parts.join("/")}`, {
        method: m,
        headers,
        body: m === "GET" || m === "HEAD" ? undefined : b === "BIG" ? "x".repeat(70 * 1024) : b,
        dispatcher: client,
      });
      const text = await res.body.text();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      expect(res.statusCode, `${m} /${parts.join("/")}: ${text.slice(0, 200)}`).toBeLessThan(500);
      if (m !== "GET" && m !== "HEAD" && a !== "right") expect(res.statusCode).toBe(401);
      if (res.statusCode >= 400 && m !== "HEAD") expect(JSON.parse(text).error).toBeTruthy();
    }),
    { numRuns: RUNS },
  );
  const live = await request(`${base}/live`, { dispatcher: client });
  expect(live.statusCode).toBe(200);
  await live.body.dump();
  if (process.env.MESHTUNE_FUZZ_OUT)
    appendFileSync(
      process.env.MESHTUNE_FUZZ_OUT,
      `${JSON.stringify({ target: "actuator admin API", cases: RUNS, statuses, failures: 0 })}\n`,
    );
}, 600_000);
