/**
 * The fleet writer in its own process, as the collector is in production: the ~80k points a
 * simulated second makes (200 proxies × 50 endpoints) are garbage of this process, so the
 * benchmark's engine process measures its own job, not the writer's garbage collection.
 *
 * Parent side: `startFleetProcess(opts)` forks this file; `write(sec, second, signals)` resolves
 * when the second is in Redis; `stop()` returns the writer's counters and ends the child.
 * Child side (argv "child"): one createFleetWriter, one message per second.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === "child") {
  const { createFleetWriter } = await import("./fleet-writer.mjs");
  const { adapters } = await import("./lib.mjs");
  let redis;
  let writer;
  // The parent went away (finished or failed): nothing more will come.
  process.on("disconnect", () => process.exit(0));
  process.on("message", async (m) => {
    try {
      if (m.type === "init") {
        redis = adapters.createRedis(m.redisUrl);
        writer = createFleetWriter(redis, m.opts);
        process.send({ ok: true });
      } else if (m.type === "write") {
        await writer.writeSecond(m.sec, m.second, m.signals);
        process.send({ ok: true });
      } else if (m.type === "stop") {
        await redis?.quit();
        process.send({ ok: true, stats: writer?.stats });
        process.disconnect();
      }
    } catch (err) {
      process.send({ ok: false, error: String(err) });
    }
  });
}

export function startFleetProcess(redisUrl, opts) {
  const child = fork(self, ["child"], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let pending;
  child.on("message", (m) => {
    const p = pending;
    pending = undefined;
    if (!p) return;
    if (m.ok) p.resolve(m);
    else p.reject(new Error(m.error));
  });
  child.on("exit", (code) => pending?.reject(new Error(`fleet writer exited (${code})`)));
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      child.send(msg);
    });
  const ready = ask({ type: "init", redisUrl, opts });
  return {
    async write(sec, second, signals) {
      await ready;
      await ask({ type: "write", sec, second, signals });
    },
    async stop() {
      await ready;
      const m = await ask({ type: "stop" });
      return m.stats;
    },
  };
}
