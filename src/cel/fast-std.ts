/**
 * Shortcuts for the standard-library calls policies make most (`!x`, `size(list)`, integer and
 * string comparisons, string `+`, `trim`, `startsWith`, …) on the argument types they almost
 * always have. `@bufbuild/cel`'s resolver finds an overload by computing every argument's CEL
 * type against each candidate in turn, which was most of a call's time. A shortcut gives
 * exactly the library's result and charges exactly what {@link stdCallCost} would; for any
 * other argument types it returns undefined and the interpreter takes the general path.
 */
import { isCelList, isCelMap } from "@bufbuild/cel";
import type { CostTracker } from "./cost.ts";
import { traversalCost } from "./cost.ts";
import { codePointLength, type Val, type ValOrErr } from "./values.ts";

/** A shortcut: charges its cost and returns the result, or undefined to take the general path. */
export type FastCall = (tracker: CostTracker, target: Val | undefined, args: Val[]) => ValOrErr | undefined;

/** Cost of a string traversal of `n` code points, at least 1 (cel-go's string costs). */
function stringCost(n: number): number {
  return Math.max(1, traversalCost(n));
}

function compare(op: (a: bigint | number | string, b: bigint | number | string) => boolean): FastCall {
  return (tracker, target, args) => {
    if (target !== undefined || args.length !== 2) return undefined;
    const a = args[0];
    const b = args[1];
    const ta = typeof a;
    if (ta !== typeof b) return undefined;
    if (ta === "bigint" || ta === "number") {
      tracker.charge(1);
      return op(a as bigint, b as bigint);
    }
    if (ta === "string") {
      tracker.charge(stringCost(Math.min(codePointLength(a as string), codePointLength(b as string))));
      return op(a as string, b as string);
    }
    return undefined;
  };
}

/** Unicode white space as the strings extension's `trim` defines it (ext/strings.js). */
const WHITE_SPACE = new Set([
  0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

function trim(s: string): string {
  let start = 0;
  let end = s.length - 1;
  while (start < s.length && WHITE_SPACE.has(s.charCodeAt(start))) start++;
  while (end > start && WHITE_SPACE.has(s.charCodeAt(end))) end--;
  return s.substring(start, end + 1);
}

function stringMethod(
  cost: (s: string, arg: string) => number,
  f: (s: string, arg: string) => boolean,
): FastCall {
  return (tracker, target, args) => {
    if (typeof target !== "string" || args.length !== 1 || typeof args[0] !== "string") return undefined;
    tracker.charge(cost(target, args[0]));
    return f(target, args[0]);
  };
}

const size: FastCall = (tracker, target, args) => {
  const x =
    target !== undefined ? (args.length === 0 ? target : undefined) : args.length === 1 ? args[0] : undefined;
  if (!isCelList(x) && !isCelMap(x)) return undefined;
  tracker.charge(1);
  return BigInt(x.size);
};

/** Shortcuts by function name; only consulted when no belay overload applies. */
export const FAST_STD: ReadonlyMap<string, FastCall> = new Map<string, FastCall>([
  [
    "!_",
    (tracker, target, args) => {
      if (target !== undefined || args.length !== 1 || typeof args[0] !== "boolean") return undefined;
      tracker.charge(1);
      return !args[0];
    },
  ],
  ["size", size],
  ["_<_", compare((a, b) => a < b)],
  ["_<=_", compare((a, b) => a <= b)],
  ["_>_", compare((a, b) => a > b)],
  ["_>=_", compare((a, b) => a >= b)],
  [
    "_+_",
    (tracker, target, args) => {
      if (target !== undefined || args.length !== 2) return undefined;
      const a = args[0];
      const b = args[1];
      if (typeof a !== "string" || typeof b !== "string") return undefined;
      tracker.charge(stringCost(codePointLength(a) + codePointLength(b)));
      return a + b;
    },
  ],
  [
    "string",
    (tracker, target, args) => {
      if (target !== undefined || args.length !== 1 || typeof args[0] !== "string") return undefined;
      tracker.charge(stringCost(codePointLength(args[0])));
      return args[0];
    },
  ],
  [
    "trim",
    (tracker, target, args) => {
      if (typeof target !== "string" || args.length !== 0) return undefined;
      tracker.charge(stringCost(codePointLength(target)));
      return trim(target);
    },
  ],
  [
    "startsWith",
    stringMethod(
      (_s, p) => stringCost(codePointLength(p)),
      (s, p) => s.startsWith(p),
    ),
  ],
  [
    "endsWith",
    stringMethod(
      (_s, p) => stringCost(codePointLength(p)),
      (s, p) => s.endsWith(p),
    ),
  ],
  [
    "contains",
    stringMethod(
      (s, p) => Math.max(1, traversalCost(codePointLength(s)) * traversalCost(codePointLength(p))),
      (s, p) => s.includes(p),
    ),
  ],
]);
