/**
 * A throw-away three-node Redis Cluster for tests (issue #9): `redis-server` processes in
 * cluster mode on free loopback ports, state in a temp dir, slots assigned by
 * `redis-cli --cluster create`. Uses the same redis-server binary as the single Redis the tests
 * run against (found on PATH), because a Redis Cluster is how users scale the windows and the
 * hash-tagged keys and Lua scripts must work there. `stop()` ends every process it started.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { canBind } from "./process.js";

const run = promisify(execFile);

export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface RedisClusterHandle {
  nodes: RedisClusterNode[];
  /** `redis://127.0.0.1:<first node port>`; a cluster client discovers the rest. */
  url: string;
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** Master nodes (no replicas). Default 3, the smallest cluster redis-cli creates. */
  nodes?: number;
  /** How long to wait for `cluster_state:ok`, ms. Default 20 000. */
  timeoutMs?: number;
}

async function which(binary: string): Promise<string> {
  try {
    const { stdout } = await run("sh", ["-c", `command -v ${binary}`]);
    const path = stdout.trim();
    if (path) return path;
  } catch {
    // fall through to the message below
  }
  throw new Error(
    `${binary} not found on PATH: the Redis Cluster tests start their own cluster from the redis-server binary (install Redis, e.g. apt-get install redis-server, or run ./dev test)`,
  );
}

/** A port that is free, and whose cluster bus port (+10000) is free too. */
async function freePort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await canBind(port)) && (await canBind(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
  throw new Error("no free port pair for a Redis Cluster node after 200 tries");
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startRedisCluster(opts: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const count = opts.nodes ?? 3;
  if (count < 3) throw new Error("a Redis Cluster needs at least 3 master nodes");
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const server = await which("redis-server");
  const cli = await which("redis-cli");
  const dir = await mkdtemp(join(tmpdir(), "meshtune-redis-cluster-"));
  const procs: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const kill = setTimeout(() => p.kill("SIGKILL"), 5_000);
            p.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            p.kill("SIGTERM");
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    const nodes: RedisClusterNode[] = [];
    for (let i = 0; i < count; i++) nodes.push({ host: "127.0.0.1", port: await freePort(taken) });
    for (const n of nodes) {
      // biome-ignore format: one flag per line pair reads better
      const args = [
        "--port", String(n.port), "--bind", n.host, "--dir", dir,
        "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${n.port}.conf`,
        "--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no",
        "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
      ];
      const p = spawn(server, args, { stdio: ["ignore", "ignore", "pipe"] });
      p.stderr?.resume();
      procs.push(p);
    }
    const ping = (n: RedisClusterNode) => run(cli, ["-h", n.host, "-p", String(n.port), "ping"]);
    for (const n of nodes)
      await waitUntil(`node ${n.port} to answer PING`, timeoutMs, async () => (await ping(n)).stdout.includes("PONG"));
    await run(cli, [
      "--cluster",
      "create",
      ...nodes.map((n) => `${n.host}:${n.port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    for (const n of nodes) {
      await waitUntil(`node ${n.port} to report cluster_state:ok`, timeoutMs, async () => {
        const { stdout } = await run(cli, ["-h", n.host, "-p", String(n.port), "cluster", "info"]);
        return stdout.includes("cluster_state:ok");
      });
    }
    return { nodes, url: `redis://${nodes[0]!.host}:${nodes[0]!.port}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
