/**
 * A fleet of real `meshtune proxy` processes for the actuator benchmark: each is the product
 * CLI (services/cli/dist/main.js) with its own YAML file, loopback ports, and (optionally) the
 * Redis config client with the fleet's control key.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../services/cli/dist/main.js", import.meta.url));

const handedOut = new Set<number>();
/** A free loopback port never handed out before by this script (parallel starts must not share one). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface FleetSpec {
  n: number;
  dir: string;
  endpoints: number[];
  /** With Redis: the proxies follow the tuner. */
  redis?: { url: string; prefix: string; key: string };
  /** Retries per request (0: every failed attempt is a client error, so failures are countable). */
  maxRetries?: number;
}

export interface FleetMember {
  id: string;
  listener: number;
  admin: number;
  child: ChildProcess;
}

export interface Fleet {
  members: FleetMember[];
  stop(): Promise<void>;
}

/**
 * Ready and really this proxy: on a shared machine another process can take a port between the
 * check and the bind; then the admin port answers for someone else (review: EADDRINUSE runs).
 */
async function waitReady(id: string, admin: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`proxy exited with ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${admin}/ready`);
      const who = (await (await fetch(`http://127.0.0.1:${admin}/clusters`)).json()) as { proxy?: string };
      if (who.proxy !== id) throw new Error(`admin port ${admin} answers for ${who.proxy}`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const ready = await fetch(`http://127.0.0.1:${admin}/ready`)
    .then((r) => r.text())
    .catch((err: Error) => err.message);
  throw new Error(`proxy on admin port ${admin} not ready within ${timeoutMs} ms: ${ready}`);
}

/** Every proxy process this script started, killed when it exits however it exits. */
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

export async function startFleet(spec: FleetSpec): Promise<Fleet> {
  const members: FleetMember[] = [];
  // A start that loses its ports to another process is retried on new ports.
  const start = async (i: number) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOne(i);
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  };
  const startOne = async (i: number) => {
    const [listener, admin] = [await freePort(), await freePort()];
    const id = `bench-proxy-${i}`;
    const file = join(spec.dir, `${id}.yaml`);
    const config = {
      apiVersion: "meshtune.io/v1alpha1",
      kind: "ProxyConfig",
      proxy: { id, listener: { port: listener }, admin: { port: admin }, drainTimeoutMs: 1_000 },
      clusters: [
        {
          name: "api",
          discovery: { type: "static", endpoints: spec.endpoints.map((port) => ({ address: "127.0.0.1", port })) },
          lb: { policy: "round_robin" },
          healthCheck: { intervalMs: 60_000 },
          pool: { minWarm: 1 },
          retry: { maxRetries: spec.maxRetries ?? 1 },
          // One of three endpoints may be ejected (the default 10% would allow none of three).
          outlier: { maxEjectionPercent: 50 },
        },
      ],
    };
    writeFileSync(file, JSON.stringify(config)); // JSON is YAML
    const args = [
      CLI,
      "proxy",
      "--config",
      file,
      "--no-telemetry",
      "--no-watch",
      "--log-level",
      process.env.BENCH_PROXY_LOG ?? "warn",
    ];
    if (spec.redis)
      args.push("--redis-url", spec.redis.url, "--redis-prefix", spec.redis.prefix, "--control-key", spec.redis.key);
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
    children.add(child);
    child.once("exit", () => children.delete(child));
    try {
      await waitReady(id, admin, child, 60_000);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
    members.push({ id, listener, admin, child });
  };
  const stop = async () => {
    await Promise.all(
      members.map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.child.exitCode !== null) return resolve();
            m.child.once("exit", () => resolve());
            m.child.kill("SIGTERM");
            setTimeout(() => m.child.kill("SIGKILL"), 5_000).unref();
          }),
      ),
    );
  };
  // A few at a time: 20 cold Node starts at once on two cores take longer than in batches.
  try {
    for (let i = 0; i < spec.n; i += 4)
      await Promise.all([0, 1, 2, 3].filter((j) => i + j < spec.n).map((j) => start(i + j)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { members, stop };
}
