/**
 * Fault-injecting upstream simulator (issue #4): one loopback server per configured endpoint,
 * faults changeable at run time through the Simulator object or the control API.
 */

import { readFileSync } from "node:fs";
import {
  ConfigError,
  type Faults,
  type FaultsPatch,
  FaultsPatchSchema,
  issuesOf,
  parseSimConfig,
  SIM_API_VERSION,
  type SimConfig,
  type SimConfigInput,
  type SimEndpointStatus,
  type SimProtocol,
  type SimStats,
} from "@meshtune/contracts";
import { testCerts } from "../certs.js";
import { type ControlServer, startControlServer } from "./control.js";
import { EndpointServer } from "./endpoint.js";

export interface SimEndpointHandle {
  readonly name: string;
  /** Base URL, e.g. `http://127.0.0.1:18081` (https for https and h2 endpoints). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: SimProtocol;
  readonly zone: string | undefined;
  /** False while `refuse` is set. */
  readonly listening: boolean;
  /** A copy of the current faults. */
  readonly faults: Faults;
  /**
   * Changes faults (absent fields stay; `health` merges field by field). Takes effect for new
   * connections and requests at once; resolves when the listener matches `refuse`.
   * Throws ConfigError on an invalid patch.
   */
  setFaults(patch: FaultsPatch): Promise<Faults>;
  /** Back to the faults in the config. */
  resetFaults(): Promise<Faults>;
  stats(): SimStats;
  resetStats(): void;
  /** What GET /endpoints/:name returns. */
  status(): SimEndpointStatus;
}

export interface Simulator {
  readonly endpoints: readonly SimEndpointHandle[];
  /** Throws when there is no endpoint of that name. */
  endpoint(name: string): SimEndpointHandle;
  /** Base URL of the control API; undefined when started with `{ control: false }`. */
  readonly controlUrl: string | undefined;
  readonly config: SimConfig;
  /** Per-endpoint stats keyed by name. */
  stats(): Record<string, SimStats>;
  resetStats(): void;
  /** Closes every listener and the control API and destroys open sockets; idempotent. */
  close(): Promise<void>;
}

export interface StartSimulatorOptions {
  /** Start the control API (default true). */
  control?: boolean;
  /** Random source for errorRate, resetRate and latency sampling (default Math.random). */
  random?: () => number;
}

function handleOf(ep: EndpointServer): SimEndpointHandle {
  const configured = ep.config.faults;
  return {
    name: ep.name,
    get url() {
      return ep.url;
    },
    host: ep.config.host,
    get port() {
      return ep.port;
    },
    protocol: ep.config.protocol,
    zone: ep.config.zone,
    get listening() {
      return ep.listening;
    },
    get faults() {
      return ep.faults;
    },
    setFaults(patch: FaultsPatch) {
      const parsed = FaultsPatchSchema.safeParse(patch);
      if (!parsed.success) {
        return Promise.reject(new ConfigError(`faults patch for ${ep.name}`, issuesOf(parsed.error)));
      }
      return ep.setFaults(parsed.data);
    },
    resetFaults: () => ep.replaceFaults(configured),
    stats: () => ep.stats(),
    resetStats: () => ep.resetStats(),
    status: () => ep.status(),
  };
}

/**
 * Starts every endpoint (and the control API) and resolves when all listen. Accepts a parsed
 * SimConfig or its input form (defaults filled in); throws ConfigError when invalid. On a
 * start failure (port in use) everything already started is closed before rethrowing.
 */
export async function startSimulator(config: SimConfigInput, opts: StartSimulatorOptions = {}): Promise<Simulator> {
  const parsed = parseSimConfig(config);
  if (!parsed.ok) throw new ConfigError("simulator config", parsed.issues);
  const cfg = parsed.value;
  const needsTls = cfg.endpoints.some((e) => e.protocol === "https" || e.protocol === "h2");
  const tlsMaterial = needsTls
    ? {
        cert: cfg.tls.certFile !== undefined ? readFileSync(cfg.tls.certFile) : testCerts.certPem,
        key: cfg.tls.keyFile !== undefined ? readFileSync(cfg.tls.keyFile) : testCerts.keyPem,
      }
    : { cert: "", key: "" };
  const random = opts.random ?? Math.random;
  const servers = new Map<string, EndpointServer>();
  for (const e of cfg.endpoints) servers.set(e.name, new EndpointServer(e, { tls: tlsMaterial, random }));

  let control: ControlServer | undefined;
  const closeAll = async () => {
    await Promise.all([...servers.values()].map((s) => s.close()));
    await control?.close();
  };
  try {
    // Sequential, so a port conflict names the endpoint that failed.
    for (const s of servers.values()) {
      try {
        await s.start();
      } catch (err) {
        throw new Error(`simulator endpoint ${s.name} (${s.config.host}:${s.config.port}): ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    if (opts.control !== false) control = await startControlServer(servers, cfg.control.host, cfg.control.port);
  } catch (err) {
    await closeAll();
    throw err;
  }

  const handles = [...servers.values()].map(handleOf);
  const byName = new Map(handles.map((h) => [h.name, h]));
  let closing: Promise<void> | undefined;
  return {
    endpoints: handles,
    endpoint(name: string) {
      const h = byName.get(name);
      if (h === undefined) throw new Error(`simulator has no endpoint named ${JSON.stringify(name)}`);
      return h;
    },
    controlUrl: control?.url,
    config: cfg,
    stats: () => Object.fromEntries(handles.map((h) => [h.name, h.stats()])),
    resetStats: () => {
      for (const h of handles) h.resetStats();
    },
    close: () => {
      closing ??= closeAll();
      return closing;
    },
  };
}

/**
 * The simulator as tests and demos usually want it: these endpoints on loopback, control API
 * on a free port, every other setting at its default.
 */
export function startSimulatorWith(
  endpoints: SimConfigInput["endpoints"],
  opts: StartSimulatorOptions = {},
): Promise<Simulator> {
  return startSimulator({ apiVersion: SIM_API_VERSION, kind: "SimConfig", control: { port: 0 }, endpoints }, opts);
}
