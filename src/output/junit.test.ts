import { describe, expect, test } from "vitest";
import type { Finding } from "../findings/finding.ts";
import { renderJunit } from "./junit.ts";
import type { ScanReport } from "./report.ts";
import { emptyReport, golden, sampleReport } from "./test-support.ts";

describe("renderJunit", () => {
  test("sample matches the golden file and is well-formed", () => {
    const out = renderJunit(sampleReport());
    expect(out).toBe(golden("sample.junit.xml", out));
    expect(wellFormed(out)).toBe(true);
  });

  test("empty report matches the golden file: a suite per rule, no tests", () => {
    const out = renderJunit(emptyReport());
    expect(out).toBe(golden("empty.junit.xml", out));
    expect(out).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="belay" tests="0" failures="0" errors="0" skipped="0">',
        '  <testsuite name="host-network" tests="0" failures="0" errors="0" skipped="0"/>',
        '  <testsuite name="privileged-container" tests="0" failures="0" errors="0" skipped="0"/>',
        "</testsuites>",
        "",
      ].join("\n"),
    );
  });

  test("counts add up per suite and in total", () => {
    const out = renderJunit(sampleReport());
    const suites = [
      ...out.matchAll(
        /<testsuite name="([^"]+)" tests="(\d+)" failures="(\d+)" errors="(\d+)" skipped="(\d+)"(?:\/>|>([\s\S]*?)<\/testsuite>)/g,
      ),
    ];
    const total = [0, 0, 0, 0];
    for (const [, , tests = "", failures = "", errors = "", skipped = "", content = ""] of suites) {
      expect(Number(tests)).toBe((content.match(/<testcase /g) ?? []).length);
      expect(Number(failures)).toBe((content.match(/<failure /g) ?? []).length);
      expect(Number(errors)).toBe((content.match(/<error /g) ?? []).length);
      expect(Number(skipped)).toBe((content.match(/<skipped /g) ?? []).length);
      [tests, failures, errors, skipped].forEach((value, index) => {
        total[index] = (total[index] ?? 0) + Number(value);
      });
    }
    expect(out).toContain(
      `<testsuites name="belay" tests="${total[0]}" failures="${total[1]}" errors="${total[2]}" skipped="${total[3]}">`,
    );
    expect(total).toEqual([10, 7, 2, 0]);
    expect(suites.map((suite) => suite[1])).toEqual([
      "default-namespace",
      "host-network",
      "host-path-volume",
      "privileged-container",
      "require-team-label",
      "resource-limits",
      "run-as-non-root",
      "seccomp-profile",
      "wildcard-rbac",
      "belay.input",
    ]);
  });

  test("escapes markup and quotes, strips control characters", () => {
    const out = renderJunit(one([{ message: "a<b>&\"c\" 'd'\u0000\u0007\u001b[0m\ud800 e\u0085\tf\r\ng" }]));
    expect(wellFormed(out)).toBe(true);
    expect(out).toContain('message="a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;[0m e&#9;f&#13;&#10;g"');
    expect(out).toContain(">web.yaml:3:5: a&lt;b&gt;&amp;\"c\" 'd'[0m e\tf&#13;\ng\n");
    expect(out).not.toMatch(/(?![\t\n\r])\p{Cc}/u);
  });

  test("one test case per rule and resource, its failure listing every finding under the worst severity", () => {
    const out = renderJunit(
      one([
        { path: "spec.a", message: "first", severity: "low" },
        { path: "spec.b", message: "second", severity: "high", status: "warn" },
      ]),
    );
    expect(out).toContain('<testsuite name="r" tests="1" failures="1" errors="0" skipped="0">');
    expect(out).toContain(
      '<failure message="first; second" type="high">web.yaml:3:5: first\n  path: spec.a\n  severity: low\n  remediation: Fix it.\nweb.yaml:3:5: warn: second\n  path: spec.b\n',
    );
  });

  test("pass cases pass, skip cases are skipped, error cases are errors (not failures)", () => {
    const resource = (name: string) => ({ apiVersion: "v1", kind: "Pod", name });
    const out = renderJunit(
      one([
        { status: "pass", resource: resource("a"), file: undefined },
        { status: "skip", resource: resource("b"), message: "not applicable" },
        { status: "error", resource: resource("c"), message: "cost limit exceeded" },
      ]),
    );
    expect(out).toContain('<testsuite name="r" tests="3" failures="0" errors="1" skipped="1">');
    expect(out).toContain('<testcase name="Pod a" classname="r"/>');
    expect(out).toContain('<skipped message="not applicable"/>');
    expect(out).toContain('<error message="cost limit exceeded" type="evaluation-error">');
  });
});

function one(overrides: Partial<Finding>[]): ScanReport {
  const findings = overrides.map(
    (override): Finding => ({
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
      ...override,
    }),
  );
  return {
    findings,
    summary: {
      resources: 1,
      findings: findings.length,
      bySeverity: { critical: 0, high: 1, medium: 0, low: 0, info: 0 },
    },
    errors: [],
    rules: [],
    toolVersion: "0.1.0",
  };
}

/**
 * A small well-formedness check for the XML renderJunit writes (no parser is a
 * dependency): balanced elements, quoted attributes, only the five entities or numeric
 * character references, no characters XML 1.0 forbids.
 */
function wellFormed(xml: string): boolean {
  if (/(?![\t\n\r])\p{Cc}|[\uD800-\uDFFF\uFFFE\uFFFF]/u.test(xml)) return false;
  const body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, "");
  const stack: string[] = [];
  const token =
    /<(\/?)([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.-]*="[^"<&]*(?:&(?:amp|lt|gt|quot|apos|#\d+);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/gy;
  let index = 0;
  for (const match of body.matchAll(token)) {
    if (match.index !== index) return false;
    index += match[0].length;
    const [, closing, name, , selfClosing, text] = match;
    if (text !== undefined) {
      if (/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/.test(text) || (text.includes(">") && text.includes("]]>")))
        return false;
      if (stack.length === 0 && text.trim() !== "") return false;
    } else if (closing) {
      if (stack.pop() !== name) return false;
    } else if (!selfClosing && name) {
      stack.push(name);
    }
  }
  return index === body.length && stack.length === 0;
}
