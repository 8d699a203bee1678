/**
 * The `table` format, for people at a terminal: findings grouped by resource, one line
 * each, the remediation under it, then input errors and a one-line summary.
 *
 * Text taken from manifests (names, paths, messages quoting them) is printed with control
 * and bidirectional-override characters escaped, so a hostile manifest cannot move the
 * cursor, recolour the terminal or reorder what the reader sees.
 */
import { styleText } from "node:util";
import {
  type Finding,
  type InputError,
  refKey,
  refLabel,
  SEVERITIES,
  type Severity,
  type Status,
} from "../findings/finding.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport } from "./report.ts";

type Style = Parameters<typeof styleText>[0];
type Paint = (style: Style, text: string) => string;

const SEVERITY_STYLE: Record<Severity, Style> = {
  critical: ["red", "bold"],
  high: "red",
  medium: "yellow",
  low: "cyan",
  info: "dim",
};

const STATUS_STYLE: Record<Exclude<Status, "fail">, Style> = {
  warn: "yellow",
  error: "magenta",
  pass: "green",
  skip: "dim",
};

/**
 * Render a report as a plain-text table, with ANSI colours only when `options.color` is
 * true (never by looking at the environment). Deterministic: groups appear in the order of
 * their first finding, columns are as wide as their widest cell and no wider, and no line
 * has trailing spaces. Ends with a newline. Pure; never throws.
 *
 * @example
 * Deployment default/web (deploy/web.yaml)
 *   HIGH  privileged-container  container "app" must not set securityContext.privileged=true  deploy/web.yaml:12:9
 *                               Set securityContext.privileged to false or remove it.
 *
 * 1 finding (1 high) in 1 resource.
 */
export function renderTable(report: ScanReport, options: RenderOptions = {}): string {
  const paint: Paint = options.color
    ? (style, text) => styleText(style, text, { validateStream: false })
    : (_style, text) => text;
  const sections: string[][] = [];

  // Not Math.max(...widths): spreading 100k+ findings would overflow the stack.
  const labelWidth = report.findings.reduce(
    (width, finding) => Math.max(width, severityLabel(finding).length),
    0,
  );
  const ruleWidth = report.findings.reduce(
    (width, finding) => Math.max(width, printable(finding.ruleId).length),
    0,
  );
  const indent = " ".repeat(2 + labelWidth + 2 + ruleWidth + 2);
  for (const group of groupByResource(report.findings)) {
    const [first] = group;
    if (!first) continue;
    const header = paint("bold", printable(refLabel(first.resource)));
    const lines = [first.file === undefined ? header : `${header} (${printable(first.file)})`];
    for (const finding of group) {
      const severity = severityLabel(finding);
      // Padding stays outside the escape codes so a styled background would not spill.
      const label = paint(labelStyle(finding), severity) + " ".repeat(labelWidth - severity.length);
      const status =
        finding.status === "fail" ? "" : `${paint(STATUS_STYLE[finding.status], finding.status)}: `;
      const where = location(finding);
      lines.push(
        `  ${label}  ${printable(finding.ruleId).padEnd(ruleWidth)}  ${status}${printable(finding.message)}${where ? `  ${paint("dim", where)}` : ""}`,
      );
      if ((finding.status === "fail" || finding.status === "warn") && finding.remediation) {
        lines.push(`${indent}${paint("dim", printable(finding.remediation))}`);
      }
    }
    sections.push(lines);
  }

  if (report.errors.length > 0) {
    sections.push([
      paint(["red", "bold"], "Input errors:"),
      ...report.errors.map((error) => {
        const where = location(error);
        return `  ${where ? `${paint("dim", where)}: ` : ""}${printable(error.message)}`;
      }),
    ]);
  }

  sections.push([summaryLine(report, paint)]);
  return `${sections.map((lines) => lines.join("\n")).join("\n\n")}\n`;
}

/** Findings grouped by file and resource, in order of each group's first finding. */
function groupByResource(findings: readonly Finding[]): Finding[][] {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const key = `${finding.file ?? ""}\u0000${refKey(finding.resource)}`;
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  return [...groups.values()];
}

function severityLabel(finding: Finding): string {
  return finding.severity.toUpperCase();
}

/** Severity colours mean "this needs attention"; passed or skipped checks are dimmed. */
function labelStyle(finding: Finding): Style {
  return finding.status === "fail" || finding.status === "warn" ? SEVERITY_STYLE[finding.severity] : "dim";
}

/** `file:line:col`, `file:line`, `file`, or "" for a live object. */
function location(at: Pick<InputError, "line" | "column"> & { file?: string }): string {
  if (at.file === undefined) return "";
  const file = printable(at.file);
  if (at.line === undefined) return file;
  return at.column === undefined ? `${file}:${at.line}` : `${file}:${at.line}:${at.column}`;
}

function summaryLine(report: ScanReport, paint: Paint): string {
  const { summary } = report;
  const resources = plural(summary.resources, "resource");
  const errors = report.errors.length > 0 ? `; ${plural(report.errors.length, "input error")}` : "";
  if (summary.findings === 0) return `No findings in ${resources}${errors}.`;
  const counts = SEVERITIES.filter((severity) => (summary.bySeverity[severity] ?? 0) > 0).map((severity) =>
    paint(SEVERITY_STYLE[severity], `${summary.bySeverity[severity]} ${severity}`),
  );
  const breakdown = counts.length > 0 ? ` (${counts.join(", ")})` : "";
  return `${plural(summary.findings, "finding")}${breakdown} in ${resources}${errors}.`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// C0 and C1 controls, DEL, line/paragraph separators and bidirectional embeddings,
// overrides and isolates.
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;
const NAMED_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Escape characters that would change the terminal rather than show up in it. */
function printable(text: string): string {
  return text.replace(
    UNPRINTABLE,
    (char) => NAMED_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
