import { describe, expect, it } from "vitest";
import {
  type AuthzAttributes,
  type AuthzDecision,
  type CelAuthorizer,
  createCelEnvironment,
  VAP_VARIABLES,
} from "../../cel/index.ts";
import { buildRbacIndex, readRbacObjects } from "../../rbac/index.ts";
import { parseStream } from "../../resources/parse.ts";
import type { KubeObject } from "../../resources/types.ts";
import {
  type AuthzSource,
  authzKey,
  createDecisionCache,
  evaluateWithAuthorizer,
  PENDING_DECISION,
  rbacAuthorizer,
} from "./authorizer.ts";
import { compilePolicies, evaluateAdmission } from "./evaluate.ts";
import { parsePolicies } from "./parse.ts";
import { requestForObject } from "./request.ts";

const RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-creator}
rules: [{apiGroups: [""], resources: [pods], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer-pods, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-creator}
subjects: [{kind: ServiceAccount, name: deployer}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-creator}
subjects: [{kind: Group, name: ops}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dangling, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gone}
subjects: [{kind: User, name: carol}]
`;

function authorizer(): CelAuthorizer {
  const { objects } = readRbacObjects(parseStream(RBAC, "rbac.yaml").resources);
  return rbacAuthorizer(buildRbacIndex(objects));
}

const check = (user: AuthzAttributes["user"], extra: Partial<AuthzAttributes> = {}): AuthzAttributes => ({
  user,
  verb: "create",
  group: "",
  resource: "pods",
  namespace: "shop",
  ...extra,
});

describe("rbacAuthorizer (offline)", () => {
  const authz = authorizer();

  it("allows with RBAC's reason, naming the binding, the role and the matching subject", () => {
    expect(authz.authorize(check({ name: "alice", groups: ["ops", "system:authenticated"] }))).toEqual({
      decision: "allow",
      reason: 'RBAC: allowed by ClusterRoleBinding "ops-pods" of ClusterRole "pod-creator" to Group "ops"',
    });
    expect(
      authz.authorize(
        check({
          name: "system:serviceaccount:shop:deployer",
          groups: ["system:serviceaccounts", "system:serviceaccounts:shop"],
        }),
      ),
    ).toEqual({
      decision: "allow",
      reason:
        'RBAC: allowed by RoleBinding "deployer-pods/shop" of ClusterRole "pod-creator" to ServiceAccount "deployer/shop"',
    });
  });

  it("has no opinion (empty reason) when nothing grants it, as the API server's chain answers", () => {
    const sa = { name: "system:serviceaccount:shop:deployer", groups: ["system:serviceaccounts"] };
    expect(authz.authorize(check(sa, { namespace: "other" }))).toEqual({
      decision: "no-opinion",
      reason: "",
    });
    expect(authz.authorize(check(sa, { verb: "delete" }))).toEqual({ decision: "no-opinion", reason: "" });
    expect(authz.authorize({ user: sa, verb: "get", path: "/healthz" })).toEqual({
      decision: "no-opinion",
      reason: "",
    });
  });

  it("reports a binding to a missing role in the reason, as RBAC's visitor does", () => {
    expect(authz.authorize(check({ name: "carol", groups: [] }))).toEqual({
      decision: "no-opinion",
      reason: 'rbac: RBAC: role.rbac.authorization.k8s.io "gone" not found',
    });
  });

  it("allows system:masters everything with an empty reason (privileged-group authorizer)", () => {
    expect(
      authz.authorize(check({ name: "root", groups: ["system:masters"] }, { verb: "escalate" })),
    ).toEqual({
      decision: "allow",
      reason: "",
    });
  });
});

const POLICY = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: creators-only}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
    - expression: "authorizer.serviceAccount(object.metadata.namespace, object.spec.template.spec.serviceAccountName).group('').resource('pods').namespace(object.metadata.namespace).check('create').allowed()"
      messageExpression: "'service account ' + object.spec.template.spec.serviceAccountName + ' cannot create pods'"
    - expression: "authorizer.group('').resource('pods').namespace(object.metadata.namespace).check('create').allowed()"
      message: the requesting user cannot create pods here
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: creators-only}
spec: {policyName: creators-only, validationActions: [Deny]}
`;

const deployment = (serviceAccountName: string): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "shop" },
  spec: {
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" } }, spec: { serviceAccountName, containers: [] } },
  },
});

describe("a policy's authorizer checks, offline", () => {
  const env = createCelEnvironment({ variables: VAP_VARIABLES });
  const parsed = parsePolicies(parseStream(POLICY, "p.yaml").resources);
  const { compiled, errors } = compilePolicies(parsed.policies, env);
  const run = (sa: string, user: { username: string; groups: string[] }, authz?: CelAuthorizer) =>
    evaluateAdmission(env, compiled, parsed.bindings, requestForObject(deployment(sa), "CREATE"), [], {
      user,
      ...(authz ? { authorizer: authz } : {}),
    });

  it("compiles", () => {
    expect(parsed.errors).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("checks as the request user, and serviceAccount() switches to the service account", () => {
    const authz = authorizer();
    expect(run("deployer", { username: "alice", groups: ["ops"] }, authz)).toMatchObject({ allowed: true });
    expect(run("default", { username: "alice", groups: ["ops"] }, authz).status?.message).toBe(
      "ValidatingAdmissionPolicy 'creators-only' with binding 'creators-only' denied request: service account default cannot create pods",
    );
    expect(run("deployer", { username: "bob", groups: [] }, authz).status?.message).toBe(
      "ValidatingAdmissionPolicy 'creators-only' with binding 'creators-only' denied request: the requesting user cannot create pods here",
    );
  });

  it("messageExpression and auditAnnotations get no authorizer, as kube-apiserver binds none for them", () => {
    const text = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: msg}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  variables:
    - {name: d, expression: "authorizer.group('').resource('pods').namespace('shop').check('create')"}
  validations:
    - expression: "variables.d.allowed()"
      messageExpression: "'denied: ' + variables.d.reason()"
  auditAnnotations:
    - {key: reason, valueExpression: "authorizer.path('/x').check('get').reason()"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: msg}
spec: {policyName: msg, validationActions: [Deny]}
`;
    const p = parsePolicies(parseStream(text, "m.yaml").resources);
    const c = compilePolicies(p.policies, env);
    expect(c.errors).toEqual([]);
    const decision = evaluateAdmission(
      env,
      c.compiled,
      p.bindings,
      requestForObject(deployment("x"), "CREATE"),
      [],
      {
        user: { username: "bob", groups: [] },
        authorizer: authorizer(),
      },
    );
    // The validation itself sees the authorizer (denied: bob may not create pods)...
    expect(decision.status?.message).toBe(
      "ValidatingAdmissionPolicy 'msg' with binding 'msg' denied request: failed expression: variables.d.allowed()",
    );
    // ...its messageExpression does not (so the message falls back), nor does the annotation,
    // whose error denies under failurePolicy Fail after the validation's denial.
    expect(decision.auditAnnotations).toEqual({});
  });

  it("without an authorizer, `authorizer` is null and the check is an evaluation error (failurePolicy decides)", () => {
    const decision = run("deployer", { username: "alice", groups: ["ops"] });
    expect(decision.allowed).toBe(false);
    expect(decision.violations[0]).toMatchObject({ kind: "error", validationIndex: 0 });
    expect(decision.violations[0]?.message).toMatch(
      /^expression 'authorizer\.serviceAccount\(.*' resulted in error: /,
    );
  });
});

/** A source answering from a table, counting fetch rounds. */
function tableSource(answer: (a: AuthzAttributes) => AuthzDecision) {
  const cache = createDecisionCache();
  const fetched: string[][] = [];
  const source: AuthzSource = {
    cached: (a) => cache.get(a),
    async fetch(list) {
      fetched.push(list.map((a) => `${a.user.name}:${a.verb}`));
      return list.map((a) => {
        const d = answer(a);
        cache.set(a, d);
        return d;
      });
    },
  };
  return { source, fetched };
}

describe("evaluateWithAuthorizer (live checks in a synchronous evaluation)", () => {
  const user = { name: "u", groups: [] };
  const allow: AuthzDecision = { decision: "allow", reason: "ok" };
  const deny: AuthzDecision = { decision: "no-opinion", reason: "" };

  it("fetches the checks a run could not answer together, then runs again with the answers", async () => {
    const { source, fetched } = tableSource((a) => (a.verb === "get" ? allow : deny));
    const runs: boolean[] = [];
    const result = await evaluateWithAuthorizer(source, (authz) => {
      const get = authz.authorize({ user, verb: "get", path: "/a" }).decision === "allow";
      const list = authz.authorize({ user, verb: "list", path: "/a" }).decision === "allow";
      runs.push(get && !list);
      return get && !list;
    });
    expect(result).toBe(true);
    expect(runs).toEqual([false, true]);
    expect(fetched).toEqual([["u:get", "u:list"]]);
    // A warm cache answers at once: one run, no fetch.
    await evaluateWithAuthorizer(source, (authz) => authz.authorize({ user, verb: "get", path: "/a" }));
    expect(fetched).toHaveLength(1);
  });

  it("follows checks that depend on earlier answers, one round each", async () => {
    const { source, fetched } = tableSource(() => allow);
    const result = await evaluateWithAuthorizer(source, (authz) => {
      const first = authz.authorize({ user, verb: "v1", path: "/" }).decision === "allow";
      const second = first && authz.authorize({ user, verb: "v2", path: "/" }).decision === "allow";
      return second;
    });
    expect(result).toBe(true);
    expect(fetched).toEqual([["u:v1"], ["u:v2"]]);
  });

  it("stops after maxRounds: the still-unanswered check is an errored decision", async () => {
    const { source, fetched } = tableSource(() => allow);
    const seen: AuthzDecision[] = [];
    await evaluateWithAuthorizer(
      source,
      (authz) => {
        let verb = 0;
        // Each answer leads to one more check: a chain longer than the bound.
        while (true) {
          const d = authz.authorize({ user, verb: `v${verb}`, path: "/" });
          if (d.decision !== "allow") {
            seen.push(d);
            return;
          }
          verb++;
        }
      },
      2,
    );
    expect(fetched).toEqual([["u:v0"]]);
    expect(seen.at(-1)).toBe(PENDING_DECISION);
    expect(PENDING_DECISION.error).toBe(
      "authorization check not answered: too many rounds of authorizer checks depend on each other",
    );
  });

  it("an errored fetch answers that evaluation and is not cached", async () => {
    const failing: AuthzDecision = {
      decision: "no-opinion",
      reason: "",
      error: "SubjectAccessReview failed: HTTP 500",
    };
    const { source, fetched } = tableSource(() => failing);
    const out = await evaluateWithAuthorizer(source, (authz) =>
      authz.authorize({ user, verb: "get", path: "/" }),
    );
    expect(out).toEqual(failing);
    await evaluateWithAuthorizer(source, (authz) => authz.authorize({ user, verb: "get", path: "/" }));
    expect(fetched).toHaveLength(2);
  });
});

describe("createDecisionCache", () => {
  const a: AuthzAttributes = { user: { name: "u", groups: ["b", "a"] }, verb: "get", path: "/x" };

  it("keeps allows for allowedTtlMs and denials for deniedTtlMs", () => {
    let now = 0;
    const cache = createDecisionCache({ allowedTtlMs: 100, deniedTtlMs: 10, now: () => now });
    const b = { ...a, verb: "list" };
    cache.set(a, { decision: "allow", reason: "" });
    cache.set(b, { decision: "no-opinion", reason: "" });
    now = 9;
    expect(cache.get(b)).toEqual({ decision: "no-opinion", reason: "" });
    now = 10;
    expect(cache.get(b)).toBeUndefined();
    now = 99;
    expect(cache.get(a)).toEqual({ decision: "allow", reason: "" });
    now = 100;
    expect(cache.get(a)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("is bounded (oldest out first) and keys ignore group order but not the user", () => {
    const cache = createDecisionCache({ maxEntries: 2 });
    cache.set(a, { decision: "allow", reason: "" });
    expect(cache.get({ ...a, user: { name: "u", groups: ["a", "b"] } })).toBeDefined();
    expect(cache.get({ ...a, user: { name: "v", groups: ["a", "b"] } })).toBeUndefined();
    cache.set({ ...a, verb: "2" }, { decision: "allow", reason: "" });
    cache.set({ ...a, verb: "3" }, { decision: "allow", reason: "" });
    expect(cache.size).toBe(2);
    expect(cache.get(a)).toBeUndefined();
    expect(authzKey({ ...a, verb: "3" })).not.toBe(authzKey({ ...a, verb: "3", path: "/y" }));
  });
});
