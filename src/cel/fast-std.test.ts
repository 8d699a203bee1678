import { celEnv } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { describe, expect, it } from "vitest";
import { CostTracker } from "./cost.ts";
import { FAST_STD } from "./fast-std.ts";
import { stdCallCost } from "./interpreter.ts";
import { allOverloads } from "./libraries.ts";
import { BelayList, type Val, type ValOrErr, valEquals } from "./values.ts";

// The shortcuts must be invisible: same value and same cost as the general path they skip
// (the library's overload resolution and stdCallCost, or a belay overload's impl and cost).
const STD = celEnv({ funcs: strings }).funcs as unknown as {
  find(name: string): { call(id: number, target: unknown, args: unknown[]): ValOrErr | undefined };
};

const list = (...items: Val[]) => new BelayList(items).asCel() as Val;
const long = "é".repeat(37);

const cases: [name: string, target: Val | undefined, args: Val[]][] = [
  ["!_", undefined, [true]],
  ["!_", undefined, [false]],
  ["size", undefined, [list(1n, 2n, 3n)]],
  ["size", list(), []],
  ["_<_", undefined, [1n, 2n]],
  ["_<=_", undefined, [2n, 2n]],
  ["_>_", undefined, [-1n, 2n]],
  ["_>=_", undefined, [1.5, 1.5]],
  ["_<_", undefined, [Number.NaN, 1]],
  ["_<_", undefined, ["abc", "abd"]],
  ["_>_", undefined, [long, `${long}x`]],
  ["_+_", undefined, ["a", long]],
  ["string", undefined, [long]],
  ["trim", " \u2003 a b\t\u3000", []],
  ["trim", "   ", []],
  ["startsWith", long, ["é"]],
  ["endsWith", "registry.example.com/app", ["/app"]],
  ["contains", long, ["éé"]],
  ["contains", "", [""]],
];

describe("standard-library shortcuts", () => {
  it.each(cases)("%s on %o %o answers as the library does", (name, target, args) => {
    const fast = FAST_STD.get(name);
    if (fast === undefined) throw new Error(`no shortcut for ${name}`);
    const tracker = new CostTracker(1_000_000, undefined);
    const got = fast(tracker, target, args);
    const expected = STD.find(name)?.call(1, target, args);
    expect(got).toEqual(expected);
    expect(tracker.cost).toBe(stdCallCost(name, target !== undefined ? [target, ...args] : args));
  });

  it.each([
    ["!_", undefined, [1n]],
    ["size", undefined, ["abc"]],
    ["_<_", undefined, [1n, 1.5]],
    ["_+_", undefined, [1n, 2n]],
    ["trim", undefined, ["a"]],
    ["startsWith", "a", [1n]],
  ] as [string, Val | undefined, Val[]][])(
    "%s on %o %o leaves other types to the general path",
    (name, target, args) => {
      const tracker = new CostTracker(1_000_000, undefined);
      expect(FAST_STD.get(name)?.(tracker, target, args)).toBeUndefined();
      expect(tracker.cost).toBe(0);
    },
  );
});

describe("belay overload shortcuts", () => {
  const overload = (name: string) => {
    const o = allOverloads.find((x) => x.name === name && x.args.length === 2 && x.target === undefined);
    if (o?.fast2 === undefined) throw new Error(`no shortcut on ${name}`);
    return o as typeof o & { fast2: NonNullable<typeof o.fast2> };
  };
  const ctx = { tracker: new CostTracker(1_000_000, undefined), authorizer: undefined, regex: () => "" };

  it.each([
    ["_==_", "abc", "abc"],
    ["_==_", long, "x"],
    ["_!=_", 1n, 2n],
    ["_!=_", true, true],
    ["_+_", list(1n), list("a", "b")],
  ] as [string, Val, Val][])("%s(%o, %o) answers as the overload does", (name, a, b) => {
    const o = overload(name);
    const tracker = new CostTracker(1_000_000, undefined);
    const got = o.fast2(tracker, a, b);
    const expected = o.impl(ctx, undefined, [a, b]);
    expect(got === undefined).toBe(false);
    expect(valEquals(got as Val, expected as Val)).toBe(true);
    expect(tracker.cost).toBe(o.cost !== undefined ? o.cost([a, b]) : 1);
  });

  it.each([
    ["_==_", 1n, 1.0],
    ["_==_", list(), list()],
    ["_+_", "a", "b"],
  ] as [string, Val, Val][])("%s(%o, %o) is left to the general path", (name, a, b) => {
    const tracker = new CostTracker(1_000_000, undefined);
    expect(overload(name).fast2(tracker, a, b)).toBeUndefined();
    expect(tracker.cost).toBe(0);
  });
});
