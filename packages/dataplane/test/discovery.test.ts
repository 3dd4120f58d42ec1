/**
 * strict_dns keeps every Host whose address did not change across re-resolves — with its
 * pool, flags and ejection state — so DNS rotation neither drains pools (Istio #35475) nor
 * resets ejections (Istio #8673). Paused time and a fake resolver.
 */
import { FakeClock } from "@meshtune/testkit";
import { describe, expect, it } from "vitest";
import { flagWriter, HostSet, startDiscovery } from "../src/index.js";

const flush = () => new Promise((r) => setImmediate(r));

describe("strict_dns discovery", () => {
  it("re-resolves on the interval, keeps unchanged hosts and their state, drops vanished ones, survives DNS failure", async () => {
    const clock = new FakeClock();
    const hosts = new HostSet(() => clock.now());
    let answer: string[] | Error = ["10.0.0.1", "10.0.0.2"];
    const events: string[] = [];
    const d = startDiscovery(
      { type: "strict_dns", hostname: "api.example.com", port: 443, weight: 1, refreshIntervalMs: 1000, family: "any" },
      hosts,
      {
        clock,
        resolver: async () => {
          if (answer instanceof Error) throw answer;
          return answer;
        },
        onEvent: (e) => events.push(e.type),
      },
    );
    await d.ready;
    expect(hosts.hosts.map((h) => h.key)).toEqual(["10.0.0.1:443", "10.0.0.2:443"]);
    expect(hosts.hosts[0]!.sni).toBe("api.example.com");
    const first = hosts.get("10.0.0.1:443")!;
    const ejected = flagWriter("ejected_outlier", () => clock.now());
    ejected.set(first, "consecutive 5xx");

    answer = ["10.0.0.3", "10.0.0.1"];
    clock.advance(1000);
    await flush();
    expect(hosts.hosts.map((h) => h.key).sort()).toEqual(["10.0.0.1:443", "10.0.0.3:443"]);
    // Same object: pool, flags and ejection survive the re-resolve.
    expect(hosts.get("10.0.0.1:443")).toBe(first);
    expect(first.hasFlag("ejected_outlier")).toBe(true);

    answer = new Error("SERVFAIL");
    clock.advance(1000);
    await flush();
    expect(hosts.hosts).toHaveLength(2);
    expect(events).toContain("resolve_failed");
    d.close();
    expect(clock.pending).toBe(0);
  });

  it("static clusters refuse pushed endpoints; pushed clusters take them", () => {
    const clock = new FakeClock();
    const hosts = new HostSet(() => clock.now());
    const s = startDiscovery({ type: "static", endpoints: [{ address: "127.0.0.1", port: 1, weight: 1 }] }, hosts, {
      clock,
    });
    expect(() => s.push([])).toThrow(/static/);
    const pushedHosts = new HostSet(() => clock.now());
    const p = startDiscovery({ type: "pushed", initialEndpoints: [] }, pushedHosts, { clock });
    p.push([{ address: "127.0.0.2", port: 2, weight: 1 }]);
    expect(pushedHosts.hosts.map((h) => h.key)).toEqual(["127.0.0.2:2"]);
  });
});
