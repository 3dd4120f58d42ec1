/**
 * The request target (RFC 9112 §3.2): origin-form `/path?q` as sent to an origin, and
 * absolute-form `http://host[:port]/path?q` as clients configured with HTTP_PROXY send it —
 * routed like origin-form, by the authority in the target (which a server must prefer over
 * the Host field, RFC 9112 §3.2.2) and forwarded upstream in origin-form. Authority-form
 * (CONNECT) and asterisk-form (`OPTIONS *`) are refused here; CONNECT itself never reaches
 * the forwarder (the listener answers it, proxy.ts).
 */
export type Target = { ok: true; path: string; authority?: string } | { ok: false; detail: string };

export function parseTarget(url: string): Target {
  if (url.charCodeAt(0) === 47 /* / */) return { ok: true, path: url };
  const scheme = url.indexOf("://");
  if (scheme > 0) {
    const s = url.slice(0, scheme).toLowerCase();
    if (s !== "http" && s !== "https") return { ok: false, detail: `unsupported scheme '${s}' in request target` };
    const rest = url.slice(scheme + 3);
    const cut = firstOf(rest, "/?#");
    const authority = cut < 0 ? rest : rest.slice(0, cut);
    if (authority.length === 0 || authority.includes("@"))
      return { ok: false, detail: "absolute-form target needs a host (and no userinfo)" };
    const tail = cut < 0 ? "" : rest.slice(cut);
    const path = tail.startsWith("/") ? tail : `/${tail}`;
    return { ok: true, path: stripFragment(path), authority };
  }
  return { ok: false, detail: "authority-form and asterisk-form targets are not supported" };
}

function firstOf(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return -1;
}

function stripFragment(p: string): string {
  const i = p.indexOf("#");
  return i < 0 ? p : p.slice(0, i);
}
