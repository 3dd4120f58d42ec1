/**
 * `--workers N`: the primary process of a multi-worker proxy (issue #15). N workers each run
 * a full EgressProxy with its own pools and share the egress listener through SO_REUSEPORT
 * (the kernel spreads connections; the primary is not on the request path, unlike node:cluster's
 * round-robin mode, where every connection passes through it). The primary only
 * - forks the workers (node:cluster, same entry and arguments) and replaces one that dies
 *   (at most MAX_RESTARTS in all);
 * - relays verdicts (peer.ts) from the worker that decided them to every other worker, and
 *   replays the last health verdict per endpoint to a worker that (re)starts, so a replaced
 *   worker does not send traffic to an endpoint the health-checking worker flagged long ago;
 * - serves the admin API for the whole proxy: /ready when every worker is ready, /clusters
 *   merged over workers (sums of in-flight, requests and pool counts; an endpoint available
 *   only where every worker has it available; flags united), /workers per worker; any other
 *   path (/config, /metrics…) from the first worker;
 * - stops the workers on stop() (SIGTERM each, then SIGKILL after the drain timeout).
 */
import type { Worker } from "node:cluster";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer, nodeCluster } from "../builtins.js";
import { WORKER_ID_ENV } from "./env.js";
import { mergeClusters, type WorkerClusters } from "./merge.js";
import { type HealthVerdict, isPeerVerdict } from "./peer.js";

/** Admin API against slow clients (slowloris): 10 s for the headers, 30 s for the request. */
const ADMIN_LIMITS = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 };

const MAX_RESTARTS = 10;

export interface WorkerHello {
  type: "meshtune:worker";
  id: number;
  adminPort: number;
  ready: boolean;
}

export function isWorkerHello(m: unknown): m is WorkerHello {
  return typeof m === "object" && m !== null && (m as { type?: unknown }).type === "meshtune:worker";
}

export interface PrimaryOptions {
  workers: number;
  /** Worker entry and arguments (default: this process's). */
  exec?: string;
  args?: string[];
  env?: Record<string, string>;
  admin: { host: string; port: number };
  id: string;
  drainTimeoutMs: number;
  log?: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
}

interface Slot {
  id: number;
  worker: Worker;
  adminPort: number | undefined;
  ready: boolean;
}

export class WorkerPrimary {
  readonly #o: PrimaryOptions;
  readonly #slots = new Map<number, Slot>();
  #admin: Server | undefined;
  #stopping = false;
  #restarts = 0;
  /** Last health verdict per cluster/endpoint (replayed to workers that start later). */
  readonly #health = new Map<string, HealthVerdict>();

  constructor(o: PrimaryOptions) {
    this.#o = o;
  }

  get ready(): boolean {
    return this.#slots.size === this.#o.workers && [...this.#slots.values()].every((s) => s.ready);
  }
  get workerPids(): number[] {
    return [...this.#slots.values()].map((s) => s.worker.process.pid ?? 0);
  }
  get adminAddress() {
    return this.#admin?.address();
  }

  async start(): Promise<void> {
    // Only what is given: an undefined exec would replace node:cluster's default (this entry).
    nodeCluster().setupPrimary({
      ...(this.#o.exec !== undefined ? { exec: this.#o.exec } : {}),
      ...(this.#o.args !== undefined ? { args: this.#o.args } : {}),
    });
    for (let i = 1; i <= this.#o.workers; i++) this.#fork(i);
    // Slow clients on the admin port are cut off like on the listener (issue #14).
    this.#admin = createServer(ADMIN_LIMITS, (req, res) => void this.#serve(req, res));
    await new Promise<void>((resolve, reject) => {
      this.#admin?.once("error", reject);
      this.#admin?.listen(this.#o.admin.port, this.#o.admin.host, () => resolve());
    });
  }

  #fork(id: number): void {
    const worker = nodeCluster().fork({ ...this.#o.env, [WORKER_ID_ENV]: String(id) });
    const slot: Slot = { id, worker, adminPort: undefined, ready: false };
    this.#slots.set(id, slot);
    worker.on("message", (m: unknown) => {
      if (isWorkerHello(m)) {
        const first = slot.adminPort === undefined;
        slot.adminPort = m.adminPort;
        slot.ready = m.ready;
        if (first) for (const v of this.#health.values()) if (v.from !== id) worker.send(v);
      } else if (isPeerVerdict(m)) {
        if (m.kind === "health") this.#health.set(`${m.cluster}\u0000${m.endpoint}`, m);
        for (const other of this.#slots.values()) if (other !== slot) other.worker.send(m);
      }
    });
    worker.on("exit", (code, signal) => {
      if (this.#slots.get(id) === slot) this.#slots.delete(id);
      if (this.#stopping) return;
      this.#o.log?.("error", "worker exited", { worker: id, code, signal });
      if (this.#restarts++ < MAX_RESTARTS) this.#fork(id);
      // /ready stays 503 (a worker is missing); say why, and what stops with worker 1.
      else
        this.#o.log?.("error", "worker not replaced: restart limit reached", {
          worker: id,
          limit: MAX_RESTARTS,
          ...(id === 1 ? { effect: "no worker runs the active health checks any more" } : {}),
        });
    });
  }

  async #collect(): Promise<WorkerClusters[]> {
    const slots = [...this.#slots.values()].sort((a, b) => a.id - b.id);
    return Promise.all(
      slots.map(async (s) => ({
        worker: s.id,
        pid: s.worker.process.pid ?? 0,
        ready: s.ready,
        body: s.adminPort ? await getJson(s.adminPort, "/clusters").catch(() => undefined) : undefined,
      })),
    );
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const json = (status: number, body: unknown) => {
      const text = `${JSON.stringify(body, null, 2)}\n`;
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      if (path === "/live") return json(200, { live: true, workers: this.#slots.size });
      if (path === "/ready") return json(this.ready ? 200 : 503, { ready: this.ready, workers: this.#slots.size });
      if (path === "/workers") return json(200, { proxy: this.#o.id, workers: await this.#collect() });
      if (path === "/clusters") return json(200, mergeClusters(this.#o.id, await this.#collect()));
      const first = [...this.#slots.values()].sort((a, b) => a.id - b.id).find((s) => s.adminPort);
      if (!first?.adminPort) return json(503, { error: "no worker is up" });
      const r = await fetch(`http://127.0.0.1:${first.adminPort}${req.url ?? "/"}`, { method: req.method });
      const body = Buffer.from(await r.arrayBuffer());
      res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/plain" });
      res.end(body);
    } catch (err) {
      json(500, { error: (err as Error).message });
    }
  }

  /** Forward a signal (SIGHUP: reload) to every worker. */
  signal(sig: NodeJS.Signals): void {
    for (const s of this.#slots.values()) s.worker.process.kill(sig);
  }

  /** SIGTERM every worker (each drains), SIGKILL what is left after the drain timeout. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#slots.values()].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.worker.isDead()) return resolve();
          const t = setTimeout(() => {
            s.worker.process.kill("SIGKILL");
            resolve();
          }, this.#o.drainTimeoutMs + 5_000);
          s.worker.once("exit", () => {
            clearTimeout(t);
            resolve();
          });
          s.worker.process.kill("SIGTERM");
        }),
    );
    await Promise.all(exits);
    this.#admin?.closeAllConnections();
    await new Promise<void>((r) => (this.#admin ? this.#admin.close(() => r()) : r()));
  }
}

async function getJson(port: number, path: string): Promise<unknown> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return r.json();
}
