/**
 * Matching applied to the entries of a rule as written (with their list indexes), for
 * checks that must point at the exact `rules[i].resources[j]` that grants something. Every
 * predicate is the authorizer's own (see match.ts): one implementation of RBAC matching.
 */
import { apiGroupEntryMatches, resourceEntryMatches, verbEntryMatches } from "./match.ts";

/** A string entry of a rule list and its index. */
export interface Entry {
  value: string;
  index: number;
}

/** A rule as written, each list with indexes (see `policyRules` of the hardening rules). */
export interface EntryRule {
  apiGroups: readonly Entry[];
  resources: readonly Entry[];
  verbs: readonly Entry[];
  resourceNames: readonly Entry[];
  nonResourceURLs: readonly Entry[];
}

/** Whether the rule's apiGroups match any of `groups`. */
export function grantsGroup(rule: EntryRule, groups: readonly string[]): boolean {
  return rule.apiGroups.some((e) => groups.some((g) => apiGroupEntryMatches(e.value, g)));
}

/** The rule's verb entries that grant any of `verbs`, as sorted distinct values. */
export function grantingVerbs(rule: EntryRule, verbs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const e of rule.verbs) if (verbs.some((v) => verbEntryMatches(e.value, v))) out.add(e.value);
  return [...out].sort();
}

/** The rule's resource entries that match `resource[/subresource]` for any of `resources`. */
export function grantingResources(
  rule: EntryRule,
  resources: readonly (readonly [resource: string, subresource?: string])[],
): Entry[] {
  return rule.resources.filter((e) =>
    resources.some(([resource, subresource]) => resourceEntryMatches(e.value, resource, subresource ?? "")),
  );
}

/**
 * The rule's resource entries that match `resource` with some subresource (any key, as for
 * `userextras/<key>`): `*`, `resource/…` or `*\/…`.
 */
export function grantingAnySubresource(rule: EntryRule, resource: string): Entry[] {
  return rule.resources.filter(
    (e) =>
      e.value === "*" ||
      e.value.startsWith(`${resource}/`) ||
      (e.value.startsWith("*/") && e.value.length > 2),
  );
}
