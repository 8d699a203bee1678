/**
 * The `belay.dev/ignore` annotation: `"<rule-id>[,<rule-id>]: <reason>"`.
 * A suppression must say why; one without a reason (or naming an unknown rule) does not
 * suppress anything and is reported.
 */
import type { KubeObject } from "../resources/types.ts";

/** The annotation key. */
export const IGNORE_ANNOTATION = "belay.dev/ignore";

/** A parsed annotation: the rules it names and its reason, or why it is invalid. */
export type IgnoreAnnotation =
  | { valid: true; ruleIds: string[]; reason: string }
  | { valid: false; problem: string };

/** Read and parse the annotation of an object; undefined when it has none. Never throws. */
export function readIgnoreAnnotation(
  object: KubeObject,
  knownRuleIds: ReadonlySet<string>,
): IgnoreAnnotation | undefined {
  const metadata = object.metadata as { annotations?: Record<string, unknown> } | undefined;
  const raw = metadata?.annotations?.[IGNORE_ANNOTATION];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") return { valid: false, problem: "must be a string" };
  const colon = raw.indexOf(":");
  const idsText = colon < 0 ? raw : raw.slice(0, colon);
  const reason = colon < 0 ? "" : raw.slice(colon + 1).trim();
  const ruleIds = idsText
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
  if (ruleIds.length === 0)
    return { valid: false, problem: 'names no rule; write "<rule-id>[,<rule-id>]: <reason>"' };
  const unknown = ruleIds.filter((id) => !knownRuleIds.has(id)).sort();
  if (unknown.length > 0) {
    return { valid: false, problem: `names unknown rule ${unknown.map((id) => `"${id}"`).join(", ")}` };
  }
  if (reason === "") {
    return {
      valid: false,
      problem: `gives no reason; write "${ruleIds.join(",")}: <why this is acceptable>"`,
    };
  }
  return { valid: true, ruleIds, reason };
}
