/**
 * Owner of the upstream simulator's contract: its YAML config and its runtime control API
 * (faults can be changed while it runs). Used by tests, the demo and the benchmarks.
 */
import { z } from "zod";
import { SIM_API_VERSION } from "./version.js";

const ms = z.number().min(0);

export const LatencySchema = z.discriminatedUnion("dist", [
  z.object({ dist: z.literal("fixed"), ms }).strict(),
  z.object({ dist: z.literal("uniform"), minMs: ms, maxMs: ms }).strict(),
  z.object({ dist: z.literal("normal"), meanMs: ms, stdevMs: ms }).strict(),
  z.object({ dist: z.literal("lognormal"), medianMs: ms, sigma: z.number().min(0) }).strict(),
  z.object({ dist: z.literal("exponential"), meanMs: ms }).strict(),
]);
export type Latency = z.infer<typeof LatencySchema>;

export const FaultsSchema = z
  .object({
    /** Delay before the server starts reading a new TCP connection. */
    acceptDelayMs: ms.default(0),
    /** Delay before the TLS handshake proceeds (TLS endpoints only). */
    tlsDelayMs: ms.default(0),
    latency: LatencySchema.default({ dist: "fixed", ms: 0 }),
    /** Fraction of requests answered with errorStatus. */
    errorRate: z.number().min(0).max(1).default(0),
    errorStatus: z.number().int().min(100).max(599).default(503),
    /** Accept TCP but never complete TLS / never answer; new connections hang. */
    blackHole: z.boolean().default(false),
    /** Refuse new connections (close the listening socket). */
    refuse: z.boolean().default(false),
    /** Fraction of responses reset mid-body. */
    resetRate: z.number().min(0).max(1).default(0),
    /** When > 0, bodies are written at this rate. */
    slowBodyBytesPerSec: z.number().min(0).default(0),
    /** Health endpoint behaviour, independent of traffic faults. */
    health: z
      .object({
        status: z.number().int().min(100).max(599).default(200),
        delayMs: ms.default(0),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type Faults = z.infer<typeof FaultsSchema>;
export type FaultsInput = z.input<typeof FaultsSchema>;

export const SimEndpointSchema = z
  .object({
    name: z.string().min(1),
    host: z.string().min(1).default("127.0.0.1"),
    /** 0 picks a free port (reported by the control API). */
    port: z.number().int().min(0).max(65535).default(0),
    protocol: z.enum(["http1", "h2c", "https", "h2"]).default("http1"),
    zone: z.string().optional(),
    /** Response body size in bytes. */
    bodyBytes: z.number().int().min(0).default(64),
    healthPath: z.string().startsWith("/").default("/health"),
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
    tls: z.object({ certFile: z.string().optional(), keyFile: z.string().optional() }).strict().prefault({}),
    endpoints: z.array(SimEndpointSchema).min(1),
  })
  .strict();
export type SimConfig = z.infer<typeof SimConfigSchema>;
export type SimConfigInput = z.input<typeof SimConfigSchema>;

/** PATCH /endpoints/:name/faults body on the control API. */
export const FaultsPatchSchema = FaultsSchema.partial();
