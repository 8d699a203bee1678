/**
 * ClusterRole aggregation as kube-controller-manager's clusterrole-aggregation controller
 * does it (`pkg/controller/clusterroleaggregation`): an aggregated ClusterRole's rules are
 * replaced by the rules of every ClusterRole matched by any of its `clusterRoleSelectors`
 * (selectors in order, matched roles sorted by name, itself skipped, duplicates dropped).
 * Matched roles contribute their current rules, so aggregation chains (a role aggregating
 * aggregated roles) resolve after repeated syncs; offline this is a fixed point.
 */
import type { LabelSelector, PolicyRule, RbacRole } from "./types.ts";

/**
 * `metav1.LabelSelectorAsSelector(...).Matches(labels)`. An empty selector matches every
 * object. Returns undefined for a selector the API server would reject (unknown operator,
 * `In`/`NotIn` without values, `Exists`/`DoesNotExist` with values).
 */
export function selectorMatches(
  selector: LabelSelector,
  labels: Record<string, string>,
): boolean | undefined {
  let matches = true;
  for (const [key, value] of Object.entries(selector.matchLabels)) if (labels[key] !== value) matches = false;
  for (const { key, operator, values } of selector.matchExpressions) {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case "In":
        if (values.length === 0) return undefined;
        if (!has || !values.includes(labels[key] as string)) matches = false;
        break;
      case "NotIn":
        if (values.length === 0) return undefined;
        if (has && values.includes(labels[key] as string)) matches = false;
        break;
      case "Exists":
        if (values.length > 0) return undefined;
        if (!has) matches = false;
        break;
      case "DoesNotExist":
        if (values.length > 0) return undefined;
        if (has) matches = false;
        break;
      default:
        return undefined;
    }
  }
  return matches;
}

/** Interns rules: equal rules (as the controller's DeepEqual sees them) get the same number. */
class RuleIds {
  private readonly byRule = new Map<PolicyRule, number>();
  private readonly byKey = new Map<string, number>();
  id(rule: PolicyRule): number {
    let id = this.byRule.get(rule);
    if (id === undefined) {
      const key = JSON.stringify([
        rule.verbs,
        rule.apiGroups,
        rule.resources,
        rule.resourceNames,
        rule.nonResourceURLs,
      ]);
      id = this.byKey.get(key);
      if (id === undefined) {
        id = this.byKey.size;
        this.byKey.set(key, id);
      }
      this.byRule.set(rule, id);
    }
    return id;
  }
}

/** Where an aggregated rule came from. */
export interface AggregatedRuleSource {
  /** The ClusterRole whose rule was copied. */
  from: string;
}

/** The result of aggregation: roles with their final rules, and selectors that could not be used. */
export interface AggregationResult {
  roles: RbacRole[];
  problems: string[];
}

/**
 * Returns `roles` with every aggregated ClusterRole's rules computed (other roles are kept
 * as they are, by identity). An aggregated role with an invalid selector keeps its rules as
 * written (the controller fails to sync it) and is reported. Cycles resolve to the fixed
 * point reached by syncing in name order; the real controller may settle elsewhere for
 * cyclic aggregation whose roles carry rules of their own (a documented difference).
 */
export function aggregateClusterRoles(roles: readonly RbacRole[]): AggregationResult {
  const problems: string[] = [];
  const clusterRoles = roles
    .filter((r) => r.kind === "ClusterRole")
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const current = new Map<string, PolicyRule[]>(clusterRoles.map((r) => [r.name, r.rules]));
  const aggregated = clusterRoles.filter((r) => r.aggregationRule !== undefined);
  const invalid = new Set<string>();
  const byLabel = new Map<string, RbacRole[]>();
  for (const role of clusterRoles)
    for (const [key, value] of Object.entries(role.labels)) {
      const list = byLabel.get(`${key}=${value}`);
      if (list) list.push(role);
      else byLabel.set(`${key}=${value}`, [role]);
    }
  // Which roles each aggregated role selects never changes (labels are fixed): compute once.
  const selected = new Map<string, RbacRole[][]>();
  for (const role of aggregated) {
    const perSelector: RbacRole[][] = [];
    for (const selector of role.aggregationRule?.clusterRoleSelectors ?? []) {
      const matched: RbacRole[] = [];
      // Only roles carrying the selector's first matchLabels pair can match (same order as clusterRoles).
      const first = Object.entries(selector.matchLabels)[0];
      const candidates = first === undefined ? clusterRoles : (byLabel.get(`${first[0]}=${first[1]}`) ?? []);
      if (
        first !== undefined &&
        selector.matchExpressions.some(
          (e) => selectorMatches({ matchLabels: {}, matchExpressions: [e] }, {}) === undefined,
        )
      )
        invalid.add(role.name);
      for (const candidate of invalid.has(role.name) ? [] : candidates) {
        const m = selectorMatches(selector, candidate.labels);
        if (m === undefined) {
          invalid.add(role.name);
          break;
        }
        if (m && candidate.name !== role.name) matched.push(candidate);
      }
      perSelector.push(matched);
    }
    if (invalid.has(role.name))
      problems.push(
        `ClusterRole "${role.name}" has an invalid aggregation selector; its rules are kept as written`,
      );
    else selected.set(role.name, perSelector);
  }
  // Sync in dependency order (a role after the aggregated roles it selects), so an acyclic
  // chain settles in one pass; further passes (in name order) only matter for cycles.
  const order: RbacRole[] = [];
  const state = new Map<string, "visiting" | "done">();
  let cyclic = false;
  const visit = (role: RbacRole) => {
    if (state.get(role.name) === "visiting") cyclic = true;
    if (state.has(role.name)) return;
    state.set(role.name, "visiting");
    for (const matched of selected.get(role.name) ?? [])
      for (const dep of matched) if (dep.aggregationRule !== undefined) visit(dep);
    state.set(role.name, "done");
    order.push(role);
  };
  for (const role of aggregated) visit(role);
  const ids = new RuleIds();
  for (let round = 0; round <= aggregated.length + 1; round++) {
    let changed = false;
    for (const role of round === 0 ? order : aggregated) {
      const perSelector = selected.get(role.name);
      if (perSelector === undefined) continue;
      const rules: PolicyRule[] = [];
      const seen = new Set<number>();
      for (const matched of perSelector)
        for (const source of matched)
          for (const rule of current.get(source.name) ?? []) {
            const id = ids.id(rule);
            if (seen.has(id)) continue;
            seen.add(id);
            rules.push(rule);
          }
      // The controller applies the aggregated rules with server-side apply; with no matching
      // role it applies no rules field at all, so the rules as written stay (seen on 1.37).
      if (rules.length === 0) rules.push(...role.rules);
      const before = current.get(role.name) ?? [];
      if (
        before.length !== rules.length ||
        before.some((r, i) => ids.id(r) !== ids.id(rules[i] as PolicyRule))
      ) {
        current.set(role.name, rules);
        changed = true;
      }
    }
    if (!changed || !cyclic) break;
  }
  return {
    roles: roles.map((r) =>
      r.kind === "ClusterRole" && r.aggregationRule !== undefined && selected.has(r.name)
        ? { ...r, rules: current.get(r.name) ?? [] }
        : r,
    ),
    problems,
  };
}
