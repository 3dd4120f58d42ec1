import { describe, expect, it } from "vitest";
import { combineRounds, compareWithinRound, type Round, roundOrder } from "../src/scenarios/overhead-rounds.js";

const lat = (p50: number, p99: number) => ({ count: 1000, p50, p90: p50, p99, p999: p99, max: p99, mean: p50 });

function round(direct: number, mesh: number, meshCpu: number, nginxCpu: number, rss: number): Round {
  return {
    direct: { label: "direct", latencyMs: lat(direct, direct * 5), clientErrors: 0, requests: 1000 },
    meshtune: {
      label: "meshtune",
      latencyMs: lat(mesh, mesh * 5),
      cpuMsPer1000Requests: meshCpu,
      rssMiB: rss,
      clientErrors: 0,
      requests: 1000,
    },
    nginx: {
      label: "NGINX",
      latencyMs: lat(direct, direct * 5),
      cpuMsPer1000Requests: nginxCpu,
      clientErrors: 0,
      requests: 1000,
    },
  };
}

describe("overhead rounds", () => {
  it("compares within a round, then takes medians, so one slow round does not decide a goal", () => {
    // Round 2 is a slow minute of the VM: everything doubles, NGINX's CPU most of all.
    const rounds = [round(1.0, 1.2, 160, 60, 97), round(2.0, 2.9, 220, 130, 104), round(1.1, 1.3, 170, 62, 98)];
    for (const r of rounds) compareWithinRound(r);
    expect(rounds.map((r) => r.meshtune!.addedP50Ms)).toEqual([0.2, 0.9, 0.2]);
    expect(rounds.map((r) => r.meshtune!.cpuRatioToNginx)).toEqual([2.67, 1.69, 2.74]);
    const m = combineRounds(
      "meshtune",
      rounds.map((r) => r.meshtune!),
    );
    expect(m.addedP50Ms).toBe(0.2);
    // The median of the rounds' own ratios, not the ratio of the medians (170 / 62 = 2.74).
    expect(m.cpuRatioToNginx).toBe(2.67);
    expect(m.cpuMsPer1000Requests).toBe(170);
    expect(m.rssMiB).toBe(98);
    expect((m.latencyMs as { p50: number; count: number }).p50).toBe(1.3);
    expect((m.latencyMs as { count: number }).count).toBe(3000);
    expect(m.rounds).toHaveLength(3);
  });

  it("sums client errors over every round and keeps a failed round out of the medians, listed", () => {
    const ok = (p50: number, errors: number) => ({ label: "x", latencyMs: lat(p50, p50), clientErrors: errors });
    const m = combineRounds("x", [ok(1, 0), { label: "x", error: "proxy exited\nlog..." }, ok(3, 2)]);
    expect(m.clientErrors).toBe(2);
    expect(m.failedRounds).toEqual(["proxy exited"]);
    expect((m.latencyMs as { p50: number }).p50).toBe(1);
    expect(combineRounds("x", [{ error: "a" }, { error: "b" }])).toMatchObject({ error: "a" });
    expect(combineRounds("x", [{ skipped: true }])).toEqual({ label: "x", skipped: true });
  });

  it("reverses the order in even rounds", () => {
    expect(roundOrder(["a", "b", "c"], 1)).toEqual(["a", "b", "c"]);
    expect(roundOrder(["a", "b", "c"], 2)).toEqual(["c", "b", "a"]);
  });
});
