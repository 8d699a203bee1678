/**
 * Kubernetes regex library (library/regex.go): `s.find(re)` → first match or "",
 * `s.findAll(re)` and `s.findAll(re, limit)` → matches (all when limit < 0). RE2 semantics via
 * re2js (linear time: no catastrophic backtracking); compiled patterns are cached.
 */
import { method, type Overload } from "../functions.ts";
import { list } from "../values.ts";
import { v } from "../version.ts";
import { regexCost } from "./core.ts";

const V1_0 = v(1, 0);

/** The regex library overloads. */
export const regexOverloads: Overload[] = [
  method<string>(
    "find",
    "string",
    ["string"],
    "string",
    V1_0,
    (s, [re], ctx) => {
      const h = ctx.regex(re as string);
      return typeof h === "string" ? new Error(h) : (h.find(s) ?? "");
    },
    { cost: regexCost, regexArgs: [0] },
  ),
  method<string>(
    "findAll",
    "string",
    ["string"],
    "list",
    V1_0,
    (s, [re], ctx) => {
      const h = ctx.regex(re as string);
      return typeof h === "string" ? new Error(h) : list(h.findAll(s, -1));
    },
    { cost: regexCost, regexArgs: [0] },
  ),
  method<string>(
    "findAll",
    "string",
    ["string", "int"],
    "list",
    V1_0,
    (s, [re, limit], ctx) => {
      const h = ctx.regex(re as string);
      return typeof h === "string" ? new Error(h) : list(h.findAll(s, Number(limit as bigint)));
    },
    { cost: regexCost, regexArgs: [0] },
  ),
];
