/**
 * The default admission decision policy: which findings deny, which warn, which are only
 * logged. Pure: no I/O.
 *
 * - `fail` of a Pod Security Standards rule (baseline or restricted), of a critical or high
 *   severity rule, or of a user ValidatingAdmissionPolicy whose binding says Deny → deny.
 * - every other `fail` (medium, low, info) and every `warn` → a warning.
 * - `error` (the rule or policy could not be evaluated) → logged, never denies by itself.
 */
import { atOrAbove, type Finding, refLabel } from "../findings/finding.ts";

/** The API server truncates each warning to 256 characters when there are many; we never exceed it. */
export const MAX_WARNING_LENGTH = 256;

/** What the findings on one request mean for admission. */
export interface Decision {
  deny: Finding[];
  warn: Finding[];
  error: Finding[];
}

/** Split findings into deny, warn and error. `policyIds` are the names of user policies. */
export function classify(findings: readonly Finding[], policyIds: ReadonlySet<string>): Decision {
  const decision: Decision = { deny: [], warn: [], error: [] };
  for (const finding of findings) {
    if (finding.status === "error") decision.error.push(finding);
    else if (finding.status === "warn") decision.warn.push(finding);
    else if (finding.status === "fail") {
      const blocking =
        finding.frameworks.pss !== undefined ||
        atOrAbove(finding.severity, "high") ||
        policyIds.has(finding.ruleId);
      (blocking ? decision.deny : decision.warn).push(finding);
    }
  }
  return decision;
}

/** Key of a finding for comparing an object before and after an update. */
export function findingKey(finding: Finding): string {
  return `${finding.ruleId}\u0000${finding.path}\u0000${finding.message}`;
}

/**
 * On UPDATE, a denying finding the old object already had does not deny (it becomes a
 * warning): removing a finalizer, changing a label or scaling must not be blocked because
 * the object was non-compliant before the webhook was installed. New violations still deny.
 */
export function ratchet(decision: Decision, oldFindings: readonly Finding[]): Decision {
  const before = new Set(oldFindings.filter((f) => f.status === "fail").map(findingKey));
  const deny: Finding[] = [];
  const warn = [...decision.warn];
  for (const finding of decision.deny) (before.has(findingKey(finding)) ? warn : deny).push(finding);
  return { deny, warn, error: decision.error };
}

/** One warning: `[rule-id] message`, cut to {@link MAX_WARNING_LENGTH} characters. */
export function warningText(finding: Finding): string {
  const text = `[${finding.ruleId}] ${finding.message}`.replace(/[\r\n\t]+/g, " ");
  const chars = [...text];
  return chars.length <= MAX_WARNING_LENGTH ? text : `${chars.slice(0, MAX_WARNING_LENGTH - 1).join("")}…`;
}

/**
 * The denial message: the object, then for each denying rule (sorted by id) every offending
 * field with its message, and how to fix it. Deterministic for the same findings.
 */
export function denialMessage(deny: readonly Finding[]): string {
  const first = deny[0];
  if (first === undefined) return "";
  const byRule = new Map<string, Finding[]>();
  for (const finding of deny) byRule.set(finding.ruleId, [...(byRule.get(finding.ruleId) ?? []), finding]);
  const ids = [...byRule.keys()].sort();
  const lines = [
    `belay denied ${refLabel(first.resource)}: ${deny.length} violation${deny.length === 1 ? "" : "s"} of ${ids.length} rule${ids.length === 1 ? "" : "s"} (${ids.join(", ")})`,
  ];
  for (const id of ids) {
    const group = byRule.get(id) ?? [];
    for (const finding of group)
      lines.push(`- [${id}] ${finding.path === "" ? "" : `${finding.path}: `}${finding.message}`);
    lines.push(`  fix: ${(group[0] as Finding).remediation}`);
  }
  return lines.join("\n");
}
