/**
 * The RBAC authorizer, offline: who can do what under a set of Roles, ClusterRoles and
 * bindings, answering as kube-apiserver's authorizer chain (`system:masters`, then RBAC's
 * `VisitRulesFor`) would for the same objects.
 *
 * Built once, queried many times: bindings are indexed by subject (user name, group name;
 * a ServiceAccount subject under its username) and by namespace, roles by name.
 */
import { aggregateClusterRoles } from "./aggregate.ts";
import { PRIVILEGED_GROUP, ruleAllows, serviceAccountUsername, subjectMatchesUser } from "./match.ts";
import {
  objectKey,
  type PolicyRule,
  type RbacBinding,
  type RbacObjects,
  type RbacRequest,
  type RbacRole,
  type Subject,
  type UserInfo,
} from "./types.ts";

/** One way a request is granted: the binding, the role it references, the rule that matches. */
export interface Grant {
  /** `ClusterRoleBinding/name` or `RoleBinding/namespace/name`. */
  binding: string;
  /** `ClusterRole/name` or `Role/namespace/name`. */
  role: string;
  rule: PolicyRule;
}

/** The answer to "can USER do REQUEST": allowed or not, and every grant that allows it. */
export interface Decision {
  allowed: boolean;
  /** One sentence: why. */
  reason: string;
  /** Every binding/rule that grants it (empty when denied or allowed through system:masters). */
  grants: Grant[];
}

/** A subject as it designates users: kind, name and (for service accounts) namespace. */
export interface SubjectRef {
  kind: string;
  name: string;
  namespace?: string;
}

/** A subject that can do a request, and through which bindings. */
export interface WhoCanSubject extends SubjectRef {
  /** True for `system:masters`, allowed everything by the API server before RBAC. */
  privileged?: boolean;
  grants: { binding: string; role: string; namespace?: string }[];
}

/** A rule a subject holds, where it applies, and where it comes from. */
export interface EffectiveRule {
  /** `""` for cluster-wide (ClusterRoleBinding), else the RoleBinding's namespace. */
  namespace: string;
  binding: string;
  role: string;
  rule: PolicyRule;
}

/** Options of {@link buildRbacIndex}. */
export interface IndexOptions {
  /**
   * Compute aggregated ClusterRoles' rules from their selectors (manifests, where no
   * controller has run). Default true; false for objects read from a live cluster, whose
   * aggregated rules the controller has already written.
   */
  aggregate?: boolean;
}

interface IndexedBinding {
  binding: RbacBinding;
  key: string;
  /** `""` for ClusterRoleBindings. */
  namespace: string;
  roleKey: string;
  rules: readonly PolicyRule[];
}

function subjectKeys(subject: Subject, namespace: string): string[] {
  switch (subject.kind) {
    case "User":
      return [`u:${subject.name}`];
    case "Group":
      return [`g:${subject.name}`];
    case "ServiceAccount": {
      const ns = subject.namespace ? subject.namespace : namespace;
      return ns === "" ? [] : [`u:${serviceAccountUsername(ns, subject.name)}`];
    }
    default:
      return [];
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** An RBAC state ready for questions. See {@link buildRbacIndex}. */
export class RbacIndex {
  /** Roles by key (`ClusterRole/name`, `Role/ns/name`), with aggregated rules computed. */
  readonly roles: ReadonlyMap<string, RbacRole>;
  /** Problems found while building (invalid aggregation selectors, missing roles). */
  readonly problems: readonly string[];
  private readonly clusterBindings: IndexedBinding[] = [];
  private readonly bindingsByNamespace = new Map<string, IndexedBinding[]>();
  private readonly clusterBySubject = new Map<string, IndexedBinding[]>();
  private readonly namespacedBySubject = new Map<string, IndexedBinding[]>();

  constructor(objects: RbacObjects, options: IndexOptions = {}) {
    const problems: string[] = [];
    let roles = objects.roles;
    if (options.aggregate !== false) {
      const result = aggregateClusterRoles(roles);
      roles = result.roles;
      problems.push(...result.problems);
    }
    const byKey = new Map<string, RbacRole>();
    for (const role of roles) byKey.set(objectKey(role), role);
    this.roles = byKey;
    for (const binding of objects.bindings) {
      const namespace = binding.kind === "RoleBinding" ? (binding.namespace ?? "") : "";
      // GetRoleReferenceRules: a Role is looked up in the binding's namespace (a
      // ClusterRoleBinding's is "", so it finds none); any other kind is an error.
      const roleKey =
        binding.roleRef.kind === "ClusterRole"
          ? objectKey({ kind: "ClusterRole", name: binding.roleRef.name })
          : binding.roleRef.kind === "Role"
            ? objectKey({ kind: "Role", name: binding.roleRef.name, namespace })
            : `${binding.roleRef.kind}/${binding.roleRef.name}`;
      const role = byKey.get(roleKey);
      if (role === undefined)
        problems.push(`${objectKey(binding)} references ${roleKey}, which does not exist; it grants nothing`);
      const indexed: IndexedBinding = {
        binding,
        key: objectKey(binding),
        namespace,
        roleKey,
        rules: role?.rules ?? [],
      };
      if (binding.kind === "ClusterRoleBinding") this.clusterBindings.push(indexed);
      else push(this.bindingsByNamespace, namespace, indexed);
      const keys = new Set(binding.subjects.flatMap((s) => subjectKeys(s, namespace)));
      for (const key of keys) {
        if (binding.kind === "ClusterRoleBinding") push(this.clusterBySubject, key, indexed);
        else push(this.namespacedBySubject, `${namespace}\u0000${key}`, indexed);
      }
    }
    this.problems = problems;
  }

  /** Bindings that apply to `user` for requests in `namespace` ("" = cluster-wide only). */
  private bindingsFor(user: UserInfo, namespace: string): IndexedBinding[] {
    const keys = [`u:${user.name}`, ...user.groups.map((g) => `g:${g}`)];
    const seen = new Set<IndexedBinding>();
    const out: IndexedBinding[] = [];
    const add = (list: IndexedBinding[] | undefined) => {
      for (const b of list ?? []) {
        if (seen.has(b)) continue;
        seen.add(b);
        out.push(b);
      }
    };
    for (const key of keys) add(this.clusterBySubject.get(key));
    if (namespace !== "")
      for (const key of keys) add(this.namespacedBySubject.get(`${namespace}\u0000${key}`));
    return out;
  }

  /** Whether `user` may do `request` (fast path: stops at the first grant). Never throws. */
  allows(user: UserInfo, request: RbacRequest): boolean {
    if (user.groups.includes(PRIVILEGED_GROUP)) return true;
    const namespace = request.kind === "resource" ? request.namespace : "";
    for (const b of this.bindingsFor(user, namespace))
      for (const rule of b.rules) if (ruleAllows(rule, request)) return true;
    return false;
  }

  /**
   * Whether `user` may do `request`, with every grant, sorted (cluster bindings first, then
   * by binding and role). Never throws.
   */
  authorize(user: UserInfo, request: RbacRequest): Decision {
    if (user.groups.includes(PRIVILEGED_GROUP)) {
      return {
        allowed: true,
        reason: `user is in group "${PRIVILEGED_GROUP}", which the API server allows every request`,
        grants: [],
      };
    }
    const namespace = request.kind === "resource" ? request.namespace : "";
    const grants: Grant[] = [];
    for (const b of this.bindingsFor(user, namespace))
      for (const rule of b.rules)
        if (ruleAllows(rule, request)) grants.push({ binding: b.key, role: b.roleKey, rule });
    grants.sort((a, b) => compareKeys(a.binding, b.binding) || compareKeys(a.role, b.role));
    const first = grants[0];
    return first
      ? {
          allowed: true,
          reason: `allowed by ${first.binding} (${first.role})${grants.length > 1 ? ` and ${grants.length - 1} more` : ""}`,
          grants,
        }
      : { allowed: false, reason: "no RBAC binding grants it", grants: [] };
  }

  /**
   * Every subject that can do `request`, from the bindings that grant it, plus the
   * privileged group. With `allNamespaces`, RoleBindings of every namespace count (the
   * request's namespace is then ignored) and each grant names its namespace. Sorted by kind,
   * namespace and name. Never throws.
   */
  whoCan(request: RbacRequest, options: { allNamespaces?: boolean } = {}): WhoCanSubject[] {
    const namespace = request.kind === "resource" ? request.namespace : "";
    const candidates: IndexedBinding[] = [...this.clusterBindings];
    if (request.kind === "resource") {
      if (options.allNamespaces)
        for (const list of this.bindingsByNamespace.values()) candidates.push(...list);
      else if (namespace !== "") candidates.push(...(this.bindingsByNamespace.get(namespace) ?? []));
    }
    const subjects = new Map<string, WhoCanSubject>();
    subjects.set(`Group\u0000\u0000${PRIVILEGED_GROUP}`, {
      kind: "Group",
      name: PRIVILEGED_GROUP,
      privileged: true,
      grants: [],
    });
    const verdicts = new Map<string, boolean>();
    for (const b of candidates) {
      const reqForBinding =
        options.allNamespaces && request.kind === "resource"
          ? { ...request, namespace: b.namespace }
          : request;
      const verdictKey = `${b.roleKey}\u0000${b.namespace}`;
      let allowed = verdicts.get(verdictKey);
      if (allowed === undefined) {
        allowed = b.rules.some((rule) => ruleAllows(rule, reqForBinding));
        verdicts.set(verdictKey, allowed);
      }
      if (!allowed) continue;
      for (const subject of b.binding.subjects) {
        const ref = normalizeSubject(subject, b.namespace);
        if (ref === undefined) continue;
        const key = `${ref.kind}\u0000${ref.namespace ?? ""}\u0000${ref.name}`;
        let entry = subjects.get(key);
        if (entry === undefined) {
          entry = { ...ref, grants: [] };
          subjects.set(key, entry);
        }
        const grant: WhoCanSubject["grants"][number] = { binding: b.key, role: b.roleKey };
        if (options.allNamespaces && b.namespace !== "") grant.namespace = b.namespace;
        if (!entry.grants.some((g) => g.binding === grant.binding)) entry.grants.push(grant);
      }
    }
    const out = [...subjects.values()];
    for (const s of out) s.grants.sort((a, b) => compareKeys(a.binding, b.binding));
    return out.sort(
      (a, b) =>
        compareKeys(a.kind, b.kind) ||
        compareKeys(a.namespace ?? "", b.namespace ?? "") ||
        compareKeys(a.name, b.name),
    );
  }

  /**
   * Every rule `user` holds: cluster-wide ones (ClusterRoleBindings) and, per namespace,
   * those of RoleBindings. Sorted by namespace, binding, role. Members of `system:masters`
   * also hold everything through the API server; see {@link isPrivileged}.
   */
  rulesFor(user: UserInfo): EffectiveRule[] {
    const out: EffectiveRule[] = [];
    const consider = (b: IndexedBinding) => {
      if (!b.binding.subjects.some((s) => subjectMatchesUser(s, user, b.namespace))) return;
      for (const rule of b.rules) out.push({ namespace: b.namespace, binding: b.key, role: b.roleKey, rule });
    };
    for (const b of this.clusterBindings) consider(b);
    for (const list of this.bindingsByNamespace.values()) for (const b of list) consider(b);
    return out.sort(
      (a, b) =>
        compareKeys(a.namespace, b.namespace) ||
        compareKeys(a.binding, b.binding) ||
        compareKeys(a.role, b.role),
    );
  }

  /** Whether the API server allows `user` everything regardless of RBAC. */
  isPrivileged(user: UserInfo): boolean {
    return user.groups.includes(PRIVILEGED_GROUP);
  }

  /** Every binding, with the key of the role it references and that role's rules. */
  bindings(): { binding: RbacBinding; roleKey: string; rules: readonly PolicyRule[] }[] {
    const all = [...this.clusterBindings];
    for (const list of this.bindingsByNamespace.values()) all.push(...list);
    return all.map((b) => ({ binding: b.binding, roleKey: b.roleKey, rules: b.rules }));
  }
}

/**
 * A binding subject as the user it designates: a ServiceAccount's namespace defaulted to the
 * RoleBinding's; undefined for subjects that match nobody (unknown kinds, a ServiceAccount
 * without namespace in a ClusterRoleBinding).
 */
export function normalizeSubject(subject: Subject, bindingNamespace: string): SubjectRef | undefined {
  if (subject.kind === "User" || subject.kind === "Group") return { kind: subject.kind, name: subject.name };
  if (subject.kind !== "ServiceAccount") return undefined;
  const namespace = subject.namespace ? subject.namespace : bindingNamespace;
  return namespace === "" ? undefined : { kind: "ServiceAccount", name: subject.name, namespace };
}

/** Index `objects` for questions (aggregating ClusterRoles unless told not to). Never throws. */
export function buildRbacIndex(objects: RbacObjects, options: IndexOptions = {}): RbacIndex {
  return new RbacIndex(objects, options);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
