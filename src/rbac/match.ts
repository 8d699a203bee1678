/**
 * RBAC rule and subject matching, reproduced from Kubernetes v1.37:
 * `pkg/apis/rbac/v1/evaluation_helpers.go` (VerbMatches, APIGroupMatches, ResourceMatches,
 * ResourceNameMatches, NonResourceURLMatches), `plugin/pkg/auth/authorizer/rbac/rbac.go`
 * (RuleAllows), `pkg/registry/rbac/validation/rule.go` (appliesToUser) and
 * `k8s.io/apiserver/pkg/authentication/serviceaccount` (usernames and groups).
 *
 * Everything is exact string comparison, case-sensitive, as upstream. Notably:
 * - `*` matches any verb, group, resource (with or without subresource) or URL;
 * - `*\/sub` matches subresource `sub` of any resource, but `pods/*` is NOT a wildcard: it
 *   only matches a request for the literal subresource `*`;
 * - a rule with `resourceNames` never matches a request without a name (list, create);
 * - a non-resource URL ending in `*` matches every path starting with it, all trailing
 *   stars removed (`/api*` matches `/apis`, `/api/v1`).
 */
import type { PolicyRule, RbacRequest, Subject, UserInfo } from "./types.ts";

/** `*`: every verb, group, resource or URL. */
export const ALL = "*";

/** Whether one `verbs` entry matches `verb`: `*` or equal. */
export function verbEntryMatches(entry: string, verb: string): boolean {
  return entry === ALL || entry === verb;
}

/** `VerbMatches`: a rule verb is `*` or equals the requested verb. */
export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.some((v) => verbEntryMatches(v, verb));
}

/** Whether one `apiGroups` entry matches `group`: `*` or equal (`""` is the core group). */
export function apiGroupEntryMatches(entry: string, group: string): boolean {
  return entry === ALL || entry === group;
}

/** `APIGroupMatches`: a rule group is `*` or equals the requested group (`""` is core). */
export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return rule.apiGroups.some((g) => apiGroupEntryMatches(g, group));
}

/**
 * Whether one `resources` entry matches `resource[/subresource]`: `*`, the exact combined
 * name, or `*\/subresource` when a subresource is requested (the ResourceMatches loop body).
 */
export function resourceEntryMatches(entry: string, resource: string, subresource: string): boolean {
  if (entry === ALL) return true;
  const combined = subresource === "" ? resource : `${resource}/${subresource}`;
  if (entry === combined) return true;
  if (subresource === "") return false;
  return entry.length === subresource.length + 2 && entry.startsWith("*/") && entry.endsWith(subresource);
}

/** `ResourceMatches`: some entry of the rule matches `resource[/subresource]`. */
export function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  return rule.resources.some((entry) => resourceEntryMatches(entry, resource, subresource));
}

/** `ResourceNameMatches`: no resourceNames, or one equals the requested name (`""` when none). */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  return rule.resourceNames.length === 0 || rule.resourceNames.includes(name);
}

/** Whether one `nonResourceURLs` entry matches `path`: `*`, equal, or a `*`-suffixed prefix. */
export function nonResourceUrlEntryMatches(entry: string, path: string): boolean {
  if (entry === ALL || entry === path) return true;
  // strings.TrimRight(ruleURL, "*") removes every trailing star.
  return entry.endsWith("*") && path.startsWith(entry.replace(/\*+$/, ""));
}

/** `NonResourceURLMatches`. */
export function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  return rule.nonResourceURLs.some((entry) => nonResourceUrlEntryMatches(entry, path));
}

/**
 * `RuleAllows`: whether `rule` grants `request`. Resource requests match verbs, groups,
 * resources and names (nonResourceURLs are ignored); non-resource requests match verbs and
 * nonResourceURLs only (a rule's groups and resources are ignored).
 */
export function ruleAllows(rule: PolicyRule, request: RbacRequest): boolean {
  if (request.kind === "resource") {
    return (
      verbMatches(rule, request.verb) &&
      apiGroupMatches(rule, request.apiGroup) &&
      resourceMatches(rule, request.resource, request.subresource) &&
      resourceNameMatches(rule, request.name)
    );
  }
  return verbMatches(rule, request.verb) && nonResourceUrlMatches(rule, request.path);
}

/** The username prefix of service accounts. */
export const SERVICE_ACCOUNT_USERNAME_PREFIX = "system:serviceaccount:";
/** Group of every service account. */
export const ALL_SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts";
/** Group of every authenticated request. */
export const ALL_AUTHENTICATED = "system:authenticated";
/** Group of every unauthenticated request. */
export const ALL_UNAUTHENTICATED = "system:unauthenticated";
/** The anonymous user. */
export const ANONYMOUS = "system:anonymous";
/** Members are allowed every request by the API server, before RBAC is consulted. */
export const PRIVILEGED_GROUP = "system:masters";

/** `serviceaccount.MakeUsername`: `system:serviceaccount:NS:NAME`. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_USERNAME_PREFIX}${namespace}:${name}`;
}

/** `serviceaccount.MakeGroupNames`: `system:serviceaccounts` and `system:serviceaccounts:NS`. */
export function serviceAccountGroups(namespace: string): string[] {
  return [ALL_SERVICE_ACCOUNTS_GROUP, `${ALL_SERVICE_ACCOUNTS_GROUP}:${namespace}`];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * `serviceaccount.SplitUsername`: namespace and name of a service account username, or
 * undefined when `username` is not one (exactly two `:`-separated parts after the prefix, a
 * valid namespace name and a valid service account name).
 */
export function splitServiceAccountUsername(
  username: string,
): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_USERNAME_PREFIX)) return undefined;
  const parts = username.slice(SERVICE_ACCOUNT_USERNAME_PREFIX.length).split(":");
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) return undefined;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) return undefined;
  return { namespace, name };
}

/**
 * `appliesToUser`: whether a binding subject designates `user`. `namespace` is the
 * RoleBinding's namespace (`""` for ClusterRoleBindings); it defaults a ServiceAccount
 * subject's namespace, and a ServiceAccount subject with neither matches nobody.
 */
export function subjectMatchesUser(subject: Subject, user: UserInfo, namespace: string): boolean {
  switch (subject.kind) {
    case "User":
      return user.name === subject.name;
    case "Group":
      return user.groups.includes(subject.name);
    case "ServiceAccount": {
      const saNamespace = subject.namespace ? subject.namespace : namespace;
      if (saNamespace === "") return false;
      return user.name === serviceAccountUsername(saNamespace, subject.name);
    }
    default:
      return false;
  }
}

/**
 * The user an impersonated request (`kubectl --as USER --as-group G`, the API server's
 * impersonation filter) is authorized as: a service account username gets the service
 * account groups when no group is given; every non-anonymous user gets
 * `system:authenticated` unless `system:authenticated` or `system:unauthenticated` is given;
 * `system:anonymous` gets `system:unauthenticated` unless given.
 */
export function impersonatedUser(name: string, groups: readonly string[]): UserInfo {
  let result = [...groups];
  const sa = splitServiceAccountUsername(name);
  if (sa !== undefined && groups.length === 0) result = serviceAccountGroups(sa.namespace);
  if (name !== ANONYMOUS) {
    if (!result.some((g) => g === ALL_AUTHENTICATED || g === ALL_UNAUTHENTICATED))
      result.push(ALL_AUTHENTICATED);
  } else if (!result.includes(ALL_UNAUTHENTICATED)) {
    result.push(ALL_UNAUTHENTICATED);
  }
  return { name, groups: result };
}
