import { readdirSync } from "node:fs";
import { describe, expect, test } from "vitest";
import type { Finding } from "../findings/finding.ts";
import {
  isOutputFormat,
  OUTPUT_FORMATS,
  render,
  renderHtml,
  renderJson,
  renderJunit,
  renderSarif,
  renderTable,
  renderYaml,
} from "./index.ts";
import { emptyReport, GOLDEN_DIR, sampleReport } from "./test-support.ts";

describe("OUTPUT_FORMATS and render", () => {
  test("lists the six formats, table first", () => {
    expect(OUTPUT_FORMATS).toEqual(["table", "json", "yaml", "sarif", "junit", "html"]);
  });

  test("isOutputFormat accepts exactly the listed names", () => {
    for (const format of OUTPUT_FORMATS) expect(isOutputFormat(format)).toBe(true);
    for (const value of ["TABLE", "xml", "", undefined, 1, null]) expect(isOutputFormat(value)).toBe(false);
  });

  test("render dispatches to each format's function", () => {
    const report = sampleReport();
    expect(render("table", report, { color: true })).toBe(renderTable(report, { color: true }));
    expect(render("json", report)).toBe(renderJson(report));
    expect(render("yaml", report)).toBe(renderYaml(report));
    expect(render("sarif", report)).toBe(renderSarif(report));
    expect(render("junit", report)).toBe(renderJunit(report));
    expect(render("html", report)).toBe(renderHtml(report));
  });

  test.each(OUTPUT_FORMATS)(
    "%s is deterministic, does not mutate the report and ends with a newline",
    (format) => {
      const report = sampleReport();
      const before = structuredClone(report);
      const first = render(format, report);
      expect(render(format, sampleReport())).toBe(first);
      expect(report).toEqual(before);
      expect(first.endsWith("\n")).toBe(true);
      expect(render(format, emptyReport()).endsWith("\n")).toBe(true);
    },
  );

  // Outputs build every object field by field: nothing else on a finding, such as an
  // object a buggy engine attached, can leak (a Secret's data, say).
  test.each(OUTPUT_FORMATS)("%s prints only finding fields, never attached objects", (format) => {
    const report = sampleReport();
    const secret = "c3VwZXItc2VjcmV0LXBhc3N3b3Jk";
    const leaky = report.findings.map(
      (finding) =>
        ({
          ...finding,
          object: { kind: "Secret", data: { password: secret } },
          resource: { ...finding.resource, data: secret },
          frameworks: { ...finding.frameworks, data: secret },
        }) as Finding,
    );
    const out = render(format, {
      ...report,
      findings: leaky,
      errors: [{ file: "x.yaml", message: "bad", data: secret } as never],
    });
    expect(out).not.toContain(secret);
  });
});

describe("hostile input", () => {
  const nasty = "\u0000<&>\"'\ud800\u202e\u001b[2J\\\\";
  const finding: Finding = {
    ruleId: nasty,
    status: "fail",
    severity: "high",
    title: nasty,
    message: nasty,
    resource: { apiVersion: nasty, kind: nasty, namespace: nasty, name: nasty },
    path: nasty,
    file: "\\\\",
    line: Number.MAX_SAFE_INTEGER,
    column: 0,
    remediation: nasty,
    frameworks: {
      pss: { level: "baseline", check: nasty },
      cis: [nasty],
      nsa: [nasty],
      nist: [nasty],
      mitre: [nasty],
    },
  };
  test.each(OUTPUT_FORMATS)("%s renders any strings without throwing", (format) => {
    const report = {
      ...sampleReport(),
      findings: [finding, { ...finding, file: nasty }],
      errors: [{ file: nasty, message: nasty }],
    };
    expect(() => render(format, report, { color: true })).not.toThrow();
  });
});

describe("golden files", () => {
  // The test fails on missing or extra files, so a renamed output cannot leave a stale one.
  test("__golden__ holds exactly the expected files", () => {
    const expected = OUTPUT_FORMATS.flatMap((format) => [`sample.${EXT[format]}`, `empty.${EXT[format]}`]);
    expected.push("sample.table-color.txt");
    // Several clusters side by side (clusters.test.ts).
    expected.push(...CLUSTER_GOLDEN);
    expect(readdirSync(GOLDEN_DIR).sort()).toEqual(expected.sort());
  });
});

const EXT = {
  table: "table.txt",
  json: "json",
  yaml: "yaml",
  sarif: "sarif.json",
  junit: "junit.xml",
  html: "html",
} as const;

const CLUSTER_GOLDEN = [
  "clusters.json",
  "clusters.yaml",
  "clusters.sarif.json",
  "clusters.junit.xml",
  "clusters.html",
  "clusters.table.txt",
];
