import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { ObjectMemo } from "./object-memo.ts";

describe("ObjectMemo", () => {
  it("remembers a value per object identity, computed once", () => {
    const memo = new ObjectMemo<object, number>("test");
    const a = { x: 1 };
    const b = { x: 1 };
    let calls = 0;
    const compute = () => ++calls;
    expect(memo.getOrCompute(a, compute)).toBe(1);
    expect(memo.getOrCompute(a, compute)).toBe(1);
    expect(memo.getOrCompute(b, compute)).toBe(2);
    expect(memo.get({ x: 1 })).toBeUndefined();
  });

  it("is invisible to JSON, key listing, spreads and deep equality", () => {
    const memo = new ObjectMemo<Record<string, unknown>, string>("test");
    const object: Record<string, unknown> = { kind: "Pod", spec: { containers: [] } };
    memo.set(object, "cached");
    expect(JSON.stringify(object)).toBe('{"kind":"Pod","spec":{"containers":[]}}');
    expect(Object.keys(object)).toEqual(["kind", "spec"]);
    expect(Object.entries(object)).toHaveLength(2);
    expect(isDeepStrictEqual(object, { kind: "Pod", spec: { containers: [] } })).toBe(true);
    // A spread copy is a new object: it does not inherit the cached value.
    expect(memo.get({ ...object })).toBeUndefined();
    expect(memo.get(object)).toBe("cached");
  });

  it("keeps values of objects that cannot take a property (frozen) elsewhere", () => {
    const memo = new ObjectMemo<object, string>("test");
    const frozen = Object.freeze({ a: 1 });
    memo.set(frozen, "v");
    expect(memo.get(frozen)).toBe("v");
    expect(Object.getOwnPropertySymbols(frozen)).toEqual([]);
  });

  it("two memos on one object do not see each other's values", () => {
    const first = new ObjectMemo<object, string>("same-name");
    const second = new ObjectMemo<object, string>("same-name");
    const object = {};
    first.set(object, "one");
    expect(second.get(object)).toBeUndefined();
    second.set(object, "two");
    expect(first.get(object)).toBe("one");
  });
});
