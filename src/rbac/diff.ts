/**
 * What changed in effective permissions between two RBAC states, per bound subject and
 * scope. A permission is added when the new state grants a (broken-down) rule the old one
 * does not cover, by RBAC's own coverage check (covers.ts), so rewriting `[get, list]` as
 * two rules, or replacing rules by a `*` that covers them, is not reported as removed.
 */
import type { RbacIndex, SubjectRef } from "./authorizer.ts";
import { normalizeSubject } from "./authorizer.ts";
import { breakdownRule, ruleCovers } from "./covers.ts";
import type { PolicyRule } from "./types.ts";

/** One subject's change in one scope. */
export interface PermissionChange extends SubjectRef {
  /** `""` for cluster-wide (ClusterRoleBindings), else a namespace. */
  scope: string;
  added: PolicyRule[];
  removed: PolicyRule[];
}

type Holdings = Map<string, { ref: SubjectRef; scopes: Map<string, PolicyRule[]> }>;

function holdings(index: RbacIndex): Holdings {
  const out: Holdings = new Map();
  for (const { binding, rules } of index.bindings()) {
    const scope = binding.kind === "RoleBinding" ? (binding.namespace ?? "") : "";
    for (const subject of binding.subjects) {
      const ref = normalizeSubject(subject, scope);
      if (ref === undefined) continue;
      const key = `${ref.kind}\u0000${ref.namespace ?? ""}\u0000${ref.name}`;
      let entry = out.get(key);
      if (entry === undefined) {
        entry = { ref, scopes: new Map() };
        out.set(key, entry);
      }
      const list = entry.scopes.get(scope) ?? [];
      list.push(...rules);
      entry.scopes.set(scope, list);
    }
  }
  return out;
}

function uncovered(owner: readonly PolicyRule[], rules: readonly PolicyRule[], scope: string): PolicyRule[] {
  const out: PolicyRule[] = [];
  const seen = new Set<string>();
  for (const sub of rules.flatMap(breakdownRule)) {
    // Non-resource URLs are granted only cluster-wide.
    if (scope !== "" && sub.nonResourceURLs.length > 0) continue;
    if (owner.some((o) => ruleCovers(o, sub))) continue;
    const key = JSON.stringify(sub);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(sub);
  }
  return out;
}

/**
 * Changes from `before` to `after`, sorted by subject kind, namespace, name and scope. Rules
 * are broken down (one verb, group, resource and name each). Never throws.
 */
export function diffPermissions(before: RbacIndex, after: RbacIndex): PermissionChange[] {
  const a = holdings(before);
  const b = holdings(after);
  const changes: PermissionChange[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const ref = (a.get(key) ?? b.get(key))?.ref as SubjectRef;
    const aScopes = a.get(key)?.scopes ?? new Map<string, PolicyRule[]>();
    const bScopes = b.get(key)?.scopes ?? new Map<string, PolicyRule[]>();
    for (const scope of new Set([...aScopes.keys(), ...bScopes.keys()])) {
      const ownerA = [...(aScopes.get("") ?? []), ...(scope === "" ? [] : (aScopes.get(scope) ?? []))];
      const ownerB = [...(bScopes.get("") ?? []), ...(scope === "" ? [] : (bScopes.get(scope) ?? []))];
      const added = uncovered(ownerA, bScopes.get(scope) ?? [], scope);
      const removed = uncovered(ownerB, aScopes.get(scope) ?? [], scope);
      if (added.length > 0 || removed.length > 0) changes.push({ ...ref, scope, added, removed });
    }
  }
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return changes.sort(
    (x, y) =>
      cmp(x.kind, y.kind) ||
      cmp(x.namespace ?? "", y.namespace ?? "") ||
      cmp(x.name, y.name) ||
      cmp(x.scope, y.scope),
  );
}
