/**
 * Writing PolicyReports: create or update in place, and no write at all when the report in
 * the cluster already says the same (summary and results, timestamps and metadata ignored),
 * so an unchanged cluster causes no churn for watchers of reports.
 */
import { type KubeClient, statusMessage } from "../kube/index.ts";
import { type PolicyReport, type PolicyReports, sameReportContent } from "./policy-report.ts";

const BASE = "/apis/wgpolicyk8s.io/v1alpha2";

/** What happened to one report. */
export interface WriteOutcome {
  kind: PolicyReport["kind"];
  namespace?: string;
  name: string;
  action: "created" | "updated" | "unchanged" | "failed";
  /** Why it failed. */
  message?: string;
}

function reportPath(report: PolicyReport, named: boolean): string {
  const collection =
    report.kind === "PolicyReport"
      ? `${BASE}/namespaces/${encodeURIComponent(report.metadata.namespace ?? "default")}/policyreports`
      : `${BASE}/clusterpolicyreports`;
  return named ? `${collection}/${encodeURIComponent(report.metadata.name)}` : collection;
}

/** Create, update or leave one report. Never throws. */
export async function writePolicyReport(client: KubeClient, report: PolicyReport): Promise<WriteOutcome> {
  const outcome = (action: WriteOutcome["action"], message?: string): WriteOutcome => ({
    kind: report.kind,
    ...(report.metadata.namespace !== undefined ? { namespace: report.metadata.namespace } : {}),
    name: report.metadata.name,
    action,
    ...(message !== undefined ? { message } : {}),
  });
  const existing = await client.send("GET", reportPath(report, true));
  if (!existing.ok) return outcome("failed", existing.error.message);
  if (existing.value.status === 404) {
    const created = await client.send("POST", reportPath(report, false), report);
    if (!created.ok) return outcome("failed", created.error.message);
    if (created.value.status === 404)
      return outcome(
        "failed",
        `the ${report.kind} API (wgpolicyk8s.io/v1alpha2) is not installed in context "${client.context}"; apply deploy/crds/ first`,
      );
    if (created.value.status >= 300) return outcome("failed", statusMessage(created.value));
    return outcome("created");
  }
  if (existing.value.status !== 200) return outcome("failed", statusMessage(existing.value));
  const current = (existing.value.body ?? {}) as {
    metadata?: Record<string, unknown>;
    summary?: unknown;
    results?: unknown;
  };
  if (sameReportContent(current, report)) return outcome("unchanged");
  const metadata = current.metadata ?? {};
  const labels = {
    ...((metadata.labels as Record<string, string> | undefined) ?? {}),
    ...report.metadata.labels,
  };
  const body = { ...report, metadata: { ...metadata, labels } };
  const updated = await client.send("PUT", reportPath(report, true), body);
  if (!updated.ok) return outcome("failed", updated.error.message);
  if (updated.value.status >= 300) return outcome("failed", statusMessage(updated.value));
  return outcome("updated");
}

/** Write every report (namespaces first, then the cluster report). Never throws. */
export async function writePolicyReports(
  client: KubeClient,
  reports: PolicyReports,
): Promise<WriteOutcome[]> {
  const outcomes: WriteOutcome[] = [];
  for (const report of reports.namespaced.values()) outcomes.push(await writePolicyReport(client, report));
  if (reports.cluster) outcomes.push(await writePolicyReport(client, reports.cluster));
  return outcomes;
}
