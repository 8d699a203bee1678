/**
 * cel-go extension libraries Kubernetes enables beyond strings (which `@bufbuild/cel` provides):
 * sets (ext/sets.go, 1.29+): `sets.contains`, `sets.equivalent`, `sets.intersects`;
 * lists v3 (ext/lists.go, 1.34+): `lists.range(n)`, `l.slice(i, j)`, `l.flatten()`,
 * `l.flatten(depth)`, `l.distinct()`, `l.reverse()`, `l.sort()`, `l.first()`, `l.last()`
 * (`sortBy` is a macro in the interpreter).
 */
import type { CelList } from "@bufbuild/cel";
import { isCelList } from "@bufbuild/cel";
import { fn, method, type Overload } from "../functions.ts";
import { compareValues, sortValues } from "../interpreter.ts";
import { actualSize, list, OptionalValue, type Val, valEquals } from "../values.ts";
import { v } from "../version.ts";

const V1_29 = v(1, 29);
const V1_34 = v(1, 34);

const contains = (a: CelList, b: CelList): boolean => {
  for (const x of b) {
    let found = false;
    for (const y of a) {
      if (valEquals(x as Val, y as Val)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
};
const product = (a: Val[]) => Math.max(1, actualSize(a[0]) * actualSize(a[1]));

function flatten(l: CelList, depth: number, out: Val[]): void {
  for (const x of l) {
    if (depth > 0 && isCelList(x)) flatten(x, depth - 1, out);
    else out.push(x as Val);
  }
}

/** Sets and lists extension overloads. */
export const extOverloads: Overload[] = [
  fn("sets.contains", ["list", "list"], "bool", V1_29, ([a, b]) => contains(a as CelList, b as CelList), {
    cost: product,
  }),
  fn(
    "sets.equivalent",
    ["list", "list"],
    "bool",
    V1_29,
    ([a, b]) => contains(a as CelList, b as CelList) && contains(b as CelList, a as CelList),
    { cost: product },
  ),
  fn(
    "sets.intersects",
    ["list", "list"],
    "bool",
    V1_29,
    ([a, b]) => {
      for (const x of a as CelList)
        for (const y of b as CelList) if (valEquals(x as Val, y as Val)) return true;
      return false;
    },
    { cost: product },
  ),
  fn(
    "lists.range",
    ["int"],
    "list",
    V1_34,
    ([n]) => {
      const out: Val[] = [];
      for (let i = 0n; i < (n as bigint); i++) out.push(i);
      return list(out);
    },
    { cost: (a) => Math.max(1, Number(a[0] as bigint)) },
  ),
  method<CelList>(
    "slice",
    "list",
    ["int", "int"],
    "list",
    V1_34,
    (l, [s, e]) => {
      const start = Number(s as bigint);
      const end = Number(e as bigint);
      if (start < 0 || end < 0)
        return new Error(`cannot slice(${start}, ${end}), negative indexes not supported`);
      if (start > end)
        return new Error(
          `cannot slice(${start}, ${end}), start index must be less than or equal to end index`,
        );
      if (end > l.size) return new Error(`cannot slice(${start}, ${end}), list is length ${l.size}`);
      return list(Array.from(l).slice(start, end) as Val[]);
    },
    { cost: (a) => Math.max(1, actualSize(a[0])) },
  ),
  method<CelList>(
    "flatten",
    "list",
    [],
    "list",
    V1_34,
    (l) => {
      const out: Val[] = [];
      flatten(l, 1, out);
      return list(out);
    },
    { cost: (a) => Math.max(1, actualSize(a[0])) },
  ),
  method<CelList>(
    "flatten",
    "list",
    ["int"],
    "list",
    V1_34,
    (l, [d]) => {
      if ((d as bigint) < 0n) return new Error("level must be non-negative");
      const out: Val[] = [];
      flatten(l, Number(d as bigint), out);
      return list(out);
    },
    { cost: (a) => Math.max(1, actualSize(a[0])) },
  ),
  method<CelList>(
    "distinct",
    "list",
    [],
    "list",
    V1_34,
    (l) => {
      const out: Val[] = [];
      for (const x of l) if (!out.some((y) => valEquals(x as Val, y))) out.push(x as Val);
      return list(out);
    },
    { cost: (a) => Math.max(1, actualSize(a[0]) * actualSize(a[0])) },
  ),
  method<CelList>("reverse", "list", [], "list", V1_34, (l) => list((Array.from(l) as Val[]).reverse()), {
    cost: (a) => Math.max(1, actualSize(a[0])),
  }),
  method<CelList>(
    "sort",
    "list",
    [],
    "list",
    V1_34,
    (l) => {
      const xs = Array.from(l) as Val[];
      const okay = sortValues(xs);
      if (okay !== true) return new Error(okay);
      return list(xs.sort((a, b) => compareValues(a, b) as number));
    },
    { cost: (a) => Math.max(1, Math.ceil(actualSize(a[0]) * Math.log2(actualSize(a[0]) + 1))) },
  ),
  method<CelList>("first", "list", [], "optional_type", V1_34, (l) =>
    l.size > 0 ? OptionalValue.of(l.get(0) as Val) : OptionalValue.NONE,
  ),
  method<CelList>("last", "list", [], "optional_type", V1_34, (l) =>
    l.size > 0 ? OptionalValue.of(l.get(l.size - 1) as Val) : OptionalValue.NONE,
  ),
];
