/**
 * Operator pins (issue #10 guardrails: "manual pins and overrides per endpoint"). A pin's
 * weight or ejection is pushed as an `operator-pin` decision when the engine's state differs,
 * so the decision stream alone says what every proxy should hold; guardrails.ts then keeps
 * every rule away from what is pinned. A pin past its `until` is ignored.
 */
import type { EndpointPin } from "@meshtune/contracts";
import type { EndpointState, GuardrailEntry, Proposal } from "../types.js";
import { RULES } from "../types.js";
import { iso, type RuleContext } from "./context.js";

export function activePins(pins: Record<string, EndpointPin>, now: number): Record<string, EndpointPin> {
  const out: Record<string, EndpointPin> = {};
  for (const [ep, pin] of Object.entries(pins)) if (pin.until === undefined || pin.until > now) out[ep] = pin;
  return out;
}

function base(ep: string, pin: EndpointPin, ctx: RuleContext) {
  return {
    rule: RULES.operatorPin,
    endpoint: ep,
    inputs: { pin: { ...pin, until: pin.until === undefined ? undefined : iso(pin.until) } },
    confidence: 1,
    urgent: true,
    guardrails: [] as GuardrailEntry[],
    ...(pin.until === undefined ? {} : { expiresAt: pin.until }),
    reason: `operator pin${pin.by ? ` by ${pin.by}` : ""}${pin.reason ? `: ${pin.reason}` : ""}`,
    counterfactual: `Without it the engine's own rules would keep deciding ${ep}${ctx.state.endpoints[ep] ? "" : " (not seen yet)"}.`,
  } as const;
}

export function pinRule(ctx: RuleContext, pins: Record<string, EndpointPin>): Proposal[] {
  const out: Proposal[] = [];
  for (const [ep, pin] of Object.entries(pins)) {
    const st: EndpointState | undefined = ctx.state.endpoints[ep];
    if (!st) continue;
    if (pin.weight !== undefined && st.weight.value !== pin.weight) {
      out.push({
        ...base(ep, pin, ctx),
        kind: "set_weight",
        before: { weight: st.weight.value },
        after: { weight: pin.weight },
        effect: { type: "weight", value: pin.weight },
        direction: pin.weight > st.weight.value ? 1 : -1,
      });
    }
    const ejected = st.ejection.status === "ejected";
    if (pin.ejected === true && !(ejected && st.ejection.evidence === "operator")) {
      const until = pin.until ?? ctx.now + 365 * 86_400_000;
      out.push({
        ...base(ep, pin, ctx),
        kind: "eject",
        before: { ejected },
        after: { ejected: true, ejectReason: "operator", until: iso(until) },
        effect: {
          type: "eject",
          until,
          count: st.ejection.count,
          reason: "operator",
          evidence: "operator",
          reporters: [],
        },
        direction: 1,
      });
    } else if (pin.ejected === false && ejected) {
      out.push({
        ...base(ep, pin, ctx),
        kind: "uneject",
        before: { ejected: true },
        after: { ejected: false },
        effect: { type: "uneject" },
        direction: -1,
      });
    }
  }
  for (const [ep, st] of Object.entries(ctx.state.endpoints)) {
    if (st.ejection.status !== "ejected" || st.ejection.evidence !== "operator" || pins[ep]?.ejected === true) continue;
    out.push({
      ...base(ep, {}, ctx),
      reason: "operator pin removed or expired: the operator's ejection ends",
      kind: "uneject",
      before: { ejected: true },
      after: { ejected: false },
      effect: { type: "uneject" },
      direction: -1,
    });
  }
  return out;
}
