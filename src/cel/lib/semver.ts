/**
 * Kubernetes semver library (library/semver.go, SemverVersion(1), 1.33+): `semver(s)`,
 * `semver(s, normalize)`, `isSemver(s)`, `isSemver(s, normalize)`, and on Semver `major()`,
 * `minor()`, `patch()`, `isLessThan(v)`, `isGreaterThan(v)`, `compareTo(v)`. Strict SemVer 2.0
 * parsing; `normalize` strips a leading `v`, fills in missing minor/patch and leading zeros.
 */
import { fn, method, type Overload } from "../functions.ts";
import { OpaqueValue, type Val } from "../values.ts";
import { v } from "../version.ts";

const V1_33 = v(1, 33);
const RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** A semantic version. */
export class Semver extends OpaqueValue {
  readonly typeName = "kubernetes.Semver";
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly pre: string[];
  readonly text: string;
  constructor(major: bigint, minor: bigint, patch: bigint, pre: string[], text: string) {
    super();
    this.major = major;
    this.minor = minor;
    this.patch = patch;
    this.pre = pre;
    this.text = text;
  }
  equals(o: unknown): boolean {
    return o instanceof Semver && this.compare(o) === 0;
  }
  compare(o: Val): number | string {
    if (!(o instanceof Semver)) return "no such overload";
    for (const k of ["major", "minor", "patch"] as const) {
      if (this[k] !== o[k]) return this[k] < o[k] ? -1 : 1;
    }
    if (this.pre.length === 0 || o.pre.length === 0)
      return o.pre.length - this.pre.length === 0 ? 0 : this.pre.length === 0 ? 1 : -1;
    for (let i = 0; i < Math.min(this.pre.length, o.pre.length); i++) {
      const a = this.pre[i] as string;
      const b = o.pre[i] as string;
      if (a === b) continue;
      const na = /^\d+$/.test(a);
      const nb = /^\d+$/.test(b);
      if (na && nb) return BigInt(a) < BigInt(b) ? -1 : 1;
      if (na !== nb) return na ? -1 : 1;
      return a < b ? -1 : 1;
    }
    return this.pre.length - o.pre.length;
  }
  override toString(): string {
    return this.text;
  }
}

function normalize(s: string): string {
  let t = s.startsWith("v") ? s.slice(1) : s;
  const m = /^([0-9.]+)(.*)$/.exec(t);
  if (m === null) return t;
  const nums = (m[1] as string).split(".").filter((x) => x !== "");
  while (nums.length < 3) nums.push("0");
  t = nums.map((n) => n.replace(/^0+(?=\d)/, "")).join(".") + (m[2] as string);
  return t;
}

/** Parses a version; returns an error message when invalid. */
export function parseSemver(s: string, norm = false): Semver | string {
  const text = norm ? normalize(s) : s;
  const m = RE.exec(text);
  if (m === null) return `invalid semver "${s}"`;
  return new Semver(
    BigInt(m[1] as string),
    BigInt(m[2] as string),
    BigInt(m[3] as string),
    m[4] ? m[4].split(".") : [],
    text,
  );
}

const S = "kubernetes.Semver";
const orErr = (x: Semver | string) => (typeof x === "string" ? new Error(x) : x);

/** The semver library overloads. */
export const semverOverloads: Overload[] = [
  fn("semver", ["string"], S, V1_33, ([s]) => orErr(parseSemver(s as string))),
  fn("semver", ["string", "bool"], S, V1_33, ([s, n]) => orErr(parseSemver(s as string, n as boolean))),
  fn("isSemver", ["string"], "bool", V1_33, ([s]) => typeof parseSemver(s as string) !== "string"),
  fn(
    "isSemver",
    ["string", "bool"],
    "bool",
    V1_33,
    ([s, n]) => typeof parseSemver(s as string, n as boolean) !== "string",
  ),
  method<Semver>("major", S, [], "int", V1_33, (x) => x.major),
  method<Semver>("minor", S, [], "int", V1_33, (x) => x.minor),
  method<Semver>("patch", S, [], "int", V1_33, (x) => x.patch),
  method<Semver>("isLessThan", S, [S], "bool", V1_33, (x, [o]) => (x.compare(o as Val) as number) < 0),
  method<Semver>("isGreaterThan", S, [S], "bool", V1_33, (x, [o]) => (x.compare(o as Val) as number) > 0),
  method<Semver>("compareTo", S, [S], "int", V1_33, (x, [o]) =>
    BigInt(Math.sign(x.compare(o as Val) as number)),
  ),
];
