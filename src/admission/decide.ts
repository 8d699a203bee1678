/**
 * How findings are shown to the API server: the denial message, warning texts, and the key
 * that compares findings of an object before and after an update. Which finding denies,
 * warns or is audited is the action table's job (config.ts). Pure: no I/O.
 */
import { type Finding, refLabel } from "../findings/finding.ts";

/** The API server truncates each warning to 256 characters when there are many; we never exceed it. */
export const MAX_WARNING_LENGTH = 256;

/** What the findings on one request mean for admission (audit-only findings are kept apart). */
export interface Decision {
  deny: Finding[];
  warn: Finding[];
  error: Finding[];
}

/** Key of a finding for comparing an object before and after an update. */
export function findingKey(finding: Finding): string {
  return `${finding.ruleId}\u0000${finding.path}\u0000${finding.message}`;
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
