/**
 * The `junit` format: JUnit XML for CI systems that show test reports (GitLab, Jenkins,
 * Azure Pipelines, …).
 *
 * One `<testsuite>` per evaluated rule, named by rule id and sorted by it; in it one
 * `<testcase>` per (resource, file) the rule reported on, in finding order. A test case
 * with a `fail` or `warn` finding has one `<failure>` (type: the highest severity) listing
 * them all; otherwise one with an `error` finding has an `<error>` (the rule could not be
 * evaluated: not a failure); one with only `skip` findings is `<skipped>`; one with only
 * `pass` findings passes. Input errors form the suite `belay.input`, one `<error>` each.
 */
import { type Finding, type InputError, refKey, refLabel, severityRank } from "../findings/finding.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport } from "./report.ts";

/** Name of the test suite that holds input errors. */
export const INPUT_SUITE = "belay.input";

interface TestCase {
  name: string;
  classname: string;
  file?: string;
  /** Child element (`<failure …>body</failure>`), absent when the case passed. */
  outcome?: { element: "failure" | "error" | "skipped"; message: string; type?: string; body?: string };
}

interface TestSuite {
  name: string;
  cases: TestCase[];
}

/**
 * Render a report as a JUnit XML document (UTF-8, 2-space indent, trailing newline) whose
 * `tests`, `failures`, `errors` and `skipped` counts add up. Text is XML-escaped and
 * characters XML 1.0 cannot carry (control characters, lone surrogates) are dropped. Pure;
 * never throws.
 */
export function renderJunit(report: ScanReport, _options: RenderOptions = {}): string {
  const suites = [...ruleSuites(report)];
  if (report.errors.length > 0) {
    suites.push({ name: INPUT_SUITE, cases: report.errors.map(inputErrorCase) });
  }
  return documentText(suites);
}

/**
 * Render several reports (one per cluster of `belay audit`) as one document with one
 * `<testsuite>` per group, named by it, in the given order. Its cases are the rule cases of
 * {@link renderJunit} (classname: the rule id) followed by the input errors; a group
 * without a report (a cluster that could not be audited) has one `<error>` case of type
 * `cluster-not-audited`. Pure; never throws.
 */
export function renderJunitGroups(
  groups: readonly { name: string; report?: ScanReport; error?: string }[],
): string {
  const suites = groups.map((group): TestSuite => {
    if (!group.report) {
      const message = group.error ?? "not audited";
      return {
        name: group.name,
        cases: [
          {
            name: group.name,
            classname: "belay.cluster",
            outcome: { element: "error", type: "cluster-not-audited", message, body: message },
          },
        ],
      };
    }
    return {
      name: group.name,
      cases: [
        ...ruleSuites(group.report).flatMap((suite) => suite.cases),
        ...group.report.errors.map(inputErrorCase),
      ],
    };
  });
  return documentText(suites);
}

function documentText(suites: readonly TestSuite[]): string {
  const totals = counts(suites.flatMap((suite) => suite.cases));
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites${attributes({ name: "belay", ...totals })}>`,
  ];
  for (const suite of suites) {
    const head = `  <testsuite${attributes({ name: suite.name, ...counts(suite.cases) })}`;
    if (suite.cases.length === 0) {
      lines.push(`${head}/>`);
      continue;
    }
    lines.push(`${head}>`);
    for (const testCase of suite.cases) lines.push(...testCaseLines(testCase));
    lines.push("  </testsuite>");
  }
  lines.push("</testsuites>");
  return `${lines.join("\n")}\n`;
}

function ruleSuites(report: ScanReport): TestSuite[] {
  const byRule = new Map<string, Map<string, Finding[]>>();
  for (const meta of report.rules) if (!byRule.has(meta.id)) byRule.set(meta.id, new Map());
  for (const finding of report.findings) {
    let cases = byRule.get(finding.ruleId);
    if (!cases) {
      cases = new Map();
      byRule.set(finding.ruleId, cases);
    }
    const key = `${finding.file ?? ""}\u0000${refKey(finding.resource)}`;
    const group = cases.get(key);
    if (group) group.push(finding);
    else cases.set(key, [finding]);
  }
  return [...byRule.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([ruleId, cases]) => ({
      name: ruleId,
      cases: [...cases.values()].map((group) => ruleCase(ruleId, group)),
    }));
}

function ruleCase(ruleId: string, findings: Finding[]): TestCase {
  // Groups are never empty: they are created with their first finding.
  const first = findings[0] as Finding;
  const testCase: TestCase = {
    name: refLabel(first.resource),
    classname: ruleId,
    ...(first.file !== undefined ? { file: first.file } : {}),
  };
  const failing = findings.filter((finding) => finding.status === "fail" || finding.status === "warn");
  const errors = findings.filter((finding) => finding.status === "error");
  if (failing.length > 0) {
    const worst = failing.reduce((a, b) => (severityRank(b.severity) > severityRank(a.severity) ? b : a));
    testCase.outcome = { element: "failure", type: worst.severity, ...details(failing) };
  } else if (errors.length > 0) {
    testCase.outcome = { element: "error", type: "evaluation-error", ...details(errors) };
  } else if (findings.every((finding) => finding.status === "skip")) {
    testCase.outcome = { element: "skipped", message: findings.map((finding) => finding.message).join("; ") };
  }
  return testCase;
}

/** The messages joined for the attribute, and a block per finding for the body. */
function details(findings: Finding[]): { message: string; body: string } {
  const blocks = findings.map((finding) => {
    const status = finding.status === "fail" ? "" : `${finding.status}: `;
    return [
      `${where(finding) ?? refLabel(finding.resource)}: ${status}${finding.message}`,
      ...(finding.path ? [`  path: ${finding.path}`] : []),
      `  severity: ${finding.severity}`,
      ...(finding.status === "error" || !finding.remediation
        ? []
        : [`  remediation: ${finding.remediation}`]),
    ].join("\n");
  });
  return { message: findings.map((finding) => finding.message).join("; "), body: blocks.join("\n") };
}

function inputErrorCase(error: InputError): TestCase {
  const name = where(error) ?? error.file;
  return {
    name,
    classname: INPUT_SUITE,
    file: error.file,
    outcome: {
      element: "error",
      type: "input-error",
      message: error.message,
      body: `${name}: ${error.message}`,
    },
  };
}

function where(at: { file?: string; line?: number; column?: number }): string | undefined {
  if (at.file === undefined) return undefined;
  if (at.line === undefined) return at.file;
  return at.column === undefined ? `${at.file}:${at.line}` : `${at.file}:${at.line}:${at.column}`;
}

function counts(cases: readonly TestCase[]): {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
} {
  const count = (element: string) => cases.filter((testCase) => testCase.outcome?.element === element).length;
  return {
    tests: cases.length,
    failures: count("failure"),
    errors: count("error"),
    skipped: count("skipped"),
  };
}

function testCaseLines(testCase: TestCase): string[] {
  const open = `    <testcase${attributes({ name: testCase.name, classname: testCase.classname, file: testCase.file })}`;
  const { outcome } = testCase;
  if (!outcome) return [`${open}/>`];
  const head = `      <${outcome.element}${attributes({ message: outcome.message, type: outcome.type })}`;
  const child =
    outcome.body === undefined ? `${head}/>` : `${head}>${text(outcome.body)}</${outcome.element}>`;
  return [`${open}>`, child, "    </testcase>"];
}

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${attribute(String(value))}"`)
    .join("");
}

// Characters XML 1.0 forbids (C0 controls but tab, newline and carriage return; lone
// surrogates, which is all a surrogate class matches with the u flag; U+FFFE and U+FFFF)
// and the DEL and C1 controls it discourages.
const NOT_XML = /(?![\t\n\r])\p{Cc}|[\uD800-\uDFFF\uFFFE\uFFFF]/gu;

/** Escape text content. */
function text(value: string): string {
  return value.replace(NOT_XML, "").replace(/[&<>\r]/g, (char) => XML_ESCAPES[char] ?? char);
}

/** Escape an attribute value (double-quoted); newlines and tabs survive as references. */
function attribute(value: string): string {
  return value.replace(NOT_XML, "").replace(/[&<>"'\r\n\t]/g, (char) => XML_ESCAPES[char] ?? char);
}

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\r": "&#13;",
  "\n": "&#10;",
  "\t": "&#9;",
};
