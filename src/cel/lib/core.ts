/**
 * Core overloads belay implements itself rather than delegating to `@bufbuild/cel`: equality,
 * membership and list concatenation (they must understand belay's opaque and collection
 * values), and `matches` (RE2 through re2js with a compiled-pattern cache).
 */

import type { CelList, CelMap } from "@bufbuild/cel";
import { isCelList, isCelMap } from "@bufbuild/cel";
import { REGEX_STRING_LENGTH_COST_FACTOR, STRING_TRAVERSAL_COST_FACTOR, traversalCost } from "../cost.ts";
import { fn, method, type Overload } from "../functions.ts";
import { actualSize, listConcat, mapGet, type Val, valEquals } from "../values.ts";
import { v } from "../version.ts";

const V1_0 = v(1, 0);

function equalityCost(args: Val[]): number {
  if (typeof args[0] === "string" || args[0] instanceof Uint8Array) {
    return Math.max(1, traversalCost(Math.min(actualSize(args[0]), actualSize(args[1]))));
  }
  return 1;
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
  fn("_==_", ["dyn", "dyn"], "bool", V1_0, ([a, b]) => valEquals(a as Val, b as Val), { cost: equalityCost }),
  fn("_!=_", ["dyn", "dyn"], "bool", V1_0, ([a, b]) => !valEquals(a as Val, b as Val), {
    cost: equalityCost,
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
  fn("_+_", ["list", "list"], "list", V1_0, ([a, b]) => listConcat(a as CelList, b as CelList)),
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
