/**
 * Small helpers for tests, demos and benchmarks that start real processes on loopback: a free
 * port, and stopping a child the way an orchestrator does (SIGTERM, then SIGKILL after a grace).
 */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0). Another
 * process can take it before the caller binds: callers that can listen on port 0 themselves
 * should do that instead.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** SIGTERM (a meshtune process drains and exits), then SIGKILL after `graceMs`; resolves on exit. */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
