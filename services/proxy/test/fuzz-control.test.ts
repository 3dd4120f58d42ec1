/**
 * Hostile control snapshots over Redis and hostile admin requests (issue #14), property-based
 * with fast-check, against a started EgressProxy (the data plane `meshtune proxy` runs) with the
 * real config client on real Redis:
 * - the snapshot key holds random text, random JSON, or a snapshot correctly signed with the
 *   fleet's key whose content is hostile (random overrides, pushed endpoints, pool limits,
 *   versions: negative, fractional, huge). The client never throws, versions applied only go up,
 *   a bad snapshot is NACKed or refused with a reason, and the proxy keeps serving;
 * - the admin API gets random methods, paths and headers: a JSON answer below 500 every time.
 * MESHTUNE_FUZZ_RUNS sets the case count (default 200); MESHTUNE_FUZZ_OUT collects the counts.
 */
import { appendFileSync } from "node:fs";
import { createRedis, parseSigningKeys, type Redis, signSnapshot, silentLogger } from "@meshtune/adapters";
import { CONFIG_API_VERSION, type ConfigAck, redisKeys } from "@meshtune/contracts";
import { EgressProxy } from "@meshtune/dataplane";
import { type Simulator, startSimulatorWith } from "@meshtune/testkit";
import fc from "fast-check";
import { Agent, request } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Closer, randomName, requireRedis } from "../../../packages/adapters/test/services.js";
import { type ControlClient, startControlClient } from "../src/index.js";

const RUNS = Number(process.env.MESHTUNE_FUZZ_RUNS ?? 200);
const KEY = "k1:00112233445566778899aabbccddeeff";
const closer = new Closer();
const prefix = randomName("fuzz-ctl");
const client = new Agent({ connections: 4 });
const answers: ConfigAck[] = [];
let sim: Simulator;
let proxy: EgressProxy;
let control: ControlClient;
let redis: Redis;
let admin: string;
let listener: string;

beforeAll(async () => {
  const url = await requireRedis();
  redis = createRedis(url, { name: "proxy-fuzz" });
  closer.defer(() => redis.quit());
  sim = await startSimulatorWith([{ name: "a" }, { name: "b" }]);
  closer.defer(() => sim.close());
  proxy = new EgressProxy({}, "fuzz-proxy");
  const r = await proxy.applyConfig(1, {
    apiVersion: CONFIG_API_VERSION,
    kind: "ProxyConfig",
    proxy: { listener: { port: 0 }, admin: { port: 0 } },
    routes: [{ match: { host: "*" }, cluster: "api" }],
    clusters: [
      {
        name: "api",
        discovery: { type: "static", endpoints: sim.endpoints.map((e) => ({ address: "127.0.0.1", port: e.port })) },
        healthCheck: { intervalMs: 60_000 },
      },
      {
        name: "edge",
        discovery: { type: "pushed", initialEndpoints: [{ address: "127.0.0.1", port: sim.endpoint("b").port }] },
        healthCheck: { intervalMs: 60_000 },
      },
    ],
  });
  expect(r.status).toBe("ACK");
  await proxy.start();
  closer.defer(() => proxy.shutdown());
  admin = `http://127.0.0.1:${proxy.adminAddress?.port}`;
  listener = `http://127.0.0.1:${proxy.listenerAddress?.port}`;
  control = await startControlClient(
    { clusters: () => [...proxy.clusters.keys()], applyControl: (input) => proxy.applyControl(input) },
    {
      redisUrl: url,
      prefix,
      proxyId: "fuzz-proxy",
      keys: parseSigningKeys(KEY),
      checkIntervalMs: 60_000,
      logger: silentLogger(),
      onAnswer: (a) => answers.push(a),
    },
  );
  closer.defer(() => control.close());
}, 60_000);
afterAll(async () => {
  await client.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await closer.closeAll();
});

const report = (line: Record<string, unknown>) => {
  if (process.env.MESHTUNE_FUZZ_OUT) appendFileSync(process.env.MESHTUNE_FUZZ_OUT, `${JSON.stringify(line)}\n`);
};

const endpointKey = fc.oneof(
  fc.constantFrom("a", "b").map((n) => `127.0.0.1:${sim.endpoint(n).port}`),
  fc.string({ maxLength: 20 }),
);
const override = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.record(
    {
      endpointOverrides: fc.dictionary(
        endpointKey,
        fc.record(
          {
            weight: fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.double(), fc.string()),
            ejected: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 0 })),
            ejectReason: fc.string({ maxLength: 20 }),
            minWarm: fc.oneof(fc.integer({ min: -2, max: 10_000 }), fc.double()),
            preconnect: fc.integer({ min: -2, max: 10_000 }),
          },
          { requiredKeys: [] },
        ),
        { maxKeys: 4 },
      ),
      endpoints: fc.array(
        fc.record({
          address: fc.oneof(fc.constant("127.0.0.1"), fc.string({ maxLength: 10 })),
          port: fc.integer({ min: -1, max: 70_000 }),
        }),
        { maxLength: 3 },
      ),
      pool: fc.record(
        {
          connectTimeoutMs: fc.oneof(fc.integer({ min: -1, max: 10_000_000 }), fc.double()),
          maxConnectionsPerEndpoint: fc.integer({ min: -1, max: 1_000_000 }),
          maxPendingRequests: fc.integer({ min: -1, max: 1_000_000 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ["endpointOverrides"] },
  ),
);
let nextVersion = 0;
/** Mostly the next version (so content reaches the data plane), sometimes a hostile one. */
const version = fc.oneof(
  { arbitrary: fc.constant("next" as const), weight: 8 },
  { arbitrary: fc.oneof(fc.integer({ min: -3, max: 1_000 }), fc.double()), weight: 2 },
);
const stored = fc.oneof(
  fc.string({ maxLength: 100 }),
  fc.json({ maxDepth: 3 }),
  fc.tuple(fc.constantFrom("api", "edge"), version, override).map(([cluster, v, o]) =>
    JSON.stringify(
      signSnapshot(
        // Hostile content under a valid signature: only the data plane's validation stands.
        {
          apiVersion: CONFIG_API_VERSION,
          kind: "ClusterSnapshot",
          cluster,
          version: v === "next" ? ++nextVersion : v,
          issuedAt: Date.now(),
          override: o,
        } as never,
        parseSigningKeys(KEY)[0],
      ),
    ),
  ),
);

it("hostile snapshots in Redis: never a throw, versions only go up, the proxy keeps serving", async () => {
  const keys = redisKeys(prefix);
  const last: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(fc.constantFrom("api", "edge"), stored, async (cluster, raw) => {
      await redis.set(keys.snapshot(cluster), raw);
      await control.checkNow();
      for (const [c, st] of Object.entries(control.state())) {
        expect(st.version).toBeGreaterThanOrEqual(last[c] ?? 0);
        last[c] = st.version;
      }
      for (const a of answers) if (a.status === "NACK") expect(a.reason?.length).toBeGreaterThan(0);
    }),
    { numRuns: RUNS },
  );
  const res = await request(`${listener}/x`, { headers: { host: "api" }, dispatcher: client });
  await res.body.dump();
  expect(res.statusCode).toBeLessThan(600);
  const live = await request(`${admin}/live`, { dispatcher: client });
  expect(live.statusCode).toBe(200);
  await live.body.dump();
  const acks = answers.filter((a) => a.status === "ACK").length;
  report({
    target: "control snapshots over Redis",
    cases: RUNS,
    acked: acks,
    nacked: answers.length - acks,
    refused: Object.values(control.refusals()).reduce((s, n) => s + (n ?? 0), 0),
    failures: 0,
  });
}, 600_000);

it("hostile admin requests: a JSON answer below 500, every time", async () => {
  const statuses: Record<string, number> = {};
  const segment = fc.oneof(
    fc.constantFrom("live", "ready", "clusters", "config", "metrics", "workers"),
    fc.string({ maxLength: 10 }).map(encodeURIComponent),
    fc.constantFrom("%", "%zz", "..", "%00", "?x=1", "#"),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
      fc.array(segment, { maxLength: 3 }),
      fc.dictionary(
        fc.constantFrom("x-a", "accept", "authorization", "content-type"),
        fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
        { maxKeys: 3 },
      ),
      fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
      async (method, parts, headers, body) => {
        const res = await request(`${admin}/${parts.join("/")}`, {
          method,
          headers,
          body: method === "GET" || method === "HEAD" ? undefined : body,
          dispatcher: client,
        });
        const text = await res.body.text();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        expect(res.statusCode).toBeLessThan(500);
        if (method !== "HEAD") expect(() => JSON.parse(text)).not.toThrow();
      },
    ),
    { numRuns: RUNS },
  );
  const live = await request(`${admin}/live`, { dispatcher: client });
  expect(live.statusCode).toBe(200);
  await live.body.dump();
  report({ target: "proxy admin API", cases: RUNS, statuses, failures: 0 });
}, 600_000);
