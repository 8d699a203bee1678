/**
 * Core overloads belay implements itself rather than delegating to `@bufbuild/cel`: equality,
 * membership and list concatenation (they must understand belay's opaque and collection
 * values), and `matches` (RE2 through re2js with a compiled-pattern cache).
 */

import type { CelList, CelMap } from "@bufbuild/cel";
import { isCelList, isCelMap } from "@bufbuild/cel";
import {
  type CostTracker,
  REGEX_STRING_LENGTH_COST_FACTOR,
  STRING_TRAVERSAL_COST_FACTOR,
  traversalCost,
} from "../cost.ts";
import { fn, method, type Overload } from "../functions.ts";
import {
  actualSize,
  codePointLength,
  listConcat,
  mapGet,
  type Val,
  type ValOrErr,
  valEquals,
} from "../values.ts";
import { v } from "../version.ts";

const V1_0 = v(1, 0);

function equalityCost(args: Val[]): number {
  if (typeof args[0] === "string" || args[0] instanceof Uint8Array) {
    return Math.max(1, traversalCost(Math.min(actualSize(args[0]), actualSize(args[1]))));
  }
  return 1;
}

/**
 * `==` (or `!=` when `negate`) on two strings, ints or bools: what valEquals and equalityCost
 * give, without building the argument array.
 */
function equalityFast(negate: boolean): (tracker: CostTracker, a: Val, b: Val) => ValOrErr | undefined {
  return (tracker, a, b) => {
    const t = typeof a;
    if (t !== typeof b) return undefined;
    if (t === "string") {
      tracker.charge(
        Math.max(1, traversalCost(Math.min(codePointLength(a as string), codePointLength(b as string)))),
      );
      return (a === b) !== negate;
    }
    if (t === "bigint" || t === "boolean") {
      tracker.charge(1);
      return (a === b) !== negate;
    }
    return undefined;
  };
}

/** cel-go's cost of `matches`/`find`/`findAll`: string length × regex length. */
export function regexCost(args: Val[]): number {
  return Math.max(
    1,
    Math.ceil((1 + actualSize(args[0])) * STRING_TRAVERSAL_COST_FACTOR) *
      Math.ceil(actualSize(args[1]) * REGEX_STRING_LENGTH_COST_FACTOR),
  );
}

/** Equality, `in`, list `+` and `matches`. */
export const coreOverloads: Overload[] = [
  fn("_==_", ["dyn", "dyn"], "bool", V1_0, ([a, b]) => valEquals(a as Val, b as Val), {
    cost: equalityCost,
    fast2: equalityFast(false),
  }),
  fn("_!=_", ["dyn", "dyn"], "bool", V1_0, ([a, b]) => !valEquals(a as Val, b as Val), {
    cost: equalityCost,
    fast2: equalityFast(true),
  }),
  fn(
    "@in",
    ["dyn", "list"],
    "bool",
    V1_0,
    ([x, l]) => {
      for (const e of l as CelList) if (valEquals(x as Val, e as Val)) return true;
      return false;
    },
    { cost: (a) => Math.max(1, actualSize(a[1])) },
  ),
  fn("@in", ["dyn", "map"], "bool", V1_0, ([x, m]) => mapGet(m as CelMap, x) !== undefined),
  fn("_+_", ["list", "list"], "list", V1_0, ([a, b]) => listConcat(a as CelList, b as CelList), {
    // The step of every `map` and `filter`: `accumulator + [element]`.
    fast2: (tracker, a, b) => {
      if (!isCelList(a) || !isCelList(b)) return undefined;
      tracker.charge(1);
      return listConcat(a, b);
    },
  }),
  method<string>(
    "matches",
    "string",
    ["string"],
    "bool",
    V1_0,
    (s, [re], ctx) => {
      const h = ctx.regex(re as string);
      return typeof h === "string" ? new Error(h) : h.matches(s);
    },
    { cost: regexCost, regexArgs: [0] },
  ),
  fn(
    "matches",
    ["string", "string"],
    "bool",
    V1_0,
    ([s, re], ctx) => {
      const h = ctx.regex(re as string);
      return typeof h === "string" ? new Error(h) : h.matches(s as string);
    },
    { cost: regexCost, regexArgs: [1] },
  ),
];

export { isCelList, isCelMap };
