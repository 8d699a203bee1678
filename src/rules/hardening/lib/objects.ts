/**
 * Defensive readers for arbitrary YAML: every rule input is untrusted, so fields are read
 * through these guards instead of trusting the Kubernetes types.
 */
import type { Resource } from "../../../resources/types.ts";

/** True for a plain mapping (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `value` as a mapping, or an empty one when it is anything else. Never throws. */
export function asObject(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

/** `value` as an array, or an empty one when it is anything else. Never throws. */
export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `value` when it is a non-empty string, otherwise undefined. */
export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The string entries of a list field (non-strings are skipped), with their indexes. */
export function stringEntries(value: unknown): { value: string; index: number }[] {
  const entries: { value: string; index: number }[] = [];
  asArray(value).forEach((item, index) => {
    if (typeof item === "string") entries.push({ value: item, index });
  });
  return entries;
}

/** The labels of a metadata object as a string map; non-string values are dropped. */
export function labelsOf(metadata: unknown): Record<string, string> {
  const labels: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(asObject(asObject(metadata).labels))) {
    if (typeof value === "string") labels[key] = value;
  }
  return labels;
}

/**
 * Namespace key used to relate objects of one scan: the namespace as written, or "" when the
 * object names none (it then lands wherever it is applied, so it only relates to others that
 * name none either).
 */
export function namespaceKey(resource: Resource): string {
  return resource.ref.namespace ?? "";
}

/** `Deployment "web"`: a resource's kind and quoted name, for messages. */
export function objectLabel(resource: Resource): string {
  return `${resource.ref.kind} "${resource.ref.name}"`;
}

/** `"a", "b"`: quote and join names for messages (input order kept; sort first where needed). */
export function quoteList(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(", ");
}
