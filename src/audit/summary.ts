/**
 * The summary printed at the end of `belay audit`'s table output: failing and warning
 * findings counted per namespace and per rule. Pure.
 */
import type { Finding } from "../findings/finding.ts";
import { reportNamespace } from "./policy-report.ts";

/** Counts of fail and warn findings of one group. */
export interface SummaryRow {
  key: string;
  fail: number;
  warn: number;
}

/** Fail/warn counts per namespace (a Namespace counts in itself; `(cluster)` for other cluster-scoped objects) and per rule, each sorted by key. */
export function auditSummary(findings: readonly Finding[]): {
  namespaces: SummaryRow[];
  rules: SummaryRow[];
} {
  const namespaces = new Map<string, SummaryRow>();
  const rules = new Map<string, SummaryRow>();
  for (const finding of findings) {
    if (finding.status !== "fail" && finding.status !== "warn") continue;
    for (const [map, key] of [
      [namespaces, reportNamespace(finding.resource) ?? "(cluster)"],
      [rules, finding.ruleId],
    ] as const) {
      const row = map.get(key) ?? { key, fail: 0, warn: 0 };
      row[finding.status]++;
      map.set(key, row);
    }
  }
  const sorted = (map: Map<string, SummaryRow>) =>
    [...map.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { namespaces: sorted(namespaces), rules: sorted(rules) };
}

/** The summary as two plain-text tables. */
export function renderAuditSummary(findings: readonly Finding[]): string {
  const { namespaces, rules } = auditSummary(findings);
  if (namespaces.length === 0) return "";
  return `\n${table("NAMESPACE", namespaces)}\n${table("RULE", rules)}`;
}

function table(title: string, rows: readonly SummaryRow[]): string {
  const lines = [[title, "FAIL", "WARN"], ...rows.map((r) => [r.key, String(r.fail), String(r.warn)])];
  const width = Math.max(...lines.map((l) => (l[0] ?? "").length));
  return lines
    .map(
      ([key, fail, warn]) =>
        `${(key ?? "").padEnd(width)}  ${(fail ?? "").padStart(4)}  ${(warn ?? "").padStart(4)}`,
    )
    .join("\n")
    .concat("\n");
}
