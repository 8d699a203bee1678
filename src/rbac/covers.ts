/**
 * RBAC's privilege-escalation check, from `pkg/registry/rbac/validation/policy_comparator.go`:
 * whether a set of rules covers another, i.e. whether a subject holding `owner` may create or
 * bind a role with `servant` without the escalate/bind verbs.
 */
import { ALL } from "./match.ts";
import type { PolicyRule } from "./types.ts";

function rule(fields: Partial<PolicyRule>): PolicyRule {
  return { verbs: [], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: [], ...fields };
}

/** `BreakdownRule`: one rule per group × resource × verb (× name), and per URL × verb. */
export function breakdownRule(source: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of source.apiGroups)
    for (const resource of source.resources)
      for (const verb of source.verbs) {
        if (source.resourceNames.length > 0) {
          for (const name of source.resourceNames)
            out.push(
              rule({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] }),
            );
        } else out.push(rule({ apiGroups: [group], resources: [resource], verbs: [verb] }));
      }
  for (const url of source.nonResourceURLs)
    for (const verb of source.verbs) out.push(rule({ nonResourceURLs: [url], verbs: [verb] }));
  return out;
}

function hasAll(set: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((w) => set.includes(w));
}

function resourceCoversAll(set: readonly string[], wanted: readonly string[]): boolean {
  if (set.includes(ALL) || hasAll(set, wanted)) return true;
  for (const path of wanted) {
    if (set.includes(path)) continue;
    const slash = path.indexOf("/");
    if (slash < 0) return false;
    if (!set.includes(`*/${path.slice(slash + 1)}`)) return false;
  }
  return true;
}

function nonResourceUrlCovers(owner: string, sub: string): boolean {
  if (owner === sub) return true;
  return owner.endsWith("*") && sub.startsWith(owner.replace(/\*+$/, ""));
}

/** `ruleCovers`: whether `owner` grants everything the (broken-down) `sub` grants. */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = owner.verbs.includes(ALL) || hasAll(owner.verbs, sub.verbs);
  const groups = owner.apiGroups.includes(ALL) || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources);
  const urls = sub.nonResourceURLs.every((path) =>
    owner.nonResourceURLs.some((o) => nonResourceUrlCovers(o, path)),
  );
  const names =
    sub.resourceNames.length === 0
      ? owner.resourceNames.length === 0
      : owner.resourceNames.length === 0 || hasAll(owner.resourceNames, sub.resourceNames);
  return verbs && groups && resources && names && urls;
}

/**
 * `Covers`: whether `owner` covers every rule of `servant`; `uncovered` lists the broken-down
 * rules it does not cover. Never throws.
 */
export function covers(
  owner: readonly PolicyRule[],
  servant: readonly PolicyRule[],
): { covered: boolean; uncovered: PolicyRule[] } {
  const uncovered = servant.flatMap(breakdownRule).filter((sub) => !owner.some((o) => ruleCovers(o, sub)));
  return { covered: uncovered.length === 0, uncovered };
}
