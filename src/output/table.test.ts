import { stripVTControlCharacters } from "node:util";
import { describe, expect, test } from "vitest";
import type { Finding } from "../findings/finding.ts";
import type { ScanReport } from "./report.ts";
import { renderTable } from "./table.ts";
import { emptyReport, golden, sampleReport } from "./test-support.ts";

describe("renderTable", () => {
  test("sample matches the golden file", () => {
    const out = renderTable(sampleReport(), { color: false });
    expect(out).toBe(golden("sample.table.txt", out));
  });

  test("sample with colour matches the golden file", () => {
    const out = renderTable(sampleReport(), { color: true });
    expect(out).toBe(golden("sample.table-color.txt", out));
  });

  test("colour is off by default and adds nothing but escape codes", () => {
    const plain = renderTable(sampleReport());
    expect(plain).toBe(renderTable(sampleReport(), { color: false }));
    expect(plain).not.toContain("\u001b");
    expect(stripVTControlCharacters(renderTable(sampleReport(), { color: true }))).toBe(plain);
  });

  test("empty report matches the golden file", () => {
    const out = renderTable(emptyReport());
    expect(out).toBe(golden("empty.table.txt", out));
    expect(out).toBe("No findings in 3 resources.\n");
  });

  test("no line has trailing spaces and columns are as wide as their widest cell", () => {
    const lines = renderTable(sampleReport()).split("\n");
    for (const line of lines) expect(line).toBe(line.trimEnd());
    // "CRITICAL" and "privileged-container" are the widest cells: one two-space gap after each.
    expect(lines).toContain(
      "  HIGH      host-network          pod must not set spec.hostNetwork=true  deploy/debug.yaml:8:16",
    );
  });

  test("handles very large reports", () => {
    const [finding] = one({}).findings;
    const report = one({});
    report.findings = Array.from({ length: 200_000 }, () => finding as Finding);
    // Header, two lines per finding, a blank line, the summary, "" after the final newline.
    expect(renderTable(report).split("\n")).toHaveLength(1 + 400_000 + 3);
  });

  test("groups by resource in order of first appearance, with file in the header", () => {
    const headers = renderTable(sampleReport())
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith(" "));
    expect(headers).toEqual([
      "ClusterRole aggregate-all",
      "Pod kube-system/debug (deploy/debug.yaml)",
      "Deployment default/web (deploy/web app.yaml)",
      "Input errors:",
      "7 findings (2 critical, 2 high, 1 medium, 1 low, 1 info) in 6 resources; 1 input error.",
    ]);
  });

  test("escapes control and bidirectional characters instead of printing them", () => {
    const report = one({ message: 'name "x\u001b]0;owned\u0007\u202e\n"', file: "a\tb.yaml" });
    const out = renderTable(report);
    expect(out).toContain('name "x\\u001b]0;owned\\u0007\\u202e\\n"');
    expect(out).toContain("a\\tb.yaml:3:5");
    expect(out.replaceAll("\n", "")).not.toMatch(/[\p{Cc}\u202e]/u);
  });

  test("summary uses singulars and names input errors", () => {
    const report = one({});
    expect(renderTable(report).trimEnd().split("\n").at(-1)).toBe("1 finding (1 high) in 1 resource.");
    const withErrors: ScanReport = {
      ...emptyReport(),
      summary: { ...emptyReport().summary, resources: 1 },
      errors: [
        { file: "a.yaml", message: "not YAML" },
        { file: "b.yaml", line: 2, message: "not an object" },
      ],
    };
    expect(renderTable(withErrors)).toBe(
      "Input errors:\n  a.yaml: not YAML\n  b.yaml:2: not an object\n\nNo findings in 1 resource; 2 input errors.\n",
    );
  });

  test("live objects have no location; pass and skip findings show their status and no remediation", () => {
    const report = one({
      file: undefined,
      line: undefined,
      column: undefined,
      status: "skip",
      message: "not a pod",
    });
    report.summary = emptyReport().summary;
    expect(renderTable(report)).toBe(
      "Deployment default/web\n  HIGH  r  skip: not a pod\n\nNo findings in 3 resources.\n",
    );
  });
});

function one(overrides: Partial<Finding>): ScanReport {
  const finding: Finding = {
    ruleId: "r",
    status: "fail",
    severity: "high",
    title: "R",
    message: "m",
    resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web" },
    path: "spec",
    file: "web.yaml",
    line: 3,
    column: 5,
    remediation: "Fix it.",
    frameworks: {},
    ...overrides,
  };
  return {
    findings: [finding],
    summary: { resources: 1, findings: 1, bySeverity: { critical: 0, high: 1, medium: 0, low: 0, info: 0 } },
    errors: [],
    rules: [],
    toolVersion: "0.1.0",
  };
}
