/**
 * Kubernetes authz library (library/authz.go, 1.27+): `authorizer.group(g).resource(r)
 * .namespace(ns).name(n).subresource(s).check(verb).allowed()`, `authorizer.path(p).check(verb)`,
 * `authorizer.serviceAccount(ns, name)`, `authorizer.requestResource`, and the decision's
 * `allowed()`, `reason()`, `errored()`, `error()`. Checks go through {@link CelAuthorizer}, so
 * belay's offline RBAC engine and a live SubjectAccessReview client plug in the same way.
 * Field and label selectors (1.31, behind the AuthorizeWithSelectors gate) are accepted and passed on.
 */
import { AUTHZ_CHECK_COST } from "../cost.ts";
import { method, type Overload } from "../functions.ts";
import { OpaqueValue, type Val } from "../values.ts";
import { v } from "../version.ts";

/**
 * The user an authorization check is made for: the request's `userInfo`, or the service
 * account of `authorizer.serviceAccount(ns, name)` (`system:serviceaccount:NS:NAME` with groups
 * `system:serviceaccounts` and `system:serviceaccounts:NS`, as `ServiceAccountInfo.UserInfo`).
 */
export interface AuthzUser {
  name: string;
  groups: readonly string[];
  uid?: string;
  extra?: Readonly<Record<string, readonly string[]>>;
}

/** Attributes of one authorization check (as in a SubjectAccessReview). */
export interface AuthzAttributes {
  /** Who is checked: the request's user, or the service account of `authorizer.serviceAccount`. */
  user: AuthzUser;
  verb: string;
  /** Resource checks. */
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** Non-resource checks. */
  path?: string;
}

/** An authorization decision. `error` is set when the authorizer failed. */
export interface AuthzDecision {
  decision: "allow" | "deny" | "no-opinion";
  reason: string;
  error?: string;
}

/**
 * What CEL's `authorizer` variable calls. Implementations: belay's offline RBAC engine, a
 * SubjectAccessReview client. Must be synchronous (prefetch or cache for live clients) and should not throw
 * (a thrown error becomes an errored decision).
 */
export interface CelAuthorizer {
  authorize(attributes: AuthzAttributes): AuthzDecision;
}

const V1_27 = v(1, 27);
const V1_31 = v(1, 31);

class Authorizer extends OpaqueValue {
  readonly typeName = "kubernetes.authorization.Authorizer";
  readonly impl: CelAuthorizer;
  readonly user: AuthzUser;
  constructor(impl: CelAuthorizer, user: AuthzUser) {
    super();
    this.impl = impl;
    this.user = user;
  }
  equals(o: unknown): boolean {
    return o === this;
  }
}

class PathCheck extends OpaqueValue {
  readonly typeName = "kubernetes.authorization.PathCheck";
  readonly authz: Authorizer;
  readonly path: string;
  constructor(authz: Authorizer, path: string) {
    super();
    this.authz = authz;
    this.path = path;
  }
  equals(o: unknown): boolean {
    return o === this;
  }
}

class GroupCheck extends OpaqueValue {
  readonly typeName = "kubernetes.authorization.GroupCheck";
  readonly authz: Authorizer;
  readonly group: string;
  constructor(authz: Authorizer, group: string) {
    super();
    this.authz = authz;
    this.group = group;
  }
  equals(o: unknown): boolean {
    return o === this;
  }
}

class ResourceCheck extends OpaqueValue {
  readonly typeName = "kubernetes.authorization.ResourceCheck";
  readonly authz: Authorizer;
  readonly attrs: Omit<AuthzAttributes, "verb" | "user">;
  constructor(authz: Authorizer, attrs: Omit<AuthzAttributes, "verb" | "user">) {
    super();
    this.authz = authz;
    this.attrs = attrs;
  }
  with(extra: Partial<Omit<AuthzAttributes, "user">>): ResourceCheck {
    return new ResourceCheck(this.authz, { ...this.attrs, ...extra });
  }
  equals(o: unknown): boolean {
    return o === this;
  }
}

class Decision extends OpaqueValue {
  readonly typeName = "kubernetes.authorization.Decision";
  readonly d: AuthzDecision;
  constructor(d: AuthzDecision) {
    super();
    this.d = d;
  }
  equals(o: unknown): boolean {
    return o === this;
  }
}

/** The user of checks when the caller names none: the empty user, as an unauthenticated request has no groups here. */
const NO_USER: AuthzUser = { name: "", groups: [] };

/** The `authorizer` variable's value: checks run as `user` (the request's `userInfo`). */
export function authorizerValue(impl: CelAuthorizer, user: AuthzUser = NO_USER): Val {
  return new Authorizer(impl, user);
}

/** The `authorizer.requestResource` variable's value: checks run as `user`. */
export function requestResourceValue(
  impl: CelAuthorizer,
  rr:
    | { group: string; resource: string; subresource?: string; namespace?: string; name?: string }
    | undefined,
  user: AuthzUser = NO_USER,
): Val {
  return new ResourceCheck(new Authorizer(impl, user), { ...(rr ?? { group: "", resource: "" }) });
}

/** `ServiceAccountInfo.UserInfo()`: the service account's username and its two groups, nothing else. */
export function serviceAccountUser(namespace: string, name: string): AuthzUser {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`],
  };
}

function decide(a: Authorizer, attrs: Omit<AuthzAttributes, "user">): Decision {
  try {
    return new Decision(a.impl.authorize({ ...attrs, user: a.user }));
  } catch (ex) {
    return new Decision({
      decision: "no-opinion",
      reason: "",
      error: ex instanceof Error ? ex.message : String(ex),
    });
  }
}

const AUTHZ = "kubernetes.authorization.Authorizer";
const RC = "kubernetes.authorization.ResourceCheck";
const DEC = "kubernetes.authorization.Decision";

/** The authz library overloads. */
export const authzOverloads: Overload[] = [
  method<Authorizer>(
    "path",
    AUTHZ,
    ["string"],
    "kubernetes.authorization.PathCheck",
    V1_27,
    (a, [p]) => new PathCheck(a, p as string),
  ),
  method<Authorizer>(
    "group",
    AUTHZ,
    ["string"],
    "kubernetes.authorization.GroupCheck",
    V1_27,
    (a, [g]) => new GroupCheck(a, g as string),
  ),
  method<Authorizer>("serviceAccount", AUTHZ, ["string", "string"], AUTHZ, V1_27, (a, [ns, n]) => {
    return new Authorizer(a.impl, serviceAccountUser(ns as string, n as string));
  }),
  method<GroupCheck>("resource", "kubernetes.authorization.GroupCheck", ["string"], RC, V1_27, (g, [r]) => {
    return new ResourceCheck(g.authz, { group: g.group, resource: r as string });
  }),
  method<ResourceCheck>("subresource", RC, ["string"], RC, V1_27, (r, [s]) =>
    r.with({ subresource: s as string }),
  ),
  method<ResourceCheck>("namespace", RC, ["string"], RC, V1_27, (r, [s]) =>
    r.with({ namespace: s as string }),
  ),
  method<ResourceCheck>("name", RC, ["string"], RC, V1_27, (r, [s]) => r.with({ name: s as string })),
  method<ResourceCheck>("fieldSelector", RC, ["string"], RC, V1_31, (r, [s]) =>
    r.with({ fieldSelector: s as string }),
  ),
  method<ResourceCheck>("labelSelector", RC, ["string"], RC, V1_31, (r, [s]) =>
    r.with({ labelSelector: s as string }),
  ),
  method<ResourceCheck>(
    "check",
    RC,
    ["string"],
    DEC,
    V1_27,
    (r, [verb]) => decide(r.authz, { ...r.attrs, verb: verb as string }),
    {
      cost: () => AUTHZ_CHECK_COST,
    },
  ),
  method<PathCheck>(
    "check",
    "kubernetes.authorization.PathCheck",
    ["string"],
    DEC,
    V1_27,
    (p, [verb]) => decide(p.authz, { path: p.path, verb: verb as string }),
    { cost: () => AUTHZ_CHECK_COST },
  ),
  method<Decision>("allowed", DEC, [], "bool", V1_27, (d) => d.d.decision === "allow"),
  method<Decision>("reason", DEC, [], "string", V1_27, (d) => d.d.reason),
  method<Decision>("errored", DEC, [], "bool", V1_27, (d) => d.d.error !== undefined),
  method<Decision>("error", DEC, [], "string", V1_27, (d) => d.d.error ?? ""),
];
