import { describe, expect, it } from "vitest";
import { createCostBudget, PER_CALL_COST_LIMIT } from "./cost.ts";
import { createCelEnvironment } from "./environment.ts";

const env = createCelEnvironment({ variables: { object: "dyn" } });

function compile(expr: string) {
  const c = env.compile(expr);
  if (!c.ok) throw new Error(c.error.map((e) => e.message).join("; "));
  return c.value;
}

describe("runtime cost (cel-go units)", () => {
  it.each([
    // ident + 2 selects + constant + call
    ["object.a.b == 1", 4],
    // list literal 10 + @in over 3 elements
    ["1 in [1, 2, 3]", 13],
    // macro: per element @not_strictly_false (1) + 2 accumulator reads + predicate (ident + call)
    ["[1, 2, 3].all(x, x > 0)", 26],
    ["'abc'.matches('a+')", 1],
  ])("%s costs %i", (expr, cost) => {
    expect(compile(expr).evaluate({ object: { a: { b: 1 } } }).cost).toBe(cost);
  });

  it("string operations cost by length", () => {
    const s = "x".repeat(10_000);
    const r = compile("object.s.contains('y')").evaluate({ object: { s } });
    expect(r.cost).toBeGreaterThanOrEqual(1000);
  });
});

describe("cost limits", () => {
  it("a pathological nested comprehension stops with cost-limit near the 1,000,000 limit", () => {
    const items = Array.from({ length: 2000 }, (_, i) => i);
    const c = compile("object.items.all(x, object.items.all(y, x + y >= 0))");
    const started = performance.now();
    const r = c.evaluate({ object: { items } });
    const ms = performance.now() - started;
    expect(r).toMatchObject({
      kind: "error",
      code: "cost-limit",
      message: "operation cancelled: actual cost limit exceeded",
    });
    expect(r.cost).toBeGreaterThan(PER_CALL_COST_LIMIT);
    expect(r.cost).toBeLessThan(PER_CALL_COST_LIMIT + 100);
    // For information: the unbounded work would be 4,000,000 inner iterations.
    expect(ms).toBeGreaterThanOrEqual(0);
  });

  it("map/filter accumulators are linear, so a big list is cheap until its cost is reached", () => {
    const items = Array.from({ length: 50_000 }, (_, i) => i);
    const r = compile("object.items.map(x, x * 2).size()").evaluate({ object: { items } });
    expect(r).toMatchObject({ kind: "value", value: 50_000 });
    const big = Array.from({ length: 200_000 }, (_, i) => i);
    expect(compile("object.items.map(x, x * 2).size()").evaluate({ object: { items: big } })).toMatchObject({
      kind: "error",
      code: "cost-limit",
    });
  });

  it("a regex over a huge input is refused before it runs when its cost exceeds the limit", () => {
    const s = "a".repeat(2_000_000);
    const r = compile("object.s.matches('(a|aa)*(b|bb|bbb|bbbb)+c')").evaluate({ object: { s } });
    expect(r).toMatchObject({ kind: "error", code: "cost-limit" });
    // Precharged: string cost 200,001 × regex cost ceil(24 × 0.25) = 6, after two selects.
    expect(r.cost).toBe(2 + 200_001 * 6);
    expect(compile("object.s.find('[bc]+[de]+')").evaluate({ object: { s: s.repeat(2) } })).toMatchObject({
      code: "cost-limit",
    });
  });

  it("RE2 is linear: a classic catastrophic-backtracking pattern on a moderate input finishes", () => {
    const s = `${"a".repeat(5_000)}!`;
    const r = compile("object.s.matches('^(a+)+$')").evaluate({ object: { s } });
    expect(r).toMatchObject({ kind: "value", value: false });
  });

  it("the shared per-evaluation budget stops later expressions with a budget message", () => {
    const c = compile("object.items.all(x, x >= 0)");
    const items = Array.from({ length: 100_000 }, (_, i) => i);
    const budget = createCostBudget(1_000_000);
    expect(c.evaluate({ object: { items } }, { costBudget: budget })).toMatchObject({ kind: "value" });
    const second = c.evaluate({ object: { items } }, { costBudget: budget });
    expect(second).toMatchObject({ kind: "error", code: "cost-limit" });
    if (second.kind === "error") expect(second.message).toContain("running out of cost budget");
    expect(budget.remaining).toBe(0);
  });

  it("deep recursion in the input is an error value, not a crash", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 2000; i++) deep = [deep];
    const r = compile("object.d == object.d").evaluate({ object: { d: deep } });
    expect(["value", "error"]).toContain(r.kind);
  });
});
