/**
 * `meshtune explain <decision-id>`: finds a decision in its cluster's decision stream and prints
 * what was decided, the rule and the window figures behind it, what the guardrails did and what
 * would have happened without it (the engine's formatExplanation). The id names its cluster and
 * evaluation time (engine explain.ts), so the search reads one stream from a little before that
 * time, a bounded number of pages, then the whole stream newest first if it was not there.
 */
import { parseArgs } from "node:util";
import { connectRedis, errorMessage, type Redis, redactUrl } from "@meshtune/adapters";
import { DEFAULT_PREFIX, type Decision, DecisionSchema, redisKeys } from "@meshtune/contracts";
import { formatExplanation, parseDecisionId } from "@meshtune/engine";
import type { RedisLike } from "./store.js";

export const EXPLAIN_HELP = `Usage: meshtune explain <decision-id> [options]

Prints one engine decision as an SRE needs it: what was decided on which endpoint and whether it
was applied, dry-run or blocked; the rule and its reason; the window figures it used (and how
many proxies reported them); what each guardrail did; and what would have happened without it.
Decision ids look like <cluster>.<yyyymmddThhmmssZ>.<hash> (Kafka events and the decision
stream carry them).

Options:
      --redis-url URL   redis://host:port or redis+cluster://h1:p1,h2:p2 (env REDIS_URL; default redis://127.0.0.1:6379)
      --prefix P        Redis key prefix (env MESHTUNE_REDIS_PREFIX; default ${DEFAULT_PREFIX})
      --json            Print the decision as JSON instead of text
  -h, --help            Show this help

Exit status: 0 found, 1 not found or Redis unreachable, 2 bad usage.`;

type Entry = [string, string[]];
const PAGE = 500;
const MAX_PAGES = 200;

function decode(entry: Entry): Decision | undefined {
  const f = entry[1];
  for (let i = 0; i + 1 < f.length; i += 2) {
    if (f[i] !== "d") continue;
    try {
      const d = DecisionSchema.safeParse(JSON.parse(f[i + 1] ?? ""));
      return d.success ? d.data : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Finds a decision by id; undefined when the stream does not hold it (trimmed or never written). */
export async function findDecision(
  redis: RedisLike,
  id: string,
  prefix?: string,
): Promise<{ decision: Decision; streamId: string } | undefined> {
  const parsed = parseDecisionId(id);
  if (!parsed) return undefined;
  const key = redisKeys(prefix).decisions(parsed.cluster);
  const match = (entries: Entry[]) => {
    for (const e of entries) {
      const d = decode(e);
      if (d?.id === id) return { decision: d, streamId: e[0] };
    }
    return undefined;
  };
  // Forward from a minute before the evaluation time (the stream id is the write time).
  let start = `${Math.max(0, parsed.at - 60_000)}`;
  for (let page = 0; page < MAX_PAGES; page++) {
    const entries = (await redis.xrange(key, start, "+", "COUNT", PAGE)) as Entry[];
    const hit = match(entries);
    if (hit) return hit;
    if (entries.length < PAGE) break;
    start = `(${entries[entries.length - 1]?.[0]}`;
  }
  // Not near its time (clock skew, a job retried much later): the whole stream, newest first.
  let end = "+";
  for (let page = 0; page < MAX_PAGES; page++) {
    const entries = (await redis.xrevrange(key, end, "-", "COUNT", PAGE)) as Entry[];
    const hit = match(entries);
    if (hit) return hit;
    if (entries.length < PAGE) break;
    end = `(${entries[entries.length - 1]?.[0]}`;
  }
  return undefined;
}

const OPTIONS = {
  "redis-url": { type: "string" },
  prefix: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const parse = (argv: string[]) => parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });

export interface ExplainIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function runExplain(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ExplainIo = { out: (t) => console.log(t), err: (t) => console.error(t) },
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`meshtune explain: ${errorMessage(err)}\n\n${EXPLAIN_HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(EXPLAIN_HELP);
    return 0;
  }
  const id = parsed.positionals[0];
  if (!id || parsed.positionals.length > 1) {
    io.err(`meshtune explain: give exactly one decision id\n\n${EXPLAIN_HELP}`);
    return 2;
  }
  if (!parseDecisionId(id)) {
    io.err(`meshtune explain: '${id}' is not a decision id (expected <cluster>.<yyyymmddThhmmssZ>.<12 hex>)`);
    return 2;
  }
  const url = parsed.values["redis-url"] ?? env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const prefix = parsed.values.prefix ?? env.MESHTUNE_REDIS_PREFIX ?? DEFAULT_PREFIX;
  const redis = connectRedis(url, {
    name: "meshtune-explain",
    ioredis: { maxRetriesPerRequest: 1, retryStrategy: () => null },
  });
  redis.on("error", () => {});
  try {
    const found = await findDecision(redis, id, prefix);
    if (!found) {
      io.err(
        `meshtune explain: decision ${id} not found in the decision stream of cluster '${parseDecisionId(id)?.cluster}' (prefix ${prefix}); it may have been trimmed.`,
      );
      return 1;
    }
    io.out(
      parsed.values.json
        ? JSON.stringify(found.decision, null, 2)
        : `${formatExplanation(found.decision)}\n\n(stream entry ${found.streamId})`,
    );
    return 0;
  } catch (err) {
    io.err(`meshtune explain: Redis at ${redactUrl(url)}: ${errorMessage(err)}`);
    return 1;
  } finally {
    await (redis as Redis).quit().catch(() => redis.disconnect());
  }
}
