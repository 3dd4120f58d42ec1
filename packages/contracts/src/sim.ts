/**
 * Owner of the upstream simulator's contract: its YAML config and its runtime control API
 * (faults can be changed while it runs). Used by tests, the demo and the benchmarks.
 */
import { z } from "zod";
import { SIM_API_VERSION } from "./version.js";

const ms = z.number().min(0);
const rate = z.number().min(0).max(1);
const httpStatus = z.number().int().min(100).max(599);

export const LatencySchema = z.discriminatedUnion("dist", [
  z.object({ dist: z.literal("fixed"), ms }).strict(),
  z.object({ dist: z.literal("uniform"), minMs: ms, maxMs: ms }).strict(),
  z.object({ dist: z.literal("normal"), meanMs: ms, stdevMs: ms }).strict(),
  z.object({ dist: z.literal("lognormal"), medianMs: ms, sigma: z.number().min(0) }).strict(),
  z.object({ dist: z.literal("exponential"), meanMs: ms }).strict(),
]);
export type Latency = z.infer<typeof LatencySchema>;

/**
 * One definition per fault field, shared by FaultsSchema (with defaults) and FaultsPatchSchema
 * (without), so the two cannot drift apart.
 */
const faultFields = {
  acceptDelayMs: ms.describe("Delay before the server starts reading a new TCP connection."),
  tlsDelayMs: ms.describe("Delay before the TLS handshake proceeds (TLS endpoints only)."),
  latency: LatencySchema.describe("Added response latency (never negative)."),
  errorRate: rate.describe("Fraction of requests answered with errorStatus."),
  errorStatus: httpStatus.describe("Status used for injected errors."),
  blackHole: z
    .boolean()
    .describe("Accept TCP but never read or answer: new connections and requests on open ones hang."),
  refuse: z.boolean().describe("Refuse new connections (stop listening; listen again on the same port when cleared)."),
  resetRate: rate.describe("Fraction of responses reset mid-body."),
  slowBodyBytesPerSec: z.number().min(0).describe("When > 0, bodies are written at this rate."),
} as const;

const healthFields = {
  status: httpStatus.describe("Status the health endpoint answers with."),
  delayMs: ms.describe("Delay before the health endpoint answers."),
} as const;

export const FaultsSchema = z
  .object({
    acceptDelayMs: faultFields.acceptDelayMs.default(0),
    tlsDelayMs: faultFields.tlsDelayMs.default(0),
    latency: faultFields.latency.default({ dist: "fixed", ms: 0 }),
    errorRate: faultFields.errorRate.default(0),
    errorStatus: faultFields.errorStatus.default(503),
    blackHole: faultFields.blackHole.default(false),
    refuse: faultFields.refuse.default(false),
    resetRate: faultFields.resetRate.default(0),
    slowBodyBytesPerSec: faultFields.slowBodyBytesPerSec.default(0),
    /** Health endpoint behaviour, independent of traffic faults (latency, errors, resets, slow body). */
    health: z
      .object({ status: healthFields.status.default(200), delayMs: healthFields.delayMs.default(0) })
      .strict()
      .prefault({})
      .describe("Health endpoint behaviour, independent of traffic faults."),
  })
  .strict();
export type Faults = z.infer<typeof FaultsSchema>;
export type FaultsInput = z.input<typeof FaultsSchema>;

/**
 * PATCH /endpoints/:name/faults body on the control API. Absent fields leave the current
 * value alone (so no defaults here: `FaultsSchema.partial()` would fill them in and a patch of
 * `{ errorRate: 1 }` would silently reset every other fault). `health` merges field by field.
 */
export const FaultsPatchSchema = z
  .object({
    acceptDelayMs: faultFields.acceptDelayMs.optional(),
    tlsDelayMs: faultFields.tlsDelayMs.optional(),
    latency: faultFields.latency.optional(),
    errorRate: faultFields.errorRate.optional(),
    errorStatus: faultFields.errorStatus.optional(),
    blackHole: faultFields.blackHole.optional(),
    refuse: faultFields.refuse.optional(),
    resetRate: faultFields.resetRate.optional(),
    slowBodyBytesPerSec: faultFields.slowBodyBytesPerSec.optional(),
    health: z
      .object({ status: healthFields.status.optional(), delayMs: healthFields.delayMs.optional() })
      .strict()
      .optional(),
  })
  .strict();
export type FaultsPatch = z.infer<typeof FaultsPatchSchema>;

/** Applies a patch: absent fields keep their value, `health` merges field by field. */
export function applyFaultsPatch(current: Faults, patch: FaultsPatch): Faults {
  const next: Faults = { ...current, health: { ...current.health } };
  for (const [key, value] of Object.entries(patch) as [keyof FaultsPatch, unknown][]) {
    if (value === undefined || key === "health") continue;
    (next as Record<string, unknown>)[key] = value;
  }
  if (patch.health?.status !== undefined) next.health.status = patch.health.status;
  if (patch.health?.delayMs !== undefined) next.health.delayMs = patch.health.delayMs;
  return next;
}

export const SimProtocolSchema = z.enum(["http1", "h2c", "https", "h2"]);
export type SimProtocol = z.infer<typeof SimProtocolSchema>;

export const SimEndpointSchema = z
  .object({
    name: z.string().min(1),
    host: z.string().min(1).default("127.0.0.1"),
    /** 0 picks a free port (reported by the control API). */
    port: z.number().int().min(0).max(65535).default(0),
    protocol: SimProtocolSchema.default("http1"),
    zone: z.string().optional(),
    /** Response body size in bytes. */
    bodyBytes: z.number().int().min(0).default(64),
    healthPath: z.string().startsWith("/").default("/health"),
    /**
     * Server-side idle keep-alive timeout (HTTP/1.1 keep-alive, HTTP/2 session idle). 60 s like
     * common load balancers, so a pool's idle timeout is normally the shorter one.
     */
    keepAliveTimeoutMs: z.number().int().min(1).default(60_000),
    faults: FaultsSchema.prefault({}),
  })
  .strict();
export type SimEndpoint = z.infer<typeof SimEndpointSchema>;

export const SimConfigSchema = z
  .object({
    apiVersion: z.literal(SIM_API_VERSION),
    kind: z.literal("SimConfig"),
    control: z
      .object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(18000) })
      .strict()
      .prefault({}),
    /** Server certificate for https/h2 endpoints; defaults to the testkit's test cert (signed by its test CA). */
    tls: z.object({ certFile: z.string().optional(), keyFile: z.string().optional() }).strict().prefault({}),
    endpoints: z
      .array(SimEndpointSchema)
      .min(1)
      .refine((eps) => new Set(eps.map((e) => e.name)).size === eps.length, {
        message: "endpoint names must be unique",
      }),
  })
  .strict();
export type SimConfig = z.infer<typeof SimConfigSchema>;
export type SimConfigInput = z.input<typeof SimConfigSchema>;

/** Per-endpoint counters, as reported by GET /endpoints. */
export const SimStatsSchema = z
  .object({
    /** Traffic requests (not health checks) received. */
    requests: z.number().int().min(0),
    healthChecks: z.number().int().min(0),
    connectionsAccepted: z.number().int().min(0),
    connectionsOpen: z.number().int().min(0),
    /** Highest connectionsOpen seen since the last reset. */
    connectionsPeak: z.number().int().min(0),
    tlsHandshakes: z.number().int().min(0),
    tlsErrors: z.number().int().min(0),
    /** Responses reset mid-body by resetRate. */
    resets: z.number().int().min(0),
    /** Requests held by blackHole (never answered). */
    blackHoled: z.number().int().min(0),
    /** Traffic requests currently being served. */
    inFlight: z.number().int().min(0),
    /** Traffic responses by status code. */
    statuses: z.record(z.string(), z.number().int().min(0)),
  })
  .strict();
export type SimStats = z.infer<typeof SimStatsSchema>;

/** One entry of GET /endpoints on the control API. */
export const SimEndpointStatusSchema = z
  .object({
    name: z.string(),
    url: z.string(),
    host: z.string(),
    port: z.number().int(),
    protocol: SimProtocolSchema,
    zone: z.string().optional(),
    listening: z.boolean(),
    faults: FaultsSchema,
    stats: SimStatsSchema,
  })
  .strict();
export type SimEndpointStatus = z.infer<typeof SimEndpointStatusSchema>;
