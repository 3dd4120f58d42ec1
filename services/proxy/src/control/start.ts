/** Starts the proxy's config client (loaded on demand: see options.ts). */
import { type Logger, type RefusalKind, redactUrl } from "@meshtune/adapters";
import type { EgressProxy } from "@meshtune/dataplane";
import { type ControlClient, startControlClient } from "./client.js";
import type { ControlSettings } from "./options.js";

/** Starts the config client for a started proxy; never logs the key or the URL's password. */
export function startProxyControl(
  proxy: EgressProxy,
  s: ControlSettings,
  logger: Logger,
  onRefused?: (kind: RefusalKind) => void,
): Promise<ControlClient> {
  logger.info({ redis: redactUrl(s.redisUrl), signed: s.keys.length > 0 }, "following control snapshots");
  return startControlClient(
    { clusters: () => [...proxy.clusters.keys()], applyControl: (input) => proxy.applyControl(input) },
    {
      redisUrl: s.redisUrl,
      prefix: s.prefix,
      proxyId: proxy.id,
      keys: s.keys,
      checkIntervalMs: s.checkIntervalMs,
      logger: logger.child({ component: "control" }),
      onRefused,
    },
  );
}
