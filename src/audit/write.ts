/**
 * Writing reports, in `wgpolicyk8s.io/v1alpha2` (PolicyReport, ClusterPolicyReport) and/or
 * `openreports.io/v1alpha1` (Report, ClusterReport): create or update in place, and no write
 * at all when the report in the cluster already says the same (summary and results,
 * timestamps and metadata ignored), so an unchanged cluster causes no churn for watchers of
 * reports. A report that would approach etcd's object size limit is split into parts
 * (`belay`, `belay-2`, …) and parts left over from a bigger earlier report are deleted.
 *
 * Requests per report and API: one LIST of belay's reports in the namespace (label
 * `app.kubernetes.io/managed-by=belay`; it returns the current parts to compare with), then
 * only the creates, updates and deletes that are needed.
 */
import { type KubeClient, statusMessage } from "../kube/index.ts";
import { type OpenReport, type ReportApi, toOpenReport } from "./open-reports.ts";
import {
  MANAGED_BY_LABEL,
  MAX_REPORT_BYTES,
  type PolicyReport,
  type PolicyReports,
  reportPartIndex,
  sameReportContent,
  splitReport,
} from "./policy-report.ts";

/** What happened to one report (part) in one API. */
export interface WriteOutcome {
  /** `PolicyReport`, `ClusterPolicyReport`, `Report` or `ClusterReport`. */
  kind: string;
  apiVersion: string;
  namespace?: string;
  name: string;
  /** `deleted`: a part left over from a bigger earlier report; `skipped`: `canWrite` said no. */
  action: "created" | "updated" | "unchanged" | "deleted" | "skipped" | "failed";
  /** Why it failed. */
  message?: string;
}

/** Options of {@link writeReport}. */
export interface WriteOptions {
  /** The APIs to write (default: wgpolicyk8s only). */
  apis?: readonly ReportApi[];
  /** Split reports whose JSON would exceed this (default {@link MAX_REPORT_BYTES}). */
  maxBytes?: number;
  /**
   * Asked before every create, update or delete; false skips it. The controller passes
   * "am I still the leader", so a replica that lost its lease stops writing at once.
   */
  canWrite?: () => boolean;
}

interface ApiPaths {
  base: string;
  namespaced: string;
  cluster: string;
  title: string;
}

const API_PATHS: Record<ReportApi, ApiPaths> = {
  wgpolicyk8s: {
    base: "/apis/wgpolicyk8s.io/v1alpha2",
    namespaced: "policyreports",
    cluster: "clusterpolicyreports",
    title: "wgpolicyk8s.io/v1alpha2",
  },
  openreports: {
    base: "/apis/openreports.io/v1alpha1",
    namespaced: "reports",
    cluster: "clusterreports",
    title: "openreports.io/v1alpha1",
  },
};

type AnyReport = PolicyReport | OpenReport;

function collectionPath(api: ReportApi, namespace: string | undefined): string {
  const paths = API_PATHS[api];
  return namespace === undefined
    ? `${paths.base}/${paths.cluster}`
    : `${paths.base}/namespaces/${encodeURIComponent(namespace)}/${paths.namespaced}`;
}

const SELECTOR = `labelSelector=${encodeURIComponent(
  Object.entries(MANAGED_BY_LABEL)
    .map(([k, v]) => `${k}=${v}`)
    .join(","),
)}`;

interface StoredReport {
  metadata?: Record<string, unknown> & { name?: unknown };
  summary?: unknown;
  results?: unknown;
}

/**
 * Write one report (a namespace's or the cluster's) to every API in `options.apis`: split
 * it when too big, create or update the parts that differ, delete leftover parts. Returns
 * one outcome per part and API. Never throws.
 */
export async function writeReport(
  client: KubeClient,
  report: PolicyReport,
  options: WriteOptions = {},
): Promise<WriteOutcome[]> {
  const outcomes: WriteOutcome[] = [];
  for (const api of options.apis ?? ["wgpolicyk8s"]) {
    const form: AnyReport = api === "openreports" ? toOpenReport(report) : report;
    outcomes.push(...(await writeToApi(client, api, form, options)));
  }
  return outcomes;
}

async function writeToApi(
  client: KubeClient,
  api: ReportApi,
  report: AnyReport,
  options: WriteOptions,
): Promise<WriteOutcome[]> {
  const namespace = report.metadata.namespace;
  const base = report.metadata.name;
  const collection = collectionPath(api, namespace);
  const outcome = (name: string, action: WriteOutcome["action"], message?: string): WriteOutcome => ({
    kind: report.kind,
    apiVersion: report.apiVersion,
    ...(namespace !== undefined ? { namespace } : {}),
    name,
    action,
    ...(message !== undefined ? { message } : {}),
  });
  const notInstalled = () =>
    `the ${report.kind} API (${API_PATHS[api].title}) is not installed in context "${client.context}"; apply deploy/crds/ first`;

  const listed = await client.send("GET", `${collection}?${SELECTOR}`);
  if (!listed.ok) return [outcome(base, "failed", listed.error.message)];
  if (listed.value.status === 404) return [outcome(base, "failed", notInstalled())];
  if (listed.value.status !== 200) return [outcome(base, "failed", statusMessage(listed.value))];
  const items = (listed.value.body as { items?: unknown } | null)?.items;
  const existing = new Map<string, StoredReport>();
  for (const item of Array.isArray(items) ? (items as StoredReport[]) : []) {
    const name = item?.metadata?.name;
    if (typeof name === "string" && reportPartIndex(base, name) !== undefined) existing.set(name, item);
  }

  const allowed = () => options.canWrite?.() ?? true;
  const outcomes: WriteOutcome[] = [];
  const parts = splitReport(report, options.maxBytes ?? MAX_REPORT_BYTES) as AnyReport[];
  for (const part of parts) {
    const name = part.metadata.name;
    let current = existing.get(name);
    existing.delete(name);
    if (current && sameReportContent(current, part)) {
      outcomes.push(outcome(name, "unchanged"));
      continue;
    }
    if (!allowed()) {
      outcomes.push(outcome(name, "skipped"));
      continue;
    }
    if (!current) {
      const created = await client.send("POST", collection, part);
      if (!created.ok) {
        outcomes.push(outcome(name, "failed", created.error.message));
        continue;
      }
      if (created.value.status === 404) {
        outcomes.push(outcome(name, "failed", notInstalled()));
        continue;
      }
      if (created.value.status < 300) {
        outcomes.push(outcome(name, "created"));
        continue;
      }
      if (created.value.status !== 409) {
        outcomes.push(outcome(name, "failed", statusMessage(created.value)));
        continue;
      }
      // It exists without belay's label (made by hand, or an older belay): take it over.
      const got = await client.send("GET", `${collection}/${encodeURIComponent(name)}`);
      if (!got.ok || got.value.status !== 200) {
        outcomes.push(outcome(name, "failed", got.ok ? statusMessage(got.value) : got.error.message));
        continue;
      }
      current = (got.value.body ?? {}) as StoredReport;
      if (sameReportContent(current, part)) {
        outcomes.push(outcome(name, "unchanged"));
        continue;
      }
    }
    // Keep the stored metadata (resourceVersion makes the update conditional) and its labels.
    const metadata = current.metadata ?? {};
    const labels = {
      ...((metadata.labels as Record<string, string> | undefined) ?? {}),
      ...part.metadata.labels,
    };
    const updated = await client.send("PUT", `${collection}/${encodeURIComponent(name)}`, {
      ...part,
      metadata: { ...metadata, labels },
    });
    if (!updated.ok) outcomes.push(outcome(name, "failed", updated.error.message));
    else if (updated.value.status >= 300)
      outcomes.push(outcome(name, "failed", statusMessage(updated.value)));
    else outcomes.push(outcome(name, "updated"));
  }

  // Parts of an earlier, bigger report. Sorted so outcomes are deterministic.
  for (const name of [...existing.keys()].sort()) {
    if (!allowed()) {
      outcomes.push(outcome(name, "skipped"));
      continue;
    }
    const deleted = await client.send("DELETE", `${collection}/${encodeURIComponent(name)}`);
    if (!deleted.ok) outcomes.push(outcome(name, "failed", deleted.error.message));
    else if (deleted.value.status >= 300 && deleted.value.status !== 404)
      outcomes.push(outcome(name, "failed", statusMessage(deleted.value)));
    else outcomes.push(outcome(name, "deleted"));
  }
  return outcomes;
}

/** Write one report to the wgpolicyk8s API only (the original single-API form). Never throws. */
export async function writePolicyReport(client: KubeClient, report: PolicyReport): Promise<WriteOutcome[]> {
  return writeReport(client, report);
}

/**
 * Write every report (namespaces first, then the cluster report) to every API in
 * `options.apis` (default wgpolicyk8s). Never throws.
 */
export async function writePolicyReports(
  client: KubeClient,
  reports: PolicyReports,
  options: WriteOptions = {},
): Promise<WriteOutcome[]> {
  const outcomes: WriteOutcome[] = [];
  for (const report of reports.namespaced.values())
    outcomes.push(...(await writeReport(client, report, options)));
  if (reports.cluster) outcomes.push(...(await writeReport(client, reports.cluster, options)));
  return outcomes;
}
