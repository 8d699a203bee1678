/**
 * Kubernetes lists library (library/lists.go): `isSorted()`, `sum()`, `min()`, `max()`,
 * `indexOf(x)`, `lastIndexOf(x)` on lists (ListsVersion 0, since 1.0), and from 1.37
 * (ListsVersion 1) `<dyn>.includes(<dyn>)`: true if the target list has an element equal to
 * the argument, or if a non-list target equals it. Each costs one traversal of the target, as
 * in Kubernetes' cost estimator.
 */
import type { CelList } from "@bufbuild/cel";
import { celUint, isCelList } from "@bufbuild/cel";
import { method, type Overload, tagOf } from "../functions.ts";
import { compareValues } from "../interpreter.ts";
import { actualSize, type Val, type ValOrErr, valEquals } from "../values.ts";
import { v } from "../version.ts";

const V1_0 = v(1, 0);
const V1_37 = v(1, 37);
const traverse = (a: Val[]) => Math.max(1, actualSize(a[0]));

function extreme(l: CelList, name: string, sign: number): ValOrErr | Error {
  if (l.size === 0) return new Error(`${name} called on empty list`);
  let best = l.get(0) as Val;
  for (const x of l) {
    const c = compareValues(x as Val, best);
    if (typeof c === "string") return new Error(c);
    if (c * sign > 0) best = x as Val;
  }
  return best;
}

function sum(l: CelList): ValOrErr | Error {
  if (l.size === 0) return 0n;
  const first = l.get(0) as Val;
  const tag = tagOf(first);
  if (tag === "int") {
    let t = 0n;
    for (const x of l) {
      if (typeof x !== "bigint") return new Error(`no such overload: sum of mixed types`);
      t += x;
      if (t > 9223372036854775807n || t < -9223372036854775808n) return new Error("int overflow");
    }
    return t;
  }
  if (tag === "uint") {
    let t = 0n;
    for (const x of l) {
      if (tagOf(x) !== "uint") return new Error(`no such overload: sum of mixed types`);
      t += (x as unknown as { value: bigint }).value;
      if (t > 18446744073709551615n) return new Error("uint overflow");
    }
    return celUint(t) as unknown as Val;
  }
  if (tag === "double") {
    let t = 0;
    for (const x of l) {
      if (typeof x !== "number") return new Error(`no such overload: sum of mixed types`);
      t += x;
    }
    return t;
  }
  return new Error(`no such overload: sum of ${tag}`);
}

/** The Kubernetes lists library overloads. */
export const k8sListsOverloads: Overload[] = [
  method<CelList>(
    "isSorted",
    "list",
    [],
    "bool",
    V1_0,
    (l) => {
      let prev: Val | undefined;
      for (const x of l) {
        if (prev !== undefined) {
          const c = compareValues(prev, x as Val);
          if (typeof c === "string") return new Error(c);
          if (c > 0) return false;
        }
        prev = x as Val;
      }
      return true;
    },
    { cost: traverse },
  ),
  method<CelList>("sum", "list", [], "dyn", V1_0, (l) => sum(l), { cost: traverse }),
  method<CelList>("min", "list", [], "dyn", V1_0, (l) => extreme(l, "min", -1), { cost: traverse }),
  method<CelList>("max", "list", [], "dyn", V1_0, (l) => extreme(l, "max", 1), { cost: traverse }),
  method<CelList>(
    "indexOf",
    "list",
    ["dyn"],
    "int",
    V1_0,
    (l, [x]) => {
      let i = 0n;
      for (const e of l) {
        if (valEquals(e as Val, x as Val)) return i;
        i++;
      }
      return -1n;
    },
    { cost: traverse },
  ),
  method<CelList>(
    "lastIndexOf",
    "list",
    ["dyn"],
    "int",
    V1_0,
    (l, [x]) => {
      for (let i = l.size - 1; i >= 0; i--) if (valEquals(l.get(i) as Val, x as Val)) return BigInt(i);
      return -1n;
    },
    { cost: traverse },
  ),
  method(
    "includes",
    "dyn",
    ["dyn"],
    "bool",
    V1_37,
    (target, [x]) => {
      if (isCelList(target)) {
        for (const e of target) if (valEquals(e as Val, x as Val)) return true;
        return false;
      }
      return valEquals(target, x as Val);
    },
    { cost: traverse },
  ),
];
