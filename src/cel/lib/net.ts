/**
 * Kubernetes IP and CIDR libraries (library/ip.go, library/cidr.go, 1.30+): `ip(s)`, `isIP(s)`,
 * `ip.isCanonical(s)`, IP `family()`, `isUnspecified()`, `isLoopback()`, `isLinkLocalMulticast()`,
 * `isLinkLocalUnicast()`, `isGlobalUnicast()`, `string(ip)`; `cidr(s)`, `isCIDR(s)`, CIDR
 * `containsIP(ip|string)`, `containsCIDR(cidr|string)`, `ip()`, `masked()`, `prefixLength()`,
 * `string(cidr)`. Parsing follows Go's netip strictness (no IPv4 leading zeros, no zones) and
 * Kubernetes' rule that IPv4-mapped IPv6 addresses are rejected.
 */
import { traversalCost } from "../cost.ts";
import { fn, method, type Overload } from "../functions.ts";
import { actualSize, OpaqueValue, type Val } from "../values.ts";
import { v } from "../version.ts";

const V1_30 = v(1, 30);

/** An IP address: 4 or 16 bytes as a bigint. */
export class IPAddr extends OpaqueValue {
  readonly typeName = "net.IP";
  readonly bits: 32 | 128;
  readonly value: bigint;
  constructor(bits: 32 | 128, value: bigint) {
    super();
    this.bits = bits;
    this.value = value;
  }
  equals(o: unknown): boolean {
    return o instanceof IPAddr && o.bits === this.bits && o.value === this.value;
  }
  override toString(): string {
    return formatIP(this);
  }
}

/** A CIDR prefix. */
export class CIDR extends OpaqueValue {
  readonly typeName = "net.CIDR";
  readonly ip: IPAddr;
  readonly prefix: number;
  constructor(ip: IPAddr, prefix: number) {
    super();
    this.ip = ip;
    this.prefix = prefix;
  }
  equals(o: unknown): boolean {
    return o instanceof CIDR && o.ip.equals(this.ip) && o.prefix === this.prefix;
  }
  override toString(): string {
    return `${formatIP(this.ip)}/${this.prefix}`;
  }
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out = (out << 8n) | BigInt(p);
  }
  return out;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes("%")) return undefined;
  let head = s;
  let tail = "";
  const dbl = s.indexOf("::");
  if (dbl >= 0) {
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
    if (tail.includes("::")) return undefined;
  }
  const groups = (x: string): number[] | undefined => {
    if (x === "") return [];
    const out: number[] = [];
    const parts = x.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) out.push(Number.parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  if (h === undefined || t === undefined) return undefined;
  if (dbl < 0 && h.length !== 8) return undefined;
  if (dbl >= 0 && h.length + t.length > 7) return undefined;
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses an IP; returns an error message when invalid. */
export function parseIP(s: string): IPAddr | string {
  if (s.includes(":")) {
    const v6 = parseV6(s);
    if (v6 === undefined)
      return `IP Address "${s}" parse error during conversion from string: ParseAddr("${s}"): invalid IP address`;
    if (v6 >> 32n === 0xffffn) return `IPv4-mapped IPv6 address "${s}" is not allowed`;
    return new IPAddr(128, v6);
  }
  const v4 = parseV4(s);
  if (v4 === undefined)
    return `IP Address "${s}" parse error during conversion from string: ParseAddr("${s}"): invalid IP address`;
  return new IPAddr(32, v4);
}

/** Parses a CIDR; returns an error message when invalid. */
export function parseCIDR(s: string): CIDR | string {
  const slash = s.indexOf("/");
  if (slash < 0)
    return `network address parse error during conversion from string: netip.ParsePrefix("${s}"): no '/'`;
  const ip = parseIP(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (typeof ip === "string") return ip;
  if (!/^(0|[1-9]\d*)$/.test(p) || Number(p) > ip.bits) {
    return `network address parse error during conversion from string: netip.ParsePrefix("${s}"): bad bits after slash: "${p}"`;
  }
  return new CIDR(ip, Number(p));
}

/** Canonical text of an IP (RFC 5952 for IPv6). */
export function formatIP(ip: IPAddr): string {
  if (ip.bits === 32) {
    return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join(".");
  }
  const g = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

function mask(ip: IPAddr, prefix: number): bigint {
  const bits = BigInt(ip.bits);
  const m = ((1n << BigInt(prefix)) - 1n) << (bits - BigInt(prefix));
  return ip.value & m;
}

function contains(c: CIDR, ip: IPAddr): boolean {
  return c.ip.bits === ip.bits && mask(c.ip, c.prefix) === mask(ip, c.prefix);
}

const IP = "net.IP";
const C = "net.CIDR";
const strCost = (a: Val[]) => Math.max(1, traversalCost(actualSize(a[0])));
const orErr = <T>(x: T | string): T | Error => (typeof x === "string" ? new Error(x) : x);

function isV4(ip: IPAddr, prefix: bigint, len: number): boolean {
  return ip.bits === 32 && ip.value >> BigInt(32 - len) === prefix >> BigInt(32 - len);
}
function isV6(ip: IPAddr, prefix: bigint, len: number): boolean {
  return ip.bits === 128 && ip.value >> BigInt(128 - len) === prefix >> BigInt(128 - len);
}

/** The IP and CIDR library overloads. */
export const netOverloads: Overload[] = [
  fn("ip", ["string"], IP, V1_30, ([s]) => orErr(parseIP(s as string)), { cost: strCost }),
  fn("isIP", ["string"], "bool", V1_30, ([s]) => typeof parseIP(s as string) !== "string", { cost: strCost }),
  fn(
    "ip.isCanonical",
    ["string"],
    "bool",
    V1_30,
    ([s]) => {
      const ip = parseIP(s as string);
      return typeof ip === "string" ? new Error(ip) : formatIP(ip) === s;
    },
    { cost: strCost },
  ),
  fn("string", [IP], "string", V1_30, ([ip]) => formatIP(ip as IPAddr)),
  method<IPAddr>("family", IP, [], "int", V1_30, (ip) => (ip.bits === 32 ? 4n : 6n)),
  method<IPAddr>("isUnspecified", IP, [], "bool", V1_30, (ip) => ip.value === 0n),
  method<IPAddr>("isLoopback", IP, [], "bool", V1_30, (ip) =>
    ip.bits === 32 ? isV4(ip, 0x7f000000n, 8) : ip.value === 1n,
  ),
  method<IPAddr>("isLinkLocalMulticast", IP, [], "bool", V1_30, (ip) =>
    ip.bits === 32 ? isV4(ip, 0xe0000000n, 24) : isV6(ip, 0xff02n << 112n, 16),
  ),
  method<IPAddr>("isLinkLocalUnicast", IP, [], "bool", V1_30, (ip) =>
    ip.bits === 32 ? isV4(ip, 0xa9fe0000n, 16) : isV6(ip, 0xfe80n << 112n, 10),
  ),
  method<IPAddr>("isGlobalUnicast", IP, [], "bool", V1_30, (ip) => {
    if (ip.value === 0n) return false;
    if (ip.bits === 32) {
      return !(
        isV4(ip, 0x7f000000n, 8) ||
        isV4(ip, 0xe0000000n, 4) ||
        isV4(ip, 0xa9fe0000n, 16) ||
        ip.value === 0xffffffffn
      );
    }
    return !(ip.value === 1n || isV6(ip, 0xffn << 120n, 8) || isV6(ip, 0xfe80n << 112n, 10));
  }),
  fn("cidr", ["string"], C, V1_30, ([s]) => orErr(parseCIDR(s as string)), { cost: strCost }),
  fn("isCIDR", ["string"], "bool", V1_30, ([s]) => typeof parseCIDR(s as string) !== "string", {
    cost: strCost,
  }),
  fn("string", [C], "string", V1_30, ([c]) => String(c)),
  method<CIDR>("containsIP", C, [IP], "bool", V1_30, (c, [ip]) => contains(c, ip as IPAddr)),
  method<CIDR>("containsIP", C, ["string"], "bool", V1_30, (c, [s]) => {
    const ip = parseIP(s as string);
    return typeof ip === "string" ? new Error(ip) : contains(c, ip);
  }),
  method<CIDR>("containsCIDR", C, [C], "bool", V1_30, (c, [o]) => {
    const other = o as CIDR;
    return other.prefix >= c.prefix && contains(c, other.ip);
  }),
  method<CIDR>("containsCIDR", C, ["string"], "bool", V1_30, (c, [s]) => {
    const other = parseCIDR(s as string);
    if (typeof other === "string") return new Error(other);
    return other.prefix >= c.prefix && contains(c, other.ip);
  }),
  method<CIDR>("ip", C, [], IP, V1_30, (c) => c.ip),
  method<CIDR>(
    "masked",
    C,
    [],
    C,
    V1_30,
    (c) => new CIDR(new IPAddr(c.ip.bits, mask(c.ip, c.prefix)), c.prefix),
  ),
  method<CIDR>("prefixLength", C, [], "int", V1_30, (c) => BigInt(c.prefix)),
];
