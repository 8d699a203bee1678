/**
 * Kubernetes quantity library (library/quantity.go, 1.28+): `quantity(s)`, `isQuantity(s)`,
 * and on Quantity `sign()`, `isInteger()`, `asInteger()`, `asApproximateFloat()`,
 * `add(q|int)`, `sub(q|int)`, `isLessThan(q)`, `isGreaterThan(q)`, `compareTo(q)`; `==` compares
 * values (`quantity('1k') == quantity('1000')`). Values are exact: a bigint count of nano-units
 * (Kubernetes rounds quantities up to nano precision).
 */

import { traversalCost } from "../cost.ts";
import { fn, method, type Overload } from "../functions.ts";
import { actualSize, OpaqueValue, type Val } from "../values.ts";
import { v } from "../version.ts";

const V1_28 = v(1, 28);
const NANO = 1_000_000_000n;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** A Kubernetes resource quantity. */
export class Quantity extends OpaqueValue {
  readonly typeName = "kubernetes.Quantity";
  /** Value in units of 1e-9. */
  readonly nanos: bigint;
  readonly text: string;
  constructor(nanos: bigint, text: string) {
    super();
    this.nanos = nanos;
    this.text = text;
  }
  equals(o: unknown): boolean {
    return o instanceof Quantity && o.nanos === this.nanos;
  }
  compare(o: Val): number | string {
    if (!(o instanceof Quantity)) return "no such overload";
    return this.nanos < o.nanos ? -1 : this.nanos > o.nanos ? 1 : 0;
  }
  override toString(): string {
    return this.text;
  }
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n === b > 0n ? q + 1n : q;
}

const QUANTITY_CACHE_LIMIT = 1024;
const parsedQuantities = new Map<string, Quantity | string>();

/**
 * Parses a quantity as `resource.ParseQuantity` does; returns an error message when invalid.
 * Results are cached process-wide (quantities are immutable): policies parse the same few
 * limits and params for every container of every request.
 */
export function parseQuantity(s: string): Quantity | string {
  const hit = parsedQuantities.get(s);
  if (hit !== undefined) return hit;
  const parsed = parseQuantityUncached(s);
  if (parsedQuantities.size >= QUANTITY_CACHE_LIMIT)
    parsedQuantities.delete(parsedQuantities.keys().next().value as string);
  parsedQuantities.set(s, parsed);
  return parsed;
}

function parseQuantityUncached(s: string): Quantity | string {
  const m = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/.exec(s);
  if (m === null)
    return "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
  const [, sign, num = "", suffix = ""] = m;
  const [ip = "", fp = ""] = num.split(".");
  let mant = BigInt(`${ip || "0"}${fp}`);
  let exp10 = -fp.length;
  let mult = 1n;
  if (suffix in BINARY) mult = BINARY[suffix] as bigint;
  else if (/^[eE]/.test(suffix)) exp10 += Number(suffix.slice(1));
  else exp10 += DECIMAL[suffix] ?? 0;
  if (Math.abs(exp10) > 1000) return "quantity exponent out of range";
  mant *= mult;
  // nanos = mant * 10^(exp10 + 9), rounded up (away from zero for the magnitude) as Kubernetes does.
  const e = exp10 + 9;
  let nanos = e >= 0 ? mant * 10n ** BigInt(e) : ceilDiv(mant, 10n ** BigInt(-e));
  if (sign === "-") nanos = -nanos;
  return new Quantity(nanos, s);
}

function fromNanos(n: bigint): Quantity {
  const whole = n / NANO;
  const frac = n % NANO;
  const text = frac === 0n ? `${whole}` : `${n}n`;
  return new Quantity(n, text);
}

const Q = "kubernetes.Quantity";
const parseCost = (a: Val[]) => Math.max(1, traversalCost(actualSize(a[0])));

/** The quantity library overloads. */
export const quantityOverloads: Overload[] = [
  fn(
    "quantity",
    ["string"],
    Q,
    V1_28,
    ([s]) => {
      const q = parseQuantity(s as string);
      return typeof q === "string" ? new Error(q) : q;
    },
    { cost: parseCost },
  ),
  fn("isQuantity", ["string"], "bool", V1_28, ([s]) => typeof parseQuantity(s as string) !== "string", {
    cost: parseCost,
  }),
  method<Quantity>("sign", Q, [], "int", V1_28, (q) => (q.nanos > 0n ? 1n : q.nanos < 0n ? -1n : 0n)),
  method<Quantity>(
    "isInteger",
    Q,
    [],
    "bool",
    V1_28,
    (q) => q.nanos % NANO === 0n && q.nanos / NANO <= INT64_MAX && q.nanos / NANO >= INT64_MIN,
  ),
  method<Quantity>("asInteger", Q, [], "int", V1_28, (q) => {
    const w = q.nanos / NANO;
    if (q.nanos % NANO !== 0n || w > INT64_MAX || w < INT64_MIN)
      return new Error("cannot convert value to integer");
    return w;
  }),
  method<Quantity>("asApproximateFloat", Q, [], "double", V1_28, (q) => Number(q.nanos) / 1e9),
  method<Quantity>("add", Q, [Q], Q, V1_28, (q, [o]) => fromNanos(q.nanos + (o as Quantity).nanos)),
  method<Quantity>("add", Q, ["int"], Q, V1_28, (q, [o]) => fromNanos(q.nanos + (o as bigint) * NANO)),
  method<Quantity>("sub", Q, [Q], Q, V1_28, (q, [o]) => fromNanos(q.nanos - (o as Quantity).nanos)),
  method<Quantity>("sub", Q, ["int"], Q, V1_28, (q, [o]) => fromNanos(q.nanos - (o as bigint) * NANO)),
  method<Quantity>("isLessThan", Q, [Q], "bool", V1_28, (q, [o]) => q.nanos < (o as Quantity).nanos),
  method<Quantity>("isGreaterThan", Q, [Q], "bool", V1_28, (q, [o]) => q.nanos > (o as Quantity).nanos),
  method<Quantity>("compareTo", Q, [Q], "int", V1_28, (q, [o]) => BigInt(q.compare(o as Val) as number)),
];
