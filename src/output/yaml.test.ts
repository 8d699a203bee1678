import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { jsonDocument } from "./json.ts";
import { emptyReport, golden, sampleReport } from "./test-support.ts";
import { renderYaml } from "./yaml.ts";

describe("renderYaml", () => {
  test("sample matches the golden file", () => {
    const out = renderYaml(sampleReport());
    expect(out).toBe(golden("sample.yaml", out));
  });

  test("empty report matches the golden file", () => {
    const out = renderYaml(emptyReport());
    expect(out).toBe(golden("empty.yaml", out));
  });

  test.each([
    ["sample", sampleReport],
    ["empty", emptyReport],
  ])("%s parses back to the JSON document, keys in the same order", (_name, report) => {
    const parsed = parse(renderYaml(report()));
    const expected = jsonDocument(report());
    expect(parsed).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(expected));
  });

  test("never folds long lines or emits aliases", () => {
    const report = sampleReport();
    const [first] = report.findings;
    if (!first) throw new Error("sample has findings");
    first.message = `${"very long message ".repeat(20)}end`;
    const out = renderYaml(report);
    expect(out).toContain(`message: ${first.message}\n`);
    expect(out).not.toMatch(/[&*]a\d/);
  });
});
