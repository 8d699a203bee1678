/**
 * The report APIs belay writes, and the `openreports.io/v1alpha1` form of a report.
 *
 * OpenReports (github.com/openreports/reports-api) is where the wg-policy PolicyReport moved:
 * `Report` and `ClusterReport` keep the `wgpolicyk8s.io/v1alpha2` result fields as they are
 * (source, policy, rule, result, severity, category, resources, message, properties,
 * timestamp, scored) and the summary, and add a report-level `source`. So an OpenReports
 * report is the PolicyReport with another apiVersion and kind. Pure: no I/O.
 */
import {
  type PolicyReport,
  type PolicyReportResult,
  type PolicyReportSummary,
  REPORT_SOURCE,
} from "./policy-report.ts";

/** The OpenReports API group/version. */
export const OPEN_REPORTS_API_VERSION = "openreports.io/v1alpha1";

/** A report API belay can write. */
export type ReportApi = "wgpolicyk8s" | "openreports";

/** Every report API, in writing order. */
export const REPORT_APIS: readonly ReportApi[] = ["wgpolicyk8s", "openreports"];

/** Values of `--report-api`. */
export const REPORT_API_CHOICES = ["wgpolicyk8s", "openreports", "both"] as const;

/**
 * The report APIs a `--report-api` value selects (`both` → both, wgpolicyk8s first), or
 * undefined for an unknown value. Never throws.
 */
export function parseReportApi(value: string): ReportApi[] | undefined {
  if (value === "both") return [...REPORT_APIS];
  return (REPORT_APIS as readonly string[]).includes(value) ? [value as ReportApi] : undefined;
}

/** A `Report` or `ClusterReport` as belay writes it. */
export interface OpenReport {
  apiVersion: typeof OPEN_REPORTS_API_VERSION;
  kind: "Report" | "ClusterReport";
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  /** The engine that produced every result. */
  source: string;
  summary: PolicyReportSummary;
  results: PolicyReportResult[];
}

/** The OpenReports form of a PolicyReport (same name, labels, summary and results). Never throws. */
export function toOpenReport(report: PolicyReport): OpenReport {
  return {
    apiVersion: OPEN_REPORTS_API_VERSION,
    kind: report.kind === "PolicyReport" ? "Report" : "ClusterReport",
    metadata: report.metadata,
    source: REPORT_SOURCE,
    summary: report.summary,
    results: report.results,
  };
}
