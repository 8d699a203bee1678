/**
 * The summary printed at the end of `belay audit`'s table output: failing and warning
 * findings counted per namespace and per rule, and with several clusters per cluster too,
 * rules side by side (one column per cluster). Pure.
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

/** One cluster's part of a multi-cluster summary. */
export interface ClusterSummaryInput {
  /** The kubeconfig context. */
  cluster: string;
  /** Its findings; absent when the cluster could not be audited. */
  findings?: readonly Finding[];
  /** Objects evaluated. */
  resources?: number;
}

/**
 * The summary of several clusters as plain-text tables: one row per cluster (status,
 * objects, fail and warn counts), fail/warn per cluster and namespace, and per rule with one
 * column per cluster (fail + warn; `-` for a cluster that was not audited). Clusters in the
 * given order, rows sorted. Empty when no cluster was given.
 */
export function renderClusterSummary(clusters: readonly ClusterSummaryInput[]): string {
  if (clusters.length === 0) return "";
  const perCluster: string[][] = [["CLUSTER", "STATUS", "OBJECTS", "FAIL", "WARN"]];
  const perNamespace: string[][] = [["CLUSTER", "NAMESPACE", "FAIL", "WARN"]];
  const rules = new Map<string, Map<string, number>>();
  for (const cluster of clusters) {
    if (!cluster.findings) {
      perCluster.push([cluster.cluster, "failed", "", "", ""]);
      continue;
    }
    const { namespaces, rules: ruleRows } = auditSummary(cluster.findings);
    const fail = namespaces.reduce((n, row) => n + row.fail, 0);
    const warn = namespaces.reduce((n, row) => n + row.warn, 0);
    perCluster.push([
      cluster.cluster,
      "audited",
      String(cluster.resources ?? ""),
      String(fail),
      String(warn),
    ]);
    for (const row of namespaces)
      perNamespace.push([cluster.cluster, row.key, String(row.fail), String(row.warn)]);
    for (const row of ruleRows) {
      const counts = rules.get(row.key) ?? new Map<string, number>();
      counts.set(cluster.cluster, row.fail + row.warn);
      rules.set(row.key, counts);
    }
  }
  const perRule: string[][] = [["RULE", ...clusters.map((c) => c.cluster)]];
  for (const rule of [...rules.keys()].sort()) {
    const counts = rules.get(rule);
    perRule.push([rule, ...clusters.map((c) => (c.findings ? String(counts?.get(c.cluster) ?? 0) : "-"))]);
  }
  const tables = [perCluster];
  if (perNamespace.length > 1) tables.push(perNamespace, perRule);
  return `\n${tables.map(columns).join("\n")}`;
}

/** Rows as columns: text columns left-aligned, the others (counts) right-aligned. */
function columns(rows: readonly string[][]): string {
  const width = (i: number) => Math.max(...rows.map((row) => (row[i] ?? "").length));
  const count = rows[0]?.length ?? 0;
  const numeric = (i: number) => rows.slice(1).every((row) => /^(\d*|-)$/.test(row[i] ?? ""));
  return rows
    .map((row) =>
      Array.from({ length: count }, (_, i) =>
        numeric(i) && i > 0 ? (row[i] ?? "").padStart(width(i)) : (row[i] ?? "").padEnd(width(i)),
      )
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}
