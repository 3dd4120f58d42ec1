/** Route table: Host header (port ignored, case-insensitive, '*' wildcard) + longest path prefix. */
import type { Route } from "@meshtune/contracts";

export class Router {
  readonly #routes: Route[];
  readonly #fallback: string | undefined;

  constructor(routes: readonly Route[], clusterNames: readonly string[]) {
    // Longest prefix first; exact hosts before the wildcard.
    this.#routes = [...routes].sort(
      (a, b) =>
        Number(a.match.host === "*") - Number(b.match.host === "*") ||
        b.match.pathPrefix.length - a.match.pathPrefix.length,
    );
    // With no routes and a single cluster, everything goes there: the quickstart needs no table.
    this.#fallback = routes.length === 0 && clusterNames.length === 1 ? clusterNames[0] : undefined;
  }

  match(hostHeader: string | undefined, path: string): string | undefined {
    const host = stripPort(hostHeader ?? "").toLowerCase();
    for (const r of this.#routes) {
      if ((r.match.host === "*" || r.match.host.toLowerCase() === host) && path.startsWith(r.match.pathPrefix)) {
        return r.cluster;
      }
    }
    return this.#fallback;
  }
}

function stripPort(h: string): string {
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(1, end) : h;
  }
  const i = h.lastIndexOf(":");
  return i > 0 && h.indexOf(":") === i ? h.slice(0, i) : h;
}
