import { describe, expect, test } from "vitest";
import { renderJson } from "./json.ts";
import { emptyReport, golden, sampleReport } from "./test-support.ts";

const FINDING_KEYS = [
  "ruleId",
  "status",
  "severity",
  "title",
  "message",
  "resource",
  "path",
  "file",
  "line",
  "column",
  "remediation",
  "frameworks",
];

describe("renderJson", () => {
  test("sample matches the golden file", () => {
    const out = renderJson(sampleReport());
    expect(out).toBe(golden("sample.json", out));
  });

  test("empty report matches the golden file", () => {
    const out = renderJson(emptyReport());
    expect(out).toBe(golden("empty.json", out));
    expect(JSON.parse(out)).toEqual({
      findings: [],
      summary: {
        resources: 3,
        findings: 0,
        bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
      },
      errors: [],
    });
  });

  test("has exactly the documented keys, in order, with optional ones omitted when absent", () => {
    const out = renderJson(sampleReport());
    expect(out).toMatch(/^\{\n {2}"findings": \[\n/);
    const doc = JSON.parse(out);
    expect(Object.keys(doc)).toEqual(["findings", "summary", "errors"]);
    expect(Object.keys(doc.summary)).toEqual(["resources", "findings", "bySeverity"]);
    expect(Object.keys(doc.summary.bySeverity)).toEqual(["critical", "high", "medium", "low", "info"]);
    for (const finding of doc.findings) {
      const live = finding.file === undefined;
      expect(Object.keys(finding)).toEqual(
        live ? FINDING_KEYS.filter((key) => !["file", "line", "column"].includes(key)) : FINDING_KEYS,
      );
      const resourceKeys = ["apiVersion", "kind", "namespace", "name"];
      expect(Object.keys(finding.resource)).toEqual(
        finding.resource.namespace === undefined
          ? resourceKeys.filter((key) => key !== "namespace")
          : resourceKeys,
      );
      for (const key of Object.keys(finding.frameworks))
        expect(["pss", "cis", "nsa", "nist", "mitre"]).toContain(key);
    }
    const liveFinding = doc.findings.find(
      (finding: { resource: { kind: string } }) => finding.resource.kind === "ClusterRole",
    );
    expect(liveFinding).toMatchObject({ resource: { name: "aggregate-all" } });
    expect(liveFinding).not.toHaveProperty("file");
    expect(Object.keys(doc.errors[0])).toEqual(["file", "line", "column", "message"]);
  });

  test("round-trips messages with quotes, markup and control characters", () => {
    const report = sampleReport();
    const doc = JSON.parse(renderJson(report));
    expect(doc.findings.map((finding: { message: string }) => finding.message)).toEqual(
      report.findings.map((finding) => finding.message),
    );
  });
});
