/**
 * Reading RBAC objects for the `rbac-*` rules: the policy rules of Roles and ClusterRoles, and
 * whether an object is one of Kubernetes' own bootstrap defaults (not authored by the user).
 */
import type { FieldPath } from "../../../resources/path.ts";
import type { Resource } from "../../../resources/types.ts";
import { asArray, asObject, isObject, stringEntries } from "./objects.ts";

/** A string entry of a policy rule list, with its index. */
export interface RuleEntry {
  value: string;
  index: number;
}

/** One `rules[i]` of a Role or ClusterRole, its lists read defensively. */
export interface PolicyRuleRef {
  index: number;
  path: FieldPath;
  apiGroups: RuleEntry[];
  resources: RuleEntry[];
  verbs: RuleEntry[];
  resourceNames: RuleEntry[];
  nonResourceURLs: RuleEntry[];
}

const RBAC_GROUP = "rbac.authorization.k8s.io";

/** True for `rbac.authorization.k8s.io/*` objects of the given kinds. */
export function isRbacKind(resource: Resource, kinds: readonly string[]): boolean {
  return kinds.includes(resource.ref.kind) && resource.ref.apiVersion.startsWith(`${RBAC_GROUP}/`);
}

/**
 * Kubernetes' bootstrap policy (cluster-admin, system:* roles and their bindings) carries the
 * label `kubernetes.io/bootstrapping: rbac-defaults`; it is not the user's to fix.
 */
export function isBootstrapPolicy(resource: Resource): boolean {
  const labels = asObject(asObject(resource.object.metadata).labels);
  return labels["kubernetes.io/bootstrapping"] === "rbac-defaults";
}

/**
 * The rules of a user-authored Role or ClusterRole; none for other objects, for bootstrap
 * policy, and for aggregated ClusterRoles (their rules are written by the controller).
 */
export function policyRules(resource: Resource): PolicyRuleRef[] {
  if (!isRbacKind(resource, ["Role", "ClusterRole"]) || isBootstrapPolicy(resource)) return [];
  if (resource.ref.kind === "ClusterRole" && isObject(resource.object.aggregationRule)) return [];
  const rules: PolicyRuleRef[] = [];
  asArray(resource.object.rules).forEach((rule, index) => {
    if (!isObject(rule)) return;
    rules.push({
      index,
      path: ["rules", index],
      apiGroups: stringEntries(rule.apiGroups),
      resources: stringEntries(rule.resources),
      verbs: stringEntries(rule.verbs),
      resourceNames: stringEntries(rule.resourceNames),
      nonResourceURLs: stringEntries(rule.nonResourceURLs),
    });
  });
  return rules;
}

/** A `Role "name"` / `ClusterRole "name"` label with the namespace of a Role. */
export function roleLabel(resource: Resource): string {
  return resource.ref.namespace
    ? `${resource.ref.kind} "${resource.ref.name}" in namespace "${resource.ref.namespace}"`
    : `${resource.ref.kind} "${resource.ref.name}"`;
}
