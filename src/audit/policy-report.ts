/**
 * PolicyReports (`wgpolicyk8s.io/v1alpha2`) from findings: one `PolicyReport` named `belay`
 * per namespace and one `ClusterPolicyReport` named `belay-cluster` for cluster-scoped
 * objects. Pure: no I/O, no clock (the caller passes the timestamp).
 */
import {
  type Finding,
  type FrameworkRefs,
  type ResourceRef,
  refKey,
  type Status,
} from "../findings/finding.ts";

/** The report API group/version. */
export const POLICY_REPORT_API_VERSION = "wgpolicyk8s.io/v1alpha2";
/** Name of every namespace's report. */
export const NAMESPACE_REPORT_NAME = "belay";
/** Name of the cluster report. */
export const CLUSTER_REPORT_NAME = "belay-cluster";
/** `source` of every result. */
export const REPORT_SOURCE = "belay";
/** Label set on reports belay writes. */
export const MANAGED_BY_LABEL = { "app.kubernetes.io/managed-by": "belay" } as const;

/** An object reference in a result. */
export interface ReportObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

/** One result: one finding. */
export interface PolicyReportResult {
  source: string;
  policy: string;
  rule: string;
  result: Status;
  severity: string;
  category: string;
  message: string;
  resources: ReportObjectReference[];
  properties?: Record<string, string>;
  timestamp: { seconds: number; nanos: number };
}

/** Result counts. */
export interface PolicyReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

/** A PolicyReport or ClusterPolicyReport as belay writes it. */
export interface PolicyReport {
  apiVersion: typeof POLICY_REPORT_API_VERSION;
  kind: "PolicyReport" | "ClusterPolicyReport";
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  summary: PolicyReportSummary;
  results: PolicyReportResult[];
}

/** The reports of one audit. */
export interface PolicyReports {
  /** Per namespace, for every namespace audited (empty reports included, so stale results clear). */
  namespaced: Map<string, PolicyReport>;
  /** Cluster-scoped objects; undefined when cluster-scoped objects were not audited. */
  cluster?: PolicyReport;
}

/** Options of {@link buildPolicyReports}. */
export interface BuildReportsOptions {
  /** Namespaces that were audited: each gets a report, even without findings. */
  namespaces: readonly string[];
  /** Whether cluster-scoped objects were audited (then a ClusterPolicyReport is built). */
  cluster: boolean;
  /** Time of the audit. */
  now: Date;
  /** UID of an object by `refKey`, where known. */
  uids?: ReadonlyMap<string, string>;
  /** Category of a rule id (default: from its frameworks). */
  categoryOf?: (finding: Finding) => string;
}

/**
 * Group findings into reports. Findings of namespaces not in `options.namespaces` (and of
 * cluster-scoped objects when `options.cluster` is false) are left out. Results are sorted
 * (namespace report order follows the findings' order, which `evaluate` sorts). Never throws.
 */
export function buildPolicyReports(
  findings: readonly Finding[],
  options: BuildReportsOptions,
): PolicyReports {
  const timestamp = { seconds: Math.floor(options.now.getTime() / 1000), nanos: 0 };
  const namespaced = new Map<string, PolicyReport>();
  for (const namespace of [...options.namespaces].sort())
    namespaced.set(namespace, emptyReport("PolicyReport", NAMESPACE_REPORT_NAME, namespace));
  const cluster = options.cluster ? emptyReport("ClusterPolicyReport", CLUSTER_REPORT_NAME) : undefined;
  for (const finding of findings) {
    const namespace = reportNamespace(finding.resource);
    const report = namespace === undefined ? cluster : namespaced.get(namespace);
    if (!report) continue;
    report.results.push(resultOf(finding, timestamp, options));
    report.summary[finding.status]++;
  }
  for (const report of [...namespaced.values(), ...(cluster ? [cluster] : [])])
    report.results.sort(compareResults);
  return cluster ? { namespaced, cluster } : { namespaced };
}

/**
 * The namespace whose report holds a finding: the object's namespace, and for a Namespace
 * itself its own name (namespace owners read their report, not the cluster's); undefined for
 * other cluster-scoped objects.
 */
export function reportNamespace(ref: ResourceRef): string | undefined {
  return ref.namespace ?? (ref.kind === "Namespace" && ref.apiVersion === "v1" ? ref.name : undefined);
}

function emptyReport(kind: PolicyReport["kind"], name: string, namespace?: string): PolicyReport {
  return {
    apiVersion: POLICY_REPORT_API_VERSION,
    kind,
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}), labels: { ...MANAGED_BY_LABEL } },
    summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 },
    results: [],
  };
}

function resultOf(
  finding: Finding,
  timestamp: PolicyReportResult["timestamp"],
  options: BuildReportsOptions,
): PolicyReportResult {
  const ref = finding.resource;
  const uid = options.uids?.get(refKey(ref));
  const properties = frameworkProperties(finding.frameworks);
  if (finding.path !== "") properties.path = finding.path;
  return {
    source: REPORT_SOURCE,
    policy: finding.ruleId,
    rule: finding.ruleId,
    result: finding.status,
    severity: finding.severity,
    category: options.categoryOf?.(finding) ?? categoryOf(finding.frameworks),
    message: finding.message,
    resources: [
      {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
        name: ref.name,
        ...(uid !== undefined ? { uid } : {}),
      },
    ],
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
    timestamp,
  };
}

/** Framework references as report properties (strings only, as the CRD requires). */
export function frameworkProperties(frameworks: FrameworkRefs): Record<string, string> {
  const properties: Record<string, string> = {};
  if (frameworks.pss) properties.pss = `${frameworks.pss.level}/${frameworks.pss.check}`;
  if (frameworks.cis?.length) properties.cis = frameworks.cis.join(",");
  if (frameworks.nsa?.length) properties.nsa = frameworks.nsa.join(";");
  if (frameworks.nist?.length) properties.nist = frameworks.nist.join(",");
  if (frameworks.mitre?.length) properties.mitre = frameworks.mitre.join(",");
  return properties;
}

/** A result's category: the Pod Security Standards level, else a framework family. */
export function categoryOf(frameworks: FrameworkRefs): string {
  if (frameworks.pss) return `Pod Security Standards (${frameworks.pss.level})`;
  if (frameworks.cis?.length || frameworks.nsa?.length || frameworks.nist?.length || frameworks.mitre?.length)
    return "Hardening";
  return "Policy";
}

function compareResults(a: PolicyReportResult, b: PolicyReportResult): number {
  const ka = resultKey(a);
  const kb = resultKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function resultKey(r: PolicyReportResult): string {
  const ref = r.resources[0];
  return `${ref?.kind}/${ref?.name}\u0000${r.policy}\u0000${r.properties?.path ?? ""}\u0000${r.message}`;
}

/**
 * Whether two reports say the same: summary and results compared field by field, ignoring
 * metadata and result timestamps (so an unchanged cluster causes no write). Never throws.
 */
export function sameReportContent(
  a: { summary?: unknown; results?: unknown },
  b: { summary?: unknown; results?: unknown },
): boolean {
  return (
    canonical(normalSummary(a.summary)) === canonical(normalSummary(b.summary)) &&
    canonical(stripTimestamps(a.results)) === canonical(stripTimestamps(b.results))
  );
}

function normalSummary(summary: unknown): Record<string, number> {
  const s = (summary ?? {}) as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of ["pass", "fail", "warn", "error", "skip"])
    out[key] = typeof s[key] === "number" ? s[key] : 0;
  return out;
}

function stripTimestamps(results: unknown): unknown[] {
  return (Array.isArray(results) ? results : []).map((r) => {
    if (r === null || typeof r !== "object") return r;
    const { timestamp: _timestamp, ...rest } = r as Record<string, unknown>;
    return rest;
  });
}

/** JSON with object keys sorted, so key order does not matter. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
        )
      : v,
  );
}

/**
 * Serialized size a report part should stay under. etcd refuses requests above 1.5 MiB
 * (`--max-request-bytes`); the API server adds metadata (managedFields, uid, timestamps), so
 * belay aims well below that.
 */
export const MAX_REPORT_BYTES = 1_000_000;

/** The name of part `index` (0-based) of a report: `belay`, `belay-2`, `belay-3`, … */
export function reportPartName(base: string, index: number): string {
  return index === 0 ? base : `${base}-${index + 1}`;
}

/**
 * The 0-based part index of `name` for a report named `base`, or undefined when `name` is
 * not one of its parts (`belay` → 0, `belay-3` → 2, `belay-cluster` → undefined for `belay`).
 */
export function reportPartIndex(base: string, name: string): number | undefined {
  if (name === base) return 0;
  if (!name.startsWith(`${base}-`)) return undefined;
  const suffix = name.slice(base.length + 1);
  if (!/^[1-9][0-9]*$/.test(suffix)) return undefined;
  const n = Number(suffix);
  return n >= 2 ? n - 1 : undefined;
}

/** What {@link splitReport} needs of a report (both report APIs have it). */
export interface SplittableReport<R> {
  metadata: { name: string };
  summary: PolicyReportSummary;
  results: R[];
}

/**
 * Split a report into parts whose JSON stays under `maxBytes`: the first part keeps the
 * name, the others are named `<name>-2`, `<name>-3`, …; each part's summary counts its own
 * results (the sum over parts is the report's summary). Results keep their order, so the same
 * report always splits the same way and unchanged parts cause no write. A report that fits
 * is returned as the only part (the same object). A single result larger than `maxBytes`
 * gets a part of its own. Pure; never throws.
 */
export function splitReport<R extends { result: Status }, T extends SplittableReport<R>>(
  report: T,
  maxBytes: number = MAX_REPORT_BYTES,
): T[] {
  const envelope = jsonBytes({ ...report, results: [] });
  const sizes = report.results.map((r) => jsonBytes(r) + 1);
  if (envelope + sizes.reduce((a, b) => a + b, 0) <= maxBytes) return [report];
  const parts: T[] = [];
  let current: R[] = [];
  let size = envelope;
  const flush = () => {
    const summary: PolicyReportSummary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of current) summary[r.result]++;
    parts.push({
      ...report,
      metadata: { ...report.metadata, name: reportPartName(report.metadata.name, parts.length) },
      summary,
      results: current,
    });
    current = [];
    size = envelope;
  };
  report.results.forEach((result, i) => {
    const bytes = sizes[i] ?? 0;
    if (current.length > 0 && size + bytes > maxBytes) flush();
    current.push(result);
    size += bytes;
  });
  if (current.length > 0 || parts.length === 0) flush();
  return parts;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
