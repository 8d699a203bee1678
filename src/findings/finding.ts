/**
 * The finding: belay's one result vocabulary, shared by scan, webhook and audit.
 */

/** A finding's outcome. `error` (evaluation failed) is never reported as `fail`. */
export type Status = "pass" | "fail" | "warn" | "error" | "skip";

/** Severities, most severe first. */
export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** True when `value` is one of {@link SEVERITIES}. */
export function isSeverity(value: unknown): value is Severity {
  return typeof value === "string" && (SEVERITIES as readonly string[]).includes(value);
}

/** Rank of a severity: critical is 4, info is 0. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.length - 1 - SEVERITIES.indexOf(severity);
}

/** True when `severity` is at or above `threshold`. */
export function atOrAbove(severity: Severity, threshold: Severity): boolean {
  return severityRank(severity) >= severityRank(threshold);
}

/** Pod Security Standards levels. */
export type PssLevel = "baseline" | "restricted";

/** References into the security frameworks a rule maps to. Every field is optional. */
export interface FrameworkRefs {
  /** Pod Security Standards level and upstream check id (e.g. `privileged`). */
  pss?: { level: PssLevel; check: string };
  /** CIS Kubernetes Benchmark, section 5 ids, e.g. `5.2.2`. */
  cis?: string[];
  /** NSA/CISA Kubernetes Hardening Guidance section titles. */
  nsa?: string[];
  /** NIST SP 800-190 risk sections, `4.1.1` … `4.5.x`. */
  nist?: string[];
  /** MITRE ATT&CK for Containers technique ids, e.g. `T1611`. */
  mitre?: string[];
}

/** Identity of a Kubernetes object. */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** One result of one rule or policy on one resource (and, for failures, one field). */
export interface Finding {
  ruleId: string;
  status: Status;
  severity: Severity;
  title: string;
  message: string;
  resource: ResourceRef;
  /** Field path of the offending field, e.g. `spec.template.spec.containers[0].image`; empty for the whole object. */
  path: string;
  file?: string;
  line?: number;
  column?: number;
  remediation: string;
  frameworks: FrameworkRefs;
}

/** An input problem: the input is skipped, the others are still processed. */
export interface InputError {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

/** Compare findings for deterministic output: file, line, column, rule id, path. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    cmp(a.file ?? "", b.file ?? "") ||
    (a.line ?? 0) - (b.line ?? 0) ||
    (a.column ?? 0) - (b.column ?? 0) ||
    cmp(refKey(a.resource), refKey(b.resource)) ||
    cmp(a.ruleId, b.ruleId) ||
    cmp(a.path, b.path) ||
    cmp(a.message, b.message)
  );
}

/** A stable key for a resource reference: `kind/namespace/name`. */
export function refKey(ref: ResourceRef): string {
  return `${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

/** Human label of a resource: `Deployment default/web` or `ClusterRole admin`. */
export function refLabel(ref: ResourceRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
