import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, test } from "vitest";
import type { Finding } from "../findings/finding.ts";
import type { ScanReport } from "./report.ts";
import { FINGERPRINT_KEY, renderSarif, sarifArtifactLocation } from "./sarif.ts";
import { emptyReport, golden, sampleReport } from "./test-support.ts";

// The OASIS SARIF 2.1.0 (errata 01) schema, a draft-04 schema: see test/fixtures/sarif/PROVENANCE.md.
const schema = JSON.parse(
  readFileSync(new URL("../../test/fixtures/sarif/sarif-schema-2.1.0.json", import.meta.url), "utf8"),
);

/**
 * Plain Ajv (draft-07) validates this draft-04 schema exactly: it uses none of the
 * keywords whose meaning changed (exclusiveMinimum/Maximum), and `$ref` siblings are only
 * descriptions. Draft-04's `id` is the schema id (`schemaId: "id"`) and not a keyword, and
 * the draft-04 meta-schema is not bundled, hence no meta-validation.
 */
const ajv = new Ajv({ schemaId: "id", strict: false, validateSchema: false, allErrors: true });
ajv.removeKeyword("id");
// RFC 3986 syntax, checked strictly enough to catch unencoded spaces or backslashes.
const URI_REFERENCE = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
ajv.addFormat("uri-reference", (value: string) => URI_REFERENCE.test(value));
ajv.addFormat("uri", (value: string) => URI_REFERENCE.test(value) && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value));
ajv.addFormat("date-time", (value: string) => !Number.isNaN(Date.parse(value)));
const validateSarif = ajv.compile(schema);

function valid(text: string): true | string {
  return validateSarif(JSON.parse(text)) || ajv.errorsText(validateSarif.errors, { separator: "\n" });
}

// biome-ignore lint/suspicious/noExplicitAny: SARIF is checked against its schema; tests index it freely.
type Json = any;

describe("renderSarif", () => {
  test("sample matches the golden file and the SARIF 2.1.0 schema", () => {
    const out = renderSarif(sampleReport());
    expect(out).toBe(golden("sample.sarif.json", out));
    expect(valid(out)).toBe(true);
  });

  test("empty report matches the golden file and the schema", () => {
    const out = renderSarif(emptyReport());
    expect(out).toBe(golden("empty.sarif.json", out));
    expect(valid(out)).toBe(true);
    const run = JSON.parse(out).runs[0];
    expect(run.results).toEqual([]);
    expect(run.invocations).toEqual([{ executionSuccessful: true, toolExecutionNotifications: [] }]);
    expect(run.tool.driver.rules.map((rule: Json) => rule.id)).toEqual([
      "host-network",
      "privileged-container",
    ]);
  });

  test("the schema check is not vacuous", () => {
    const log = JSON.parse(renderSarif(sampleReport()));
    log.runs[0].results[0].level = "fatal";
    log.runs[0].results[1].locations[0].physicalLocation.artifactLocation.uri = "a b\\c.yaml";
    expect(validateSarif(log)).toBe(false);
    expect(validateSarif.errors?.map((error) => error.instancePath)).toEqual(
      expect.arrayContaining([
        "/runs/0/results/0/level",
        "/runs/0/results/1/locations/0/physicalLocation/artifactLocation/uri",
      ]),
    );
  });

  test("one rule descriptor per evaluated rule, sorted, with GitHub's properties", () => {
    const log = JSON.parse(renderSarif(sampleReport()));
    const { driver } = log.runs[0].tool;
    expect(driver).toMatchObject({
      name: "belay",
      version: "0.1.0",
      informationUri: "https://github.com/belay-dev/belay",
    });
    expect(driver.rules.map((rule: Json) => rule.id)).toEqual([
      "default-namespace",
      "host-network",
      "host-path-volume",
      "privileged-container",
      "require-team-label",
      "resource-limits",
      "run-as-non-root",
      "seccomp-profile",
      "wildcard-rbac",
    ]);
    const privileged = driver.rules.find((rule: Json) => rule.id === "privileged-container");
    expect(privileged).toEqual({
      id: "privileged-container",
      name: "PrivilegedContainer",
      shortDescription: { text: "Privileged container" },
      fullDescription: {
        text: "A privileged container has every capability and access to the host's devices; escaping to the node is trivial.",
      },
      help: {
        text: "Remove securityContext.privileged or set it to false.",
        markdown: expect.stringContaining(
          "**Remediation:** Remove securityContext.privileged or set it to false.",
        ),
      },
      defaultConfiguration: { level: "error" },
      properties: {
        tags: [
          "security",
          "PSS-baseline:privileged",
          "CIS-5.2.2",
          "NSA-Kubernetes Pod security",
          "NIST-4.4.3",
          "MITRE-T1611",
        ],
        "security-severity": "9.5",
      },
    });
    const bySeverity = Object.fromEntries(
      driver.rules.map((rule: Json) => [
        rule.id,
        [rule.defaultConfiguration.level, rule.properties["security-severity"]],
      ]),
    );
    expect(bySeverity).toMatchObject({
      "host-network": ["error", "8.0"],
      "run-as-non-root": ["warning", "5.5"],
      "resource-limits": ["warning", "3.0"], // a warn rule: warning whatever its severity
      "default-namespace": ["note", "0.0"],
    });
  });

  test("every result points at its rule, with level from status and severity", () => {
    const report = sampleReport();
    const log = JSON.parse(renderSarif(report));
    const { rules } = log.runs[0].tool.driver;
    const results = log.runs[0].results;
    expect(results).toHaveLength(report.findings.length);
    for (const result of results) expect(rules[result.ruleIndex].id).toBe(result.ruleId);
    expect(results.map((result: Json) => [result.ruleId, result.kind ?? "fail", result.level])).toEqual([
      ["wildcard-rbac", "fail", "error"],
      ["require-team-label", "review", "none"],
      ["host-network", "fail", "error"],
      ["privileged-container", "fail", "error"],
      ["host-path-volume", "pass", "none"],
      ["default-namespace", "fail", "note"],
      ["resource-limits", "fail", "warning"],
      ["run-as-non-root", "fail", "warning"],
      ["privileged-container", "fail", "error"],
    ]);
    expect(results[6].properties).toEqual({
      resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web" },
      path: "spec.template.spec.containers[0].resources",
    });
  });

  test("file findings have a physical location relative to %SRCROOT%; live ones a logical one only", () => {
    const results = JSON.parse(renderSarif(sampleReport())).runs[0].results;
    expect(results[8].locations).toEqual([
      {
        physicalLocation: {
          artifactLocation: { uri: "deploy/web%20app.yaml", uriBaseId: "%SRCROOT%" },
          region: { startLine: 21, startColumn: 25 },
        },
        logicalLocations: [{ name: "web", fullyQualifiedName: "Deployment default/web", kind: "object" }],
      },
    ]);
    expect(results[0].locations).toEqual([
      {
        logicalLocations: [
          { name: "aggregate-all", fullyQualifiedName: "ClusterRole aggregate-all", kind: "object" },
        ],
      },
    ]);
  });

  test("input errors are error notifications and make the execution unsuccessful", () => {
    const invocation = JSON.parse(renderSarif(sampleReport())).runs[0].invocations[0];
    expect(invocation).toEqual({
      executionSuccessful: false,
      toolExecutionNotifications: [
        {
          level: "error",
          message: { text: "bad indentation of a mapping entry" },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: "deploy/broken.yaml", uriBaseId: "%SRCROOT%" },
                region: { startLine: 3, startColumn: 7 },
              },
            },
          ],
        },
      ],
    });
  });

  test("fingerprints depend on rule, resource and field, not on file or line", () => {
    const fingerprints = (report: ScanReport) =>
      JSON.parse(renderSarif(report)).runs[0].results.map(
        (result: Json) => result.partialFingerprints[FINGERPRINT_KEY],
      );
    const base = fingerprints(sampleReport());
    expect(base.every((value: string) => /^[0-9a-f]{64}$/.test(value))).toBe(true);
    expect(new Set(base).size).toBe(base.length);
    const moved = sampleReport();
    moved.findings = moved.findings.map((finding) => ({
      ...finding,
      file: `moved/${finding.file}`,
      line: (finding.line ?? 0) + 10,
    }));
    expect(fingerprints(moved)).toEqual(base);
    const renamed = sampleReport();
    renamed.findings = renamed.findings.map((finding) => ({
      ...finding,
      resource: { ...finding.resource, name: "other" },
    }));
    expect(fingerprints(renamed).some((value: string, index: number) => value === base[index])).toBe(false);
  });

  test("a finding of a rule missing from report.rules gets a descriptor built from the finding", () => {
    const rules = JSON.parse(renderSarif(sampleReport())).runs[0].tool.driver.rules;
    expect(rules.find((rule: Json) => rule.id === "require-team-label")).toEqual({
      id: "require-team-label",
      name: "RequireTeamLabel",
      shortDescription: { text: "Team label required" },
      defaultConfiguration: { level: "note" },
      properties: { tags: ["security"], "security-severity": "3.0" },
    });
  });

  test("locations stay valid for awkward file names, positions and statuses", () => {
    const finding = sampleReport().findings[8] as Finding;
    const variants: Partial<Finding>[] = [
      { file: "C:\\work\\my app\\deploy#1.yaml" },
      { file: "/abs/dir/web?.yaml", line: undefined, column: undefined },
      { file: "./charts\\web\\templates/dé ploy.yaml", column: undefined },
      { file: "<stdin>" },
      { file: "a:b.yaml", line: 0, column: 0 },
      { status: "skip" },
      { status: "warn", severity: "critical" },
    ];
    const report: ScanReport = {
      ...sampleReport(),
      findings: variants.map((variant) => ({ ...finding, ...variant })),
    };
    const out = renderSarif(report);
    expect(valid(out)).toBe(true);
    const results = JSON.parse(out).runs[0].results;
    expect(results.map((result: Json) => result.locations[0].physicalLocation ?? null)).toEqual([
      {
        artifactLocation: { uri: "file:///C:/work/my%20app/deploy%231.yaml" },
        region: { startLine: 21, startColumn: 25 },
      },
      { artifactLocation: { uri: "file:///abs/dir/web%3F.yaml" } },
      {
        artifactLocation: { uri: "charts/web/templates/d%C3%A9%20ploy.yaml", uriBaseId: "%SRCROOT%" },
        region: { startLine: 21 },
      },
      null,
      { artifactLocation: { uri: "a%3Ab.yaml", uriBaseId: "%SRCROOT%" } },
      expect.anything(),
      expect.anything(),
    ]);
    expect(results[5]).toMatchObject({ kind: "notApplicable", level: "none" });
    expect(results[6]).toMatchObject({ level: "warning" });
    expect(results[6]).not.toHaveProperty("kind");
  });
});

describe("sarifArtifactLocation", () => {
  test.each([
    ["deploy/web.yaml", { uri: "deploy/web.yaml", uriBaseId: "%SRCROOT%" }],
    ["./deploy/my app.yaml", { uri: "deploy/my%20app.yaml", uriBaseId: "%SRCROOT%" }],
    ["deploy\\win.yaml", { uri: "deploy/win.yaml", uriBaseId: "%SRCROOT%" }],
    ["../shared/100%.yaml", { uri: "../shared/100%25.yaml", uriBaseId: "%SRCROOT%" }],
    ["/srv/k8s/a b.yaml", { uri: "file:///srv/k8s/a%20b.yaml" }],
    ["D:/k8s/x.yaml", { uri: "file:///D:/k8s/x.yaml" }],
    ["\\\\server\\share\\x.yaml", { uri: "file://server/share/x.yaml" }],
    ["\\\\server", undefined],
    ["x\ud800.yaml", { uri: "x%EF%BF%BD.yaml", uriBaseId: "%SRCROOT%" }],
    ["<stdin>", undefined],
    ["", undefined],
  ])("%j", (file, expected) => {
    expect(sarifArtifactLocation(file)).toEqual(expected);
  });
});
