import { describe, expect, it } from "vitest";
import { rewriteOptionalSyntax } from "./optional-syntax.ts";
import { celValueOf, evalCel } from "./test-helpers.ts";

describe("rewriteOptionalSyntax", () => {
  it("replaces each optional marker by a space, keeping every offset", () => {
    const src = "a.?b[?'k'] + [?x, y, ?z] + {?'k': v, 'j': w}";
    const r = rewriteOptionalSyntax(src);
    expect(r.source).toHaveLength(src.length);
    expect(r.source).not.toContain("?");
    expect([...r.marks.selects]).toEqual([1]);
    expect([...r.marks.indexes]).toEqual([4]);
    expect([...(r.marks.listElements.get(13) ?? [])]).toEqual([0, 2]);
    expect([...(r.marks.mapEntries.get(27) ?? [])]).toEqual([0]);
  });

  it("leaves the ternary, strings, comments and numbers alone", () => {
    const src = "x ? '.?[?' : 1.5 // .? here\n";
    const r = rewriteOptionalSyntax(src);
    expect(r.source).toBe(src);
    expect(r.used).toBe(false);
  });

  it("handles raw, triple-quoted and escaped strings", () => {
    const src = "r'a\\' + '''a.?b''' + \"\\\".?\" + x.?y";
    const r = rewriteOptionalSyntax(src);
    expect(r.marks.selects.size).toBe(1);
    expect(r.source.endsWith("x. y")).toBe(true);
  });
});

describe("optional syntax semantics (cel-go)", () => {
  const obj = { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "a" }] } };
  it.each([
    ["object.?metadata.?labels.?app.orValue('none')", "web"],
    ["object.?metadata.?annotations.?app.orValue('none')", "none"],
    // Once a chain is optional, later plain selects are optional too.
    ["object.?metadata.annotations.app.orValue('none')", "none"],
    ["object.metadata.?labels.app.value()", "web"],
    ["object.?spec.hasValue()", true],
    ["object.?status.hasValue()", false],
    ["object.spec.containers[?0].?name.orValue('')", "a"],
    ["object.spec.containers[?5].hasValue()", false],
    ["object.metadata.labels[?'app'].value()", "web"],
    ["object.metadata.labels[?'nope'].orValue('d')", "d"],
    ["[?object.?status, ?optional.of(1), 2]", [1, 2]],
    ["{?'a': object.?status, ?'b': optional.of(2), 'c': 3}", { b: 2, c: 3 }],
    ["object.?metadata.?labels.optMap(l, size(l)).value()", 1],
    ["object.?status.or(object.?spec).hasValue()", true],
    ["has(object.metadata.labels) ? object.?metadata.labels.app.value() : ''", "web"],
  ])("%s", (expr, expected) => {
    expect(celValueOf(expr, { object: obj })).toEqual(expected);
  });

  it("a non-optional value in an optional list element is an error", () => {
    const r = evalCel("[?1]");
    expect(r).toMatchObject({ kind: "error", message: expect.stringContaining("non-optional") });
  });

  it("orValue is lazy: the alternative is not evaluated when a value is present", () => {
    expect(celValueOf("optional.of(1).orValue(1 / 0)")).toBe(1);
  });

  it("error positions survive the rewrite", () => {
    const r = evalCel("object.?a.orValue(1) + 'x'", { object: {} });
    expect(r.kind).toBe("error");
  });
});
