/**
 * What backs CEL's `authorizer` variable (DESIGN C3):
 *
 * - offline, {@link rbacAuthorizer}: belay's RBAC engine (src/rbac) over given Roles,
 *   ClusterRoles and bindings, answering as kube-apiserver's `Node,RBAC` chain does for a
 *   user that is not a node: allow with RBAC's reason, otherwise no opinion;
 * - live, {@link evaluateWithAuthorizer}: CEL evaluation is synchronous, a
 *   SubjectAccessReview is not. So an evaluation runs against the decisions known so far
 *   (a cache); the checks it could not answer are recorded, fetched together, and the
 *   evaluation runs again, for a bounded number of rounds. The fetching (src/kube/sar.ts)
 *   is the edge; this module and {@link createDecisionCache} are pure.
 */
import type { AuthzAttributes, AuthzDecision, CelAuthorizer } from "../../cel/index.ts";
import { type RbacBinding, type RbacIndex, type RbacRequest, subjectMatchesUser } from "../../rbac/index.ts";

/**
 * A CelAuthorizer backed by belay's offline RBAC engine. A resource check is RBAC's resource
 * request (the API version is `*`, selectors are ignored as RBAC ignores them), a path check
 * a non-resource request. Allowed: decision `allow` with the reason RBAC gives
 * (`RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "u"`; members of
 * `system:masters` get an empty reason, as from the privileged-group authorizer); otherwise
 * `no-opinion` with an empty reason, as the API server's authorizer chain answers. Never throws.
 */
export function rbacAuthorizer(index: RbacIndex): CelAuthorizer {
  const bindings = new Map<string, RbacBinding>();
  for (const { binding } of index.bindings()) bindings.set(bindingKey(binding), binding);
  return {
    authorize(attributes: AuthzAttributes): AuthzDecision {
      const user = { name: attributes.user.name, groups: [...attributes.user.groups] };
      const request = rbacRequest(attributes);
      const decision = index.authorize(user, request);
      if (!decision.allowed) return { decision: "no-opinion", reason: missingRoles(index, user, request) };
      const grant = decision.grants[0];
      if (grant === undefined) return { decision: "allow", reason: "" };
      const binding = bindings.get(grant.binding);
      return {
        decision: "allow",
        reason: binding ? rbacReason(binding, user) : `RBAC: allowed by ${grant.binding}`,
      };
    },
  };
}

/**
 * The reason the authorizer chain gives when nothing allows: RBAC's `RBAC: ` and the errors
 * met while visiting the user's bindings (a referenced role that does not exist), prefixed by
 * the authorizer's name `rbac: `; else empty (rbac.go Authorize, union.go).
 */
function missingRoles(
  index: RbacIndex,
  user: { name: string; groups: string[] },
  request: RbacRequest,
): string {
  const namespace = request.kind === "resource" ? request.namespace : "";
  const errors: string[] = [];
  const all = index.bindings();
  const ordered = [
    ...all.filter((b) => b.binding.kind === "ClusterRoleBinding"),
    ...all.filter(
      (b) => b.binding.kind === "RoleBinding" && namespace !== "" && b.binding.namespace === namespace,
    ),
  ];
  for (const { binding, roleKey } of ordered) {
    const bindingNamespace = binding.kind === "RoleBinding" ? namespace : "";
    if (!binding.subjects.some((s) => subjectMatchesUser(s, user, bindingNamespace))) continue;
    if (index.roles.has(roleKey)) continue;
    const { kind, name } = binding.roleRef;
    const message =
      kind === "ClusterRole" || kind === "Role"
        ? `${kind.toLowerCase()}.rbac.authorization.k8s.io ${goQuote(name)} not found`
        : `unsupported role reference kind: ${goQuote(kind)}`;
    if (!errors.includes(message)) errors.push(message);
  }
  if (errors.length === 0) return "";
  // The union of authorizers (`--authorization-mode=Node,RBAC`) names each no-opinion reason
  // by its authorizer: `rbac: ` + RBAC's own `RBAC: …` (union.go).
  return `rbac: RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`}`;
}

/** RBAC's request for an authorizer check's attributes. */
export function rbacRequest(attributes: AuthzAttributes): RbacRequest {
  if (attributes.path !== undefined)
    return { kind: "nonResource", verb: attributes.verb, path: attributes.path };
  return {
    kind: "resource",
    verb: attributes.verb,
    apiGroup: attributes.group ?? "",
    resource: attributes.resource ?? "",
    subresource: attributes.subresource ?? "",
    name: attributes.name ?? "",
    namespace: attributes.namespace ?? "",
  };
}

function bindingKey(binding: RbacBinding): string {
  return binding.kind === "RoleBinding"
    ? `RoleBinding/${binding.namespace ?? ""}/${binding.name}`
    : `ClusterRoleBinding/${binding.name}`;
}

/** `authorizingVisitor`'s reason: the binding, its role and the first subject that is the user (rule.go). */
function rbacReason(binding: RbacBinding, user: { name: string; groups: string[] }): string {
  const namespace = binding.kind === "RoleBinding" ? (binding.namespace ?? "") : "";
  const subject = binding.subjects.find((s) => subjectMatchesUser(s, user, namespace));
  const who =
    subject === undefined
      ? ""
      : subject.kind === "ServiceAccount"
        ? `${subject.kind} ${goQuote(`${subject.name}/${subject.namespace ? subject.namespace : namespace}`)}`
        : `${subject.kind} ${goQuote(subject.name)}`;
  const name = binding.kind === "RoleBinding" ? `${binding.name}/${namespace}` : binding.name;
  return `RBAC: allowed by ${binding.kind} ${goQuote(name)} of ${binding.roleRef.kind} ${goQuote(binding.roleRef.name)} to ${who}`;
}

/** Go's `%q` for the printable ASCII names Kubernetes allows (JSON escaping agrees there). */
function goQuote(text: string): string {
  return JSON.stringify(text);
}

/** A stable key of a check: the same attributes (user included) give the same key. */
export function authzKey(attributes: AuthzAttributes): string {
  const u = attributes.user;
  const extra = u.extra
    ? Object.keys(u.extra)
        .sort()
        .map((k) => [k, [...(u.extra?.[k] ?? [])]])
    : [];
  return JSON.stringify([
    u.name,
    [...u.groups].sort(),
    u.uid ?? "",
    extra,
    attributes.verb,
    attributes.path ?? null,
    attributes.group ?? "",
    attributes.resource ?? "",
    attributes.subresource ?? "",
    attributes.namespace ?? "",
    attributes.name ?? "",
    attributes.fieldSelector ?? "",
    attributes.labelSelector ?? "",
  ]);
}

/** Where live decisions come from: a cache read synchronously, and a batch fetch. */
export interface AuthzSource {
  /** A decision already known (cached and fresh), or undefined. Never throws. */
  cached(attributes: AuthzAttributes): AuthzDecision | undefined;
  /**
   * Decisions for `attributes`, in order, fetched concurrently (e.g. SubjectAccessReviews).
   * Never rejects: a failed fetch is an errored decision, which the source should not cache.
   */
  fetch(attributes: readonly AuthzAttributes[]): Promise<AuthzDecision[]>;
}

/** The answer a check gets while its decision is still being fetched, and after the last round. */
export const PENDING_DECISION: AuthzDecision = {
  decision: "no-opinion",
  reason: "",
  error: "authorization check not answered: too many rounds of authorizer checks depend on each other",
};

/** Default bound on evaluation rounds of {@link evaluateWithAuthorizer}. */
export const DEFAULT_AUTHZ_ROUNDS = 4;

/**
 * Run a synchronous evaluation whose `authorizer` checks are answered by an asynchronous
 * source. `run` is called with a CelAuthorizer answering from the source's cache and from the
 * decisions fetched so far; if it asked checks with no answer, those are fetched together and
 * `run` is called again, at most `maxRounds` times. A check still unanswered in the last
 * round is an errored decision ({@link PENDING_DECISION}), which the policy's failurePolicy
 * decides. With a warm cache this is one synchronous run and no request. `run` must be
 * pure (it may be called several times). Rejects only if `run` throws.
 */
export async function evaluateWithAuthorizer<T>(
  source: AuthzSource,
  run: (authorizer: CelAuthorizer) => T,
  maxRounds: number = DEFAULT_AUTHZ_ROUNDS,
): Promise<T> {
  const answers = new Map<string, AuthzDecision>();
  for (let round = 1; ; round++) {
    const missing = new Map<string, AuthzAttributes>();
    const result = run({
      authorize(attributes) {
        const key = authzKey(attributes);
        const known = answers.get(key) ?? source.cached(attributes);
        if (known !== undefined) return known;
        missing.set(key, attributes);
        return PENDING_DECISION;
      },
    });
    if (missing.size === 0 || round >= maxRounds) return result;
    const keys = [...missing.keys()];
    const decisions = await source.fetch([...missing.values()]);
    keys.forEach((key, i) => {
      answers.set(key, decisions[i] ?? PENDING_DECISION);
    });
  }
}

/** Options of {@link createDecisionCache}. */
export interface DecisionCacheOptions {
  /** How long an allow is reused (ms). Default 30 s. */
  allowedTtlMs?: number;
  /** How long a deny or no-opinion is reused (ms). Default 10 s, so new grants show soon. */
  deniedTtlMs?: number;
  /** Most entries kept; the oldest go first. Default 10,000. */
  maxEntries?: number;
  /** The clock (ms), for tests. */
  now?: () => number;
}

/** A TTL cache of authorization decisions keyed by {@link authzKey}. */
export interface DecisionCache {
  get(attributes: AuthzAttributes): AuthzDecision | undefined;
  /** Store a decision; errored decisions are not stored (the next evaluation asks again). */
  set(attributes: AuthzAttributes, decision: AuthzDecision): void;
  readonly size: number;
}

/**
 * A bounded TTL cache of decisions, like the API server's webhook authorizer cache (a longer
 * TTL for allows than for denials). Never throws.
 */
export function createDecisionCache(options: DecisionCacheOptions = {}): DecisionCache {
  const allowedTtl = options.allowedTtlMs ?? 30_000;
  const deniedTtl = options.deniedTtlMs ?? 10_000;
  const maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  const now = options.now ?? Date.now;
  const entries = new Map<string, { decision: AuthzDecision; expires: number }>();
  return {
    get(attributes) {
      const key = authzKey(attributes);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expires <= now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.decision;
    },
    set(attributes, decision) {
      if (decision.error !== undefined) return;
      const key = authzKey(attributes);
      entries.delete(key);
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(key, {
        decision,
        expires: now() + (decision.decision === "allow" ? allowedTtl : deniedTtl),
      });
    },
    get size() {
      return entries.size;
    },
  };
}
