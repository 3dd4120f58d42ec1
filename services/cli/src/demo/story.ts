/**
 * The demo's scripted story (issue #12): five acts, each one fault a fleet of sidecars meets
 * with external services, played against two identical fleets under the same load — one
 * steered by the tuner, one of proxies alone — so every act can compare them.
 *
 * Pure: act timing and the faults each act injects; the runner performs them.
 */

export const ACT_NAMES = ["blackhole", "slow", "die", "surge", "remove"] as const;
export type ActName = (typeof ACT_NAMES)[number];

/** One external service of the story: five endpoints across two zones (ep1-ep3 zone-a). */
export const SERVICES = [
  { cluster: "payments", host: "payments.example.com" },
  { cluster: "geo", host: "geo.example.com" },
  { cluster: "mail", host: "mail.example.com" },
] as const;
export type ServiceName = (typeof SERVICES)[number]["cluster"];
export const ENDPOINTS_PER_SERVICE = 5;
export const zoneOf = (index: number): string => (index < 3 ? "zone-a" : "zone-b");
/** Simulator endpoint name, e.g. `payments-ep3`. */
export const simName = (service: ServiceName, index: number): string => `${service}-ep${index + 1}`;

export type Fault =
  | { type: "black_hole"; service: ServiceName; endpoint: number }
  | { type: "slow"; service: ServiceName; endpoint: number; addMs: number }
  | { type: "die"; service: ServiceName; endpoint: number }
  | { type: "surge"; service: ServiceName; factor: number }
  | { type: "remove"; service: ServiceName; endpoint: number };

export interface Act {
  name: ActName;
  title: string;
  /** What happens, in one line an SRE reads while it runs. */
  what: string;
  /** What to look for: the tuner's part. */
  watch: string;
  fault: Fault;
  /** Seconds since the story started. */
  startS: number;
  endS: number;
}

const SCRIPT: Record<ActName, Omit<Act, "name" | "startS" | "endS">> = {
  blackhole: {
    title: "black hole at start",
    what: "payments ep3 accepts connections and never answers, from before the proxies start",
    watch: "warm-up fails on every proxy; the tuner ejects it fleet-wide (rule warmup-failure-fleet-eject)",
    fault: { type: "black_hole", service: "payments", endpoint: 2 },
  },
  slow: {
    title: "one endpoint turns slow",
    what: "geo ep2 answers 80 ms slower",
    watch: "its fleet weight falls (pressure-weighted-score); its share of traffic drops",
    fault: { type: "slow", service: "geo", endpoint: 1, addMs: 80 },
  },
  die: {
    title: "an endpoint dies mid-run",
    what: "mail ep4 refuses new connections and resets the ones it had",
    watch: "the first proxy to fail reports it; every proxy stops sending to it",
    fault: { type: "die", service: "mail", endpoint: 3 },
  },
  surge: {
    title: "traffic surge",
    what: "payments traffic ×5 on every proxy",
    watch: "predicted rate rises; pool minimums go up before the pools run dry (predictive-scale-up)",
    fault: { type: "surge", service: "payments", factor: 5 },
  },
  remove: {
    title: "an endpoint is removed",
    what: "geo ep5 is removed from every proxy's configuration",
    watch: "new requests stop at once; in-flight ones finish; its connections drain (no errors)",
    fault: { type: "remove", service: "geo", endpoint: 4 },
  },
};

/**
 * Splits `durationS` evenly over the acts (all five, or only `only`). The black-hole act's
 * fault is in place before the fleets start, so warm-up meets it.
 */
export function buildStory(durationS: number, only?: ActName): Act[] {
  const names = only ? [only] : [...ACT_NAMES];
  const each = durationS / names.length;
  return names.map((name, i) => ({ name, ...SCRIPT[name], startS: i * each, endS: (i + 1) * each }));
}

/** The act running at `elapsedS` (the last one after the end). */
export function actAt(story: readonly Act[], elapsedS: number): number {
  const i = story.findIndex((a) => elapsedS < a.endS);
  return i === -1 ? story.length - 1 : i;
}

export function parseActName(value: string | undefined): ActName | undefined | Error {
  if (value === undefined) return undefined;
  return (ACT_NAMES as readonly string[]).includes(value)
    ? (value as ActName)
    : new Error(`--act must be one of ${ACT_NAMES.join(", ")} (got '${value}')`);
}
