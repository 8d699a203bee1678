/**
 * The RBAC data model belay reasons about: Kubernetes' `rbac.authorization.k8s.io/v1`
 * objects reduced to what authorization reads, plus the request and user shapes of the
 * API server's authorizer (`authorizer.Attributes`, `user.Info`).
 */
import type { Resource } from "../resources/types.ts";

/** A `rules[i]` entry of a Role or ClusterRole; absent lists are empty. */
export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

/** A binding subject as written (`kind` User, Group or ServiceAccount; others match nobody). */
export interface Subject {
  kind: string;
  name: string;
  /** For ServiceAccount subjects; empty in a RoleBinding means the binding's namespace. */
  namespace?: string;
}

/** A binding's `roleRef`. */
export interface RoleRef {
  kind: string;
  name: string;
}

/** One `matchExpressions` entry of a label selector. */
export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values: string[];
}

/** A `metav1.LabelSelector`. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: LabelSelectorRequirement[];
}

/** A Role (namespaced) or ClusterRole. */
export interface RbacRole {
  kind: "Role" | "ClusterRole";
  name: string;
  /** Set for Roles only. */
  namespace?: string;
  labels: Record<string, string>;
  rules: PolicyRule[];
  /** ClusterRoles only: the selectors whose roles' rules the aggregation controller copies in. */
  aggregationRule?: { clusterRoleSelectors: LabelSelector[] };
  /** Where it was read from, for findings. */
  source?: Resource;
}

/** A RoleBinding (namespaced) or ClusterRoleBinding. */
export interface RbacBinding {
  kind: "RoleBinding" | "ClusterRoleBinding";
  name: string;
  /** Set for RoleBindings only. */
  namespace?: string;
  roleRef: RoleRef;
  subjects: Subject[];
  source?: Resource;
}

/** Every RBAC object of one state (a manifest set or a cluster). */
export interface RbacObjects {
  roles: RbacRole[];
  bindings: RbacBinding[];
}

/** An authenticated identity as the authorizer sees it (`user.Info`: name and groups). */
export interface UserInfo {
  name: string;
  groups: string[];
}

/** A request on an API resource (`IsResourceRequest() == true`). */
export interface ResourceRequest {
  kind: "resource";
  verb: string;
  apiGroup: string;
  resource: string;
  /** `""` when none. */
  subresource: string;
  /** `""` when the request names no object (list, create, ...). */
  name: string;
  /** `""` for cluster-scoped requests and requests across all namespaces. */
  namespace: string;
}

/** A request on a non-resource URL such as `/healthz` or `/apis`. */
export interface NonResourceRequest {
  kind: "nonResource";
  verb: string;
  path: string;
}

/** What is asked: the authorizer's attributes apart from the user. */
export type RbacRequest = ResourceRequest | NonResourceRequest;

/** Build a resource request; omitted fields are `""`. */
export function resourceRequest(
  fields: Partial<Omit<ResourceRequest, "kind">> & { verb: string; resource: string },
): ResourceRequest {
  return {
    kind: "resource",
    verb: fields.verb,
    apiGroup: fields.apiGroup ?? "",
    resource: fields.resource,
    subresource: fields.subresource ?? "",
    name: fields.name ?? "",
    namespace: fields.namespace ?? "",
  };
}

/** Build a non-resource request. */
export function nonResourceRequest(verb: string, path: string): NonResourceRequest {
  return { kind: "nonResource", verb, path };
}

/** `Role "ns/name"`-style stable reference strings used in output: `Kind/name` or `Kind/ns/name`. */
export function objectKey(object: { kind: string; name: string; namespace?: string }): string {
  return object.namespace
    ? `${object.kind}/${object.namespace}/${object.name}`
    : `${object.kind}/${object.name}`;
}
