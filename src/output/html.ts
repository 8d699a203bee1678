/**
 * The `html` format: one self-contained, printable HTML page (inline CSS, no scripts, no
 * external resources) for people who read reports in a browser or on paper.
 *
 * Per report (one per cluster when `belay audit` covers several): counts by severity,
 * failing findings per rule, then every finding grouped by resource with its message, field
 * path, location and remediation, then input errors. Everything taken from manifests or the
 * cluster is HTML-escaped, and characters HTML forbids (controls, lone surrogates) are
 * dropped, so a hostile name cannot inject markup. Deterministic: no timestamps.
 */
import {
  type Finding,
  type InputError,
  refKey,
  refLabel,
  SEVERITIES,
  type Severity,
} from "../findings/finding.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport } from "./report.ts";

/** One part of a multi-cluster page: a cluster's report, or why there is none. */
export interface HtmlSection {
  /** Heading (the kubeconfig context); absent for a single report. */
  name?: string;
  /** The API server URL, shown under the heading. */
  server?: string;
  report?: ScanReport;
  /** Why the cluster has no report (unreachable, credentials rejected). */
  error?: string;
}

/**
 * Render a report as a self-contained HTML page (UTF-8, trailing newline). Pure; never
 * throws.
 */
export function renderHtml(report: ScanReport, _options: RenderOptions = {}): string {
  return renderHtmlSections([{ report }], report.toolVersion);
}

/**
 * Render several reports (one per cluster) side by side on one page: a cluster overview
 * table first, then one section per cluster in the given order. Pure; never throws.
 */
export function renderHtmlSections(sections: readonly HtmlSection[], toolVersion: string): string {
  const named = sections.some((section) => section.name !== undefined);
  const body: string[] = [];
  body.push(`<header><h1>belay report</h1><p class="meta">belay ${esc(toolVersion)}</p></header>`);
  if (named) body.push(...overview(sections));
  for (const section of sections) body.push(...sectionHtml(section, named));
  return `${[
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>belay report</title>",
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    ...body,
    "</body>",
    "</html>",
  ].join("\n")}\n`;
}

const STYLE = [
  "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;margin:2rem auto;max-width:72rem;padding:0 1rem}",
  "h1{font-size:1.6rem;margin:0}h2{font-size:1.3rem;margin:2rem 0 .5rem;border-bottom:2px solid #d0d7de}",
  "h3{font-size:1.05rem;margin:1.2rem 0 .4rem}.meta,.server{color:#57606a;margin:.2rem 0}",
  "table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}",
  "th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}code{font:12px ui-monospace,monospace;overflow-wrap:anywhere}",
  ".sev{font-weight:600;white-space:nowrap}.critical{color:#a40e26}.high{color:#cf222e}.medium{color:#9a6700}.low{color:#0969da}.info,.pass,.skip{color:#57606a}.error{color:#8250df}",
  ".fix{color:#57606a;margin-top:.2rem}.unreachable{color:#cf222e;font-weight:600}.clean{color:#1a7f37;font-weight:600}",
  "@media print{body{margin:0;max-width:none;font-size:11px}h2{break-before:page}h2:first-of-type{break-before:auto}tr{break-inside:avoid}}",
].join("");

function overview(sections: readonly HtmlSection[]): string[] {
  const rows = sections.map((section) => {
    const name = esc(section.name ?? "");
    if (!section.report)
      return `<tr><td>${name}</td><td class="unreachable">not audited</td><td class="n"></td>${SEVERITIES.map(() => '<td class="n"></td>').join("")}</tr>`;
    const { summary } = section.report;
    return `<tr><td>${name}</td><td>audited</td><td class="n">${summary.resources}</td>${SEVERITIES.map((s) => `<td class="n">${summary.bySeverity[s] ?? 0}</td>`).join("")}</tr>`;
  });
  return [
    "<h2>Clusters</h2>",
    `<table class="overview"><thead><tr><th>Cluster</th><th>Status</th><th>Resources</th>${SEVERITIES.map((s) => `<th class="${s}">${s}</th>`).join("")}</tr></thead>`,
    `<tbody>${rows.join("")}</tbody></table>`,
  ];
}

function sectionHtml(section: HtmlSection, named: boolean): string[] {
  const out: string[] = [];
  if (named) {
    out.push(`<h2>Cluster ${esc(section.name ?? "")}</h2>`);
    if (section.server) out.push(`<p class="server"><code>${esc(section.server)}</code></p>`);
  }
  if (!section.report) {
    out.push(`<p class="unreachable">Not audited: ${esc(section.error ?? "no report")}</p>`);
    return out;
  }
  const report = section.report;
  const heading = named ? "h3" : "h2";
  out.push(summaryParagraph(report));
  if (report.summary.findings > 0) {
    out.push(
      `<table class="severities"><thead><tr>${SEVERITIES.map((s) => `<th class="${s}">${s}</th>`).join("")}</tr></thead>`,
      `<tbody><tr>${SEVERITIES.map((s) => `<td class="n">${report.summary.bySeverity[s] ?? 0}</td>`).join("")}</tr></tbody></table>`,
    );
    out.push(`<${heading}>By rule</${heading}>`, ...byRule(report.findings));
  }
  if (report.findings.length > 0) {
    out.push(`<${heading}>Findings</${heading}>`, ...findingsTable(report.findings));
  }
  if (report.errors.length > 0) {
    out.push(
      `<${heading}>Input errors</${heading}>`,
      `<ul class="errors">${report.errors.map((e) => `<li>${location(e) ? `<code>${esc(location(e))}</code>: ` : ""}${esc(e.message)}</li>`).join("")}</ul>`,
    );
  }
  return out;
}

function summaryParagraph(report: ScanReport): string {
  const { summary } = report;
  const resources = plural(summary.resources, "resource");
  const errors = report.errors.length > 0 ? `; ${plural(report.errors.length, "input error")}` : "";
  if (summary.findings === 0) return `<p class="clean">No findings in ${resources}${errors}.</p>`;
  return `<p>${plural(summary.findings, "finding")} in ${resources}${errors}.</p>`;
}

/** Failing and warning findings counted per rule, worst severity first, then by id. */
function byRule(findings: readonly Finding[]): string[] {
  const rules = new Map<string, { finding: Finding; count: number; resources: Set<string> }>();
  for (const finding of findings) {
    if (finding.status !== "fail" && finding.status !== "warn") continue;
    const row = rules.get(finding.ruleId) ?? { finding, count: 0, resources: new Set<string>() };
    row.count++;
    row.resources.add(refKey(finding.resource));
    rules.set(finding.ruleId, row);
  }
  const rank = (severity: Severity) => SEVERITIES.indexOf(severity);
  const rows = [...rules.values()]
    .sort(
      (a, b) =>
        rank(a.finding.severity) - rank(b.finding.severity) ||
        (a.finding.ruleId < b.finding.ruleId ? -1 : a.finding.ruleId > b.finding.ruleId ? 1 : 0),
    )
    .map(
      ({ finding, count, resources }) =>
        `<tr><td class="sev ${finding.severity}">${finding.severity.toUpperCase()}</td><td><code>${esc(finding.ruleId)}</code></td><td>${esc(finding.title)}</td><td class="n">${count}</td><td class="n">${resources.size}</td></tr>`,
    );
  return [
    '<table class="rules"><thead><tr><th>Severity</th><th>Rule</th><th>Title</th><th>Findings</th><th>Resources</th></tr></thead>',
    `<tbody>${rows.join("\n")}</tbody></table>`,
  ];
}

function findingsTable(findings: readonly Finding[]): string[] {
  const rows: string[] = [];
  for (const finding of findings) {
    const status =
      finding.status === "fail" ? "" : `<span class="${finding.status}">${finding.status}:</span> `;
    const label = finding.status === "fail" || finding.status === "warn" ? finding.severity : finding.status;
    const where = location(finding);
    const fix =
      (finding.status === "fail" || finding.status === "warn") && finding.remediation
        ? `<div class="fix">${esc(finding.remediation)}</div>`
        : "";
    rows.push(
      `<tr><td class="sev ${label}">${finding.severity.toUpperCase()}</td><td><code>${esc(finding.ruleId)}</code></td>` +
        `<td>${esc(refLabel(finding.resource))}${where ? `<br><code>${esc(where)}</code>` : ""}</td>` +
        `<td>${status}${esc(finding.message)}${finding.path ? `<br><code>${esc(finding.path)}</code>` : ""}${fix}</td></tr>`,
    );
  }
  return [
    '<table class="findings"><thead><tr><th>Severity</th><th>Rule</th><th>Resource</th><th>Finding</th></tr></thead>',
    `<tbody>${rows.join("\n")}</tbody></table>`,
  ];
}

function location(at: Pick<InputError, "line" | "column"> & { file?: string }): string {
  if (at.file === undefined) return "";
  if (at.line === undefined) return at.file;
  return at.column === undefined ? `${at.file}:${at.line}` : `${at.file}:${at.line}:${at.column}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// Controls HTML forbids in text (all but tab, newline and carriage return), lone
// surrogates and noncharacters U+FFFE/U+FFFF; bidirectional overrides could reorder what
// the reader sees.
const NOT_HTML = /(?![\t\n\r])\p{Cc}|[\uD800-\uDFFF\uFFFE\uFFFF\u202A-\u202E\u2066-\u2069]/gu;
const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escape text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(NOT_HTML, "").replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

const esc = escapeHtml;
