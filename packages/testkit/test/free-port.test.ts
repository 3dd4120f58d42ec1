/**
 * freePort picks outside the kernel's ephemeral range, from which every outgoing connection
 * takes its local port: a port picked there could be taken by a test's own client connection
 * before the caller binds (CI: `listen EADDRINUSE 127.0.0.1:38897`).
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ephemeralPortRange, freePort } from "../src/process.js";

const listenOn = (port: number) =>
  new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });

describe("freePort", () => {
  it("gives ports the caller can listen on, outside the ephemeral range, not all the same", async () => {
    const eph = ephemeralPortRange();
    expect(eph).toBeDefined(); // Linux: the tests run there
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) {
      expect(port < eph![0] || port > eph![1]).toBe(true);
      const srv = await listenOn(port);
      await new Promise<void>((r) => srv.close(() => r()));
    }
    expect(new Set(ports).size).toBeGreaterThan(10);
  });
});
