/**
 * Small helpers for tests, demos and benchmarks that start real processes on loopback: a free
 * port, and stopping a child the way an orchestrator does (SIGTERM, then SIGKILL after a grace).
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Where freePort picks: below Linux's ephemeral range (32768–60999 by default), from which the
 * kernel takes the local port of every outgoing connection, and below the 20000+ ports
 * redis-cluster.ts picks. A port the kernel hands out for port 0 comes from the ephemeral
 * range, so one of the tests' own client connections (Redis, Kafka, HTTP) could take it
 * before the caller binds: CI saw `listen EADDRINUSE 127.0.0.1:38897` that way.
 */
const PICK_LO = 10_000;
const PICK_HI = 19_999;
const PICK_TRIES = 50;

/** The kernel's ephemeral port range, when it can be read (Linux); read once. */
export function ephemeralPortRange(): [number, number] | undefined {
  if (ephemeral === null) ephemeral = readEphemeralRange();
  return ephemeral;
}
let ephemeral: [number, number] | undefined | null = null;

function readEphemeralRange(): [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    return Number.isInteger(lo) && Number.isInteger(hi) ? [lo as number, hi as number] : undefined;
  } catch {
    return undefined;
  }
}

/** True when 127.0.0.1:port could be listened on a moment ago. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

function kernelPick(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: a random bindable one in
 * PICK_LO..PICK_HI when that range lies outside the ephemeral range, else the kernel's pick
 * for port 0. Another process can still take it before the caller binds: callers that can
 * listen on port 0 themselves should do that instead.
 */
export async function freePort(): Promise<number> {
  const eph = ephemeralPortRange();
  if (eph !== undefined && (PICK_HI < eph[0] || PICK_LO > eph[1])) {
    for (let i = 0; i < PICK_TRIES; i++) {
      const port = PICK_LO + Math.floor(Math.random() * (PICK_HI - PICK_LO + 1));
      if (await canBind(port)) return port;
    }
  }
  return kernelPick();
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
