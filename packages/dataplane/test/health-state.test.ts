/** Active health-check state machine: thresholds flip the failed_active_hc flag. */
import { HealthCheckSchema } from "@meshtune/contracts";
import { FakeClock } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import { HealthCheckTracker, type HealthTransitionEvent } from "../src/health/state.js";
import { flagWriter, HostSet } from "../src/host.js";

function setup(thresholds: { healthyThreshold?: number; unhealthyThreshold?: number } = {}, initiallyHealthy = true) {
  const clock = new FakeClock(0);
  const hosts = new HostSet(() => clock.now());
  hosts.update([
    { address: "10.0.0.1", port: 443, weight: 1 },
    { address: "10.0.0.2", port: 443, weight: 1 },
  ]);
  const events: HealthTransitionEvent[] = [];
  const tracker = new HealthCheckTracker(
    HealthCheckSchema.parse(thresholds),
    flagWriter("failed_active_hc", () => clock.now()),
    { hosts, clock, initiallyHealthy, onTransition: (e) => events.push(e) },
  );
  return { clock, hosts, tracker, events, h: [...hosts.hosts] };
}

describe("HealthCheckTracker", () => {
  // [thresholds, sequence of results, flagged after each step]
  const table: Array<[string, { healthyThreshold: number; unhealthyThreshold: number }, boolean[], boolean[]]> = [
    [
      "3 failures flag (defaults 2/3)",
      { healthyThreshold: 2, unhealthyThreshold: 3 },
      [false, false, false],
      [false, false, true],
    ],
    [
      "a success in between resets",
      { healthyThreshold: 2, unhealthyThreshold: 3 },
      [false, false, true, false, false],
      [false, false, false, false, false],
    ],
    [
      "2 successes clear",
      { healthyThreshold: 2, unhealthyThreshold: 3 },
      [false, false, false, true, true],
      [false, false, true, true, false],
    ],
    [
      "a failure in between restarts the success count",
      { healthyThreshold: 2, unhealthyThreshold: 1 },
      [false, true, false, true, true],
      [true, true, true, true, false],
    ],
    [
      "thresholds of 1 flip every time",
      { healthyThreshold: 1, unhealthyThreshold: 1 },
      [false, true, false],
      [true, false, true],
    ],
  ];
  it.each(table)("%s", (_name, thresholds, results, flagged) => {
    const { tracker, h } = setup(thresholds);
    results.forEach((ok, i) => {
      tracker.record(h[0]!, ok, ok ? "status 200" : "status 503");
      expect(h[0]!.hasFlag("failed_active_hc"), `after step ${i}`).toBe(flagged[i]);
    });
    expect(h[1]!.hasFlag("failed_active_hc")).toBe(false); // other hosts untouched
  });

  it("returns transitions, emits events, and keeps a snapshot", () => {
    const { clock, tracker, events, h } = setup({ healthyThreshold: 2, unhealthyThreshold: 2 });
    expect(tracker.record(h[0]!, false, "timeout after 1000 ms")).toBe("none");
    clock.advance(5_000);
    expect(tracker.record(h[0]!, false, "timeout after 1000 ms")).toBe("became_unhealthy");
    expect(h[0]!.available).toBe(false);
    expect(h[0]!.flagReason("failed_active_hc")).toBe("active health check: timeout after 1000 ms");
    expect(tracker.snapshot(h[0]!)).toEqual({
      healthy: false,
      checked: true,
      consecutiveSuccesses: 0,
      consecutiveFailures: 2,
      totalChecks: 2,
      lastDetail: "timeout after 1000 ms",
      lastCheckedAt: 5_000,
      lastTransitionAt: 5_000,
    });
    tracker.record(h[0]!, true, "status 200");
    expect(tracker.record(h[0]!, true, "status 200")).toBe("became_healthy");
    expect(events.map((e) => e.transition)).toEqual(["became_unhealthy", "became_healthy"]);
  });

  it("new hosts start healthy by default", () => {
    const { hosts, tracker } = setup();
    hosts.update([
      ...hosts.hosts.map((h) => ({ address: h.address, port: h.port, weight: 1 })),
      { address: "10.0.0.3", port: 443, weight: 1 },
    ]);
    const added = hosts.get("10.0.0.3:443")!;
    expect(added.available).toBe(true);
    expect(tracker.snapshot(added)).toMatchObject({ healthy: true, checked: false });
  });

  it("initiallyHealthy: false flags new hosts until one passing check (Envoy)", () => {
    const { hosts, tracker, h } = setup({ healthyThreshold: 3 }, false);
    expect(h[0]!.hasFlag("failed_active_hc")).toBe(true);
    expect(tracker.record(h[0]!, true)).toBe("became_healthy");
    expect(h[0]!.available).toBe(true);
    hosts.update([{ address: "10.0.0.9", port: 443, weight: 1 }]);
    expect(hosts.get("10.0.0.9:443")!.hasFlag("failed_active_hc")).toBe(true);
  });

  it("keeps state across a re-resolve that keeps the address (same Host object)", () => {
    const { hosts, tracker, h } = setup({ unhealthyThreshold: 2 });
    tracker.record(h[0]!, false);
    hosts.update([...hosts.hosts].reverse().map((x) => ({ address: x.address, port: x.port, weight: 1 })));
    tracker.record(h[0]!, false);
    expect(h[0]!.hasFlag("failed_active_hc")).toBe(true);
  });

  it("updateConfig changes thresholds in place", () => {
    const { tracker, h } = setup({ unhealthyThreshold: 5 });
    tracker.record(h[0]!, false);
    tracker.updateConfig({ healthyThreshold: 1, unhealthyThreshold: 2 });
    tracker.record(h[0]!, false);
    expect(h[0]!.available).toBe(false);
  });

  it("works without a host set or clock (the cluster runtime's wiring)", () => {
    const clock = new FakeClock(0);
    const hosts = new HostSet(() => clock.now());
    hosts.update([{ address: "10.0.0.1", port: 443, weight: 1 }]);
    const t = new HealthCheckTracker(
      HealthCheckSchema.parse({ unhealthyThreshold: 1 }),
      flagWriter("failed_active_hc", () => 0),
    );
    t.record(hosts.hosts[0]!, false, "boom");
    expect(hosts.hosts[0]!.available).toBe(false);
    expect(t.snapshot(hosts.hosts[0]!).lastCheckedAt).toBeUndefined();
    expect(
      () =>
        new HealthCheckTracker(
          HealthCheckSchema.parse({}),
          flagWriter("failed_warmup", () => 0),
        ),
    ).toThrow();
  });
  it("adopt() takes another worker's verdict at once, with the same flag reason and no event of its own", () => {
    const { clock, tracker, events, h } = setup({ healthyThreshold: 3, unhealthyThreshold: 3 });
    clock.advance(5);
    expect(tracker.adopt(h[0]!, false, "status 503")).toBe("became_unhealthy");
    expect(h[0]!.flagReason("failed_active_hc")).toBe("active health check: status 503");
    expect(tracker.snapshot(h[0]!)).toMatchObject({
      healthy: false,
      checked: true,
      totalChecks: 0,
      lastTransitionAt: 5,
    });
    expect(tracker.adopt(h[0]!, false, "status 503")).toBe("none");
    expect(tracker.adopt(h[0]!, true, "status 200")).toBe("became_healthy");
    expect(h[0]!.available).toBe(true);
    // The worker that ran the checks announced these transitions; a follower does not echo them.
    expect(events).toEqual([]);
  });
});
