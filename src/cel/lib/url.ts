/**
 * Kubernetes URL library (library/urls.go): `url(s)` (an absolute URI or an absolute path, as
 * Go's `url.ParseRequestURI` accepts), `isURL(s)`, and on URL `getScheme()`, `getHost()`,
 * `getHostname()`, `getPort()`, `getEscapedPath()`, `getQuery()`.
 */
import { traversalCost } from "../cost.ts";
import { fn, method, type Overload } from "../functions.ts";
import { actualSize, BelayMap, list, OpaqueValue, type Val } from "../values.ts";
import { v } from "../version.ts";

const V1_0 = v(1, 0);

/** A parsed URL. */
export class K8sUrl extends OpaqueValue {
  readonly typeName = "kubernetes.URL";
  readonly scheme: string;
  readonly host: string;
  readonly path: string;
  readonly rawQuery: string;
  readonly text: string;
  constructor(text: string, scheme: string, host: string, path: string, rawQuery: string) {
    super();
    this.text = text;
    this.scheme = scheme;
    this.host = host;
    this.path = path;
    this.rawQuery = rawQuery;
  }
  equals(o: unknown): boolean {
    return o instanceof K8sUrl && o.text === this.text;
  }
  override toString(): string {
    return this.text;
  }
}

function hasControlOrSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Parses as Go's url.ParseRequestURI; returns an error message when invalid. */
export function parseUrl(s: string): K8sUrl | string {
  const bad = `URL parse error during conversion from string: parse "${s}": invalid URI for request`;
  if (s === "" || hasControlOrSpace(s)) return bad;
  const noFrag = s;
  const qi = noFrag.indexOf("?");
  const rest = qi >= 0 ? noFrag.slice(0, qi) : noFrag;
  const rawQuery = qi >= 0 ? noFrag.slice(qi + 1) : "";
  if (rest.startsWith("/")) return new K8sUrl(s, "", "", rest, rawQuery);
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/.exec(rest);
  if (m === null) return bad;
  const scheme = (m[1] as string).toLowerCase();
  const after = m[2] as string;
  if (!after.startsWith("//")) {
    if (!after.startsWith("/")) return bad;
    return new K8sUrl(s, scheme, "", after, rawQuery);
  }
  const auth = after.slice(2);
  const slash = auth.indexOf("/");
  let host = slash >= 0 ? auth.slice(0, slash) : auth;
  const path = slash >= 0 ? auth.slice(slash) : "";
  const at = host.lastIndexOf("@");
  if (at >= 0) host = host.slice(at + 1);
  if (host.startsWith("[") && !/^\[[0-9A-Fa-f:.%a-zA-Z]+\](:\d*)?$/.test(host)) return bad;
  if (!host.startsWith("[") && /:[^0-9]/.test(host)) return bad;
  return new K8sUrl(s, scheme, host, path, rawQuery);
}

function hostname(u: K8sUrl): string {
  if (u.host.startsWith("[")) return u.host.slice(1, u.host.indexOf("]"));
  const c = u.host.lastIndexOf(":");
  return c >= 0 ? u.host.slice(0, c) : u.host;
}

function port(u: K8sUrl): string {
  const h = u.host.startsWith("[") ? u.host.slice(u.host.indexOf("]") + 1) : u.host;
  const c = h.lastIndexOf(":");
  return c >= 0 ? h.slice(c + 1) : "";
}

function escapedPath(p: string): string {
  return p.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, (ch) =>
    Array.from(new TextEncoder().encode(ch), (b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(
      "",
    ),
  );
}

function query(raw: string): Val {
  const m = new Map<string, string[]>();
  if (raw !== "") {
    for (const part of raw.split("&")) {
      if (part === "" || part.includes(";")) continue;
      const eq = part.indexOf("=");
      const dec = (x: string) => {
        try {
          return decodeURIComponent(x.replace(/\+/g, " "));
        } catch {
          return undefined;
        }
      };
      const k = dec(eq >= 0 ? part.slice(0, eq) : part);
      const val = dec(eq >= 0 ? part.slice(eq + 1) : "");
      if (k === undefined || val === undefined) continue;
      m.set(k, [...(m.get(k) ?? []), val]);
    }
  }
  const out = new BelayMap();
  for (const [k, vs] of m) out.setEntry(k, list(vs));
  return out.asCel();
}

const U = "kubernetes.URL";
const strCost = (a: Val[]) => Math.max(1, traversalCost(actualSize(a[0])));

/** The URL library overloads. */
export const urlOverloads: Overload[] = [
  fn(
    "url",
    ["string"],
    U,
    V1_0,
    ([s]) => {
      const u = parseUrl(s as string);
      return typeof u === "string" ? new Error(u) : u;
    },
    { cost: strCost },
  ),
  fn("isURL", ["string"], "bool", V1_0, ([s]) => typeof parseUrl(s as string) !== "string", {
    cost: strCost,
  }),
  method<K8sUrl>("getScheme", U, [], "string", V1_0, (u) => u.scheme),
  method<K8sUrl>("getHost", U, [], "string", V1_0, (u) => u.host),
  method<K8sUrl>("getHostname", U, [], "string", V1_0, (u) => hostname(u)),
  method<K8sUrl>("getPort", U, [], "string", V1_0, (u) => port(u)),
  method<K8sUrl>("getEscapedPath", U, [], "string", V1_0, (u) => escapedPath(u.path)),
  method<K8sUrl>("getQuery", U, [], "map", V1_0, (u) => query(u.rawQuery)),
];
