/**
 * Several clusters' reports side by side in one output (`belay audit --context a
 * --context b`, `--all-contexts`). Each format keeps its single-report schema and adds the
 * cluster where a reader needs it:
 *
 * - json / yaml: the usual `findings`, `summary` (totals over the audited clusters) and
 *   `errors`, every finding with a `cluster` key (the kubeconfig context), plus a `clusters`
 *   list with each cluster's server, status (`audited`, or `failed` when it could not be audited), error and summary.
 *   A reader of the single-cluster schema still finds every key it knows.
 * - sarif: one run per cluster, `automationDetails.id` `belay/audit/<context>/` (code
 *   scanning keeps each cluster's alerts apart) and the context in the run's properties; an
 *   unreachable cluster is a run with `executionSuccessful: false` and the reason.
 * - junit: one `<testsuite>` per cluster (see {@link renderJunitGroups}).
 * - html: an overview table, then a section per cluster.
 * - table: a `== cluster` heading and the usual table per cluster.
 */

import { stringify } from "yaml";
import { SEVERITIES, type Severity } from "../findings/finding.ts";
import { renderHtmlSections } from "./html.ts";
import { type JsonFinding, type JsonInputError, type JsonReport, jsonDocument } from "./json.ts";
import { renderJunitGroups } from "./junit.ts";
import type { RenderOptions } from "./options.ts";
import type { ScanReport, Summary } from "./report.ts";
import { renderSarif } from "./sarif.ts";
import { renderTable } from "./table.ts";

/** One cluster's part of the output: its report, or why it has none. */
export interface ClusterReport {
  /** The kubeconfig context. */
  cluster: string;
  /** The API server URL. */
  server: string;
  /** Absent when the cluster could not be audited. */
  report?: ScanReport;
  /** Why there is no report: unreachable, credentials rejected, namespaces not listable. */
  error?: string;
}

/** A finding of the multi-cluster JSON document: the usual keys after `cluster`. */
export type JsonClusterFinding = { cluster: string } & JsonFinding;

/** The multi-cluster JSON (and YAML) document. */
export interface JsonClustersReport extends Omit<JsonReport, "findings"> {
  findings: JsonClusterFinding[];
  clusters: {
    name: string;
    server: string;
    status: "audited" | "failed";
    error?: string;
    summary?: JsonReport["summary"];
  }[];
}

/** The formats {@link renderClusters} knows. */
export type ClusterFormat = "table" | "json" | "yaml" | "sarif" | "junit" | "html";

/**
 * Render several clusters' reports in `format`, clusters in the given order. Pure; never
 * throws.
 */
export function renderClusters(
  format: ClusterFormat,
  clusters: readonly ClusterReport[],
  toolVersion: string,
  options: RenderOptions = {},
): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(clustersDocument(clusters), null, 2)}\n`;
    case "yaml":
      return stringify(clustersDocument(clusters), {
        lineWidth: 0,
        aliasDuplicateObjects: false,
        indentSeq: true,
      });
    case "sarif":
      return clustersSarif(clusters, toolVersion);
    case "junit":
      return renderJunitGroups(
        clusters.map((c) => ({
          name: c.cluster,
          ...(c.report ? { report: c.report } : {}),
          ...(c.error !== undefined ? { error: c.error } : {}),
        })),
      );
    case "html":
      return renderHtmlSections(
        clusters.map((c) => ({
          name: c.cluster,
          server: c.server,
          ...(c.report ? { report: c.report } : {}),
          ...(c.error !== undefined ? { error: c.error } : {}),
        })),
        toolVersion,
      );
    case "table":
      return clusters
        .map(
          (c) =>
            `== cluster ${c.cluster} (${c.server})\n${c.report ? renderTable(c.report, options) : `not audited: ${c.error ?? "no report"}\n`}`,
        )
        .join("\n");
  }
}

/** The multi-cluster JSON document (see the module comment). Pure; never throws. */
export function clustersDocument(clusters: readonly ClusterReport[]): JsonClustersReport {
  const findings: JsonClusterFinding[] = [];
  const errors: JsonInputError[] = [];
  const seenErrors = new Set<string>();
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const totals = { resources: 0, findings: 0, bySeverity };
  const list: JsonClustersReport["clusters"] = [];
  for (const c of clusters) {
    if (!c.report) {
      list.push({
        name: c.cluster,
        server: c.server,
        status: "failed",
        error: c.error ?? "not audited",
      });
      continue;
    }
    const doc = jsonDocument(c.report);
    for (const finding of doc.findings) findings.push({ cluster: c.cluster, ...finding });
    // The same --policy file error comes back from every cluster: list it once.
    for (const error of doc.errors) {
      const key = JSON.stringify(error);
      if (seenErrors.has(key)) continue;
      seenErrors.add(key);
      errors.push(error);
    }
    addSummary(totals, doc.summary);
    list.push({ name: c.cluster, server: c.server, status: "audited", summary: doc.summary });
  }
  return { findings, summary: totals, errors, clusters: list };
}

function addSummary(into: Summary, add: Summary): void {
  into.resources += add.resources;
  into.findings += add.findings;
  for (const severity of SEVERITIES) into.bySeverity[severity] += add.bySeverity[severity] ?? 0;
}

function clustersSarif(clusters: readonly ClusterReport[], toolVersion: string): string {
  let schema = "";
  const runs: unknown[] = [];
  for (const c of clusters) {
    const report: ScanReport = c.report ?? {
      findings: [],
      summary: {
        resources: 0,
        findings: 0,
        bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
      },
      errors: [],
      rules: [],
      toolVersion,
    };
    const log = JSON.parse(renderSarif(report)) as { $schema: string; runs: Record<string, unknown>[] };
    schema = log.$schema;
    for (const run of log.runs) {
      run.automationDetails = { id: `belay/audit/${c.cluster}/` };
      run.properties = { cluster: c.cluster, server: c.server };
      if (!c.report) {
        run.invocations = [
          {
            executionSuccessful: false,
            toolExecutionNotifications: [
              { level: "error", message: { text: `cluster not audited: ${c.error ?? "no report"}` } },
            ],
          },
        ];
      }
      runs.push(run);
    }
  }
  return `${JSON.stringify({ $schema: schema, version: "2.1.0", runs }, null, 2)}\n`;
}
