import { describe, expect, it } from "vitest";
import { createCelEnvironment, VAP_VARIABLES } from "../../cel/index.ts";
import { parseStream } from "../../resources/parse.ts";
import type { KubeObject } from "../../resources/types.ts";
import { compilePolicies, evaluateAdmission, reasonToCode } from "./evaluate.ts";
import { parsePolicies } from "./parse.ts";
import { requestForObject } from "./request.ts";

const env = createCelEnvironment({ variables: VAP_VARIABLES });

function load(text: string) {
  const { resources } = parseStream(text, "policies.yaml");
  const parsed = parsePolicies(resources);
  expect(parsed.errors).toEqual([]);
  const { compiled, errors } = compilePolicies(parsed.policies, env);
  const params = resources
    .map((r) => r.object)
    .filter(
      (o) => !["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"].includes(String(o.kind)),
    );
  return { compiled, errors, bindings: parsed.bindings, params };
}

const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } },
});

const deployment = (
  replicas: number,
  namespace = "default",
  images = ["registry.example.com/app:1"],
): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace },
  spec: {
    replicas,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
    },
  },
});

const POLICY = (validations: string, extra = "", actions = "[Deny]", failurePolicy = "Fail") => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  failurePolicy: ${failurePolicy}
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
${extra}
  validations:
${validations}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec:
  policyName: p
  validationActions: ${actions}
`;

function decide(text: string, object: KubeObject, namespaceObject = ns("default")) {
  const { compiled, bindings, params, errors } = load(text);
  expect(errors).toEqual([]);
  const request = requestForObject(object, "CREATE", { namespaceObject });
  return evaluateAdmission(env, compiled, bindings, request, params);
}

describe("evaluateAdmission", () => {
  it("allows when every validation holds", () => {
    const decision = decide(POLICY("    - expression: object.spec.replicas <= 5"), deployment(3));
    expect(decision).toEqual({ allowed: true, warnings: [], auditAnnotations: {}, violations: [] });
  });

  it("denies with the API server's wording, default reason Invalid (422) and the expression as message", () => {
    const decision = decide(POLICY("    - expression: object.spec.replicas <= 5"), deployment(7));
    expect(decision.allowed).toBe(false);
    expect(decision.status).toEqual({
      code: 422,
      reason: "Invalid",
      message:
        "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: failed expression: object.spec.replicas <= 5",
    });
  });

  it("uses messageExpression, then message; reason sets the code", () => {
    const v = `    - expression: object.spec.replicas <= 5
      message: too many replicas
      messageExpression: "'replicas ' + string(object.spec.replicas) + ' > 5'"
      reason: Forbidden`;
    const decision = decide(POLICY(v), deployment(7));
    expect(decision.status).toEqual({
      code: 403,
      reason: "Forbidden",
      message: "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: replicas 7 > 5",
    });
    const fallback = `    - expression: object.spec.replicas <= 5
      message: " too many replicas "
      messageExpression: "'line one\\\\nline two'"`;
    expect(decide(POLICY(fallback), deployment(7)).status?.message).toBe(
      "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: too many replicas",
    );
  });

  it("turns Warn into warnings and Audit into the validation_failure annotation", () => {
    const v = "    - expression: object.spec.replicas <= 5\n      message: too many";
    const warn = decide(POLICY(v, "", "[Warn, Audit]"), deployment(7));
    expect(warn.allowed).toBe(true);
    expect(warn.warnings).toEqual([
      "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': too many",
    ]);
    expect(
      JSON.parse(warn.auditAnnotations["validation.policy.admission.k8s.io/validation_failure"] ?? ""),
    ).toEqual([
      {
        message: "too many",
        policy: "p",
        binding: "b",
        expressionIndex: 0,
        validationActions: ["Warn", "Audit"],
      },
    ]);
  });

  it("reports evaluation errors per failurePolicy", () => {
    const v = "    - expression: object.spec.missing > 1";
    const fail = decide(POLICY(v), deployment(1));
    expect(fail.allowed).toBe(false);
    expect(fail.status?.message).toMatch(
      /^ValidatingAdmissionPolicy 'p' with binding 'b' denied request: expression 'object\.spec\.missing > 1' resulted in error: /,
    );
    expect(fail.violations[0]?.kind).toBe("error");
    const ignore = decide(POLICY(v, "", "[Deny]", "Ignore"), deployment(1));
    expect(ignore).toMatchObject({ allowed: true, violations: [] });
  });

  it("skips the policy when a matchCondition is false, and applies variables", () => {
    const extra = `  matchConditions:
    - {name: only-big, expression: "object.spec.replicas > 2"}
  variables:
    - {name: images, expression: "object.spec.template.spec.containers.map(c, c.image)"}`;
    const v = "    - expression: variables.images.all(i, i.startsWith('registry.example.com/'))";
    expect(decide(POLICY(v, extra), deployment(1, "default", ["docker.io/x"])).allowed).toBe(true);
    expect(decide(POLICY(v, extra), deployment(3, "default", ["docker.io/x"])).allowed).toBe(false);
    expect(decide(POLICY(v, extra), deployment(3)).allowed).toBe(true);
  });

  it("stops an expensive expression at the cost limit and denies under Fail", () => {
    const list = "[1,2,3,4,5,6,7,8,9,10]";
    const v = `    - expression: "${list}.all(a, ${list}.all(b, ${list}.all(c, ${list}.all(d, ${list}.all(e, a + b + c + d + e > 0)))))"`;
    const { compiled, bindings, params } = load(POLICY(v));
    const request = requestForObject(deployment(1), "CREATE", { namespaceObject: ns("default") });
    const decision = evaluateAdmission(env, compiled, bindings, request, params);
    expect(decision.allowed).toBe(false);
    expect(decision.status?.message).toContain(
      "resulted in error: operation cancelled: actual cost limit exceeded",
    );
  });

  it("evaluates the upstream replica-limit example with params and namespace selectors", () => {
    const text = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replicalimit}
spec:
  paramKind: {apiVersion: rules.example.com/v1, kind: ReplicaLimit}
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}]
  validations:
    - expression: object.spec.replicas <= params.maxReplicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: test}
spec:
  policyName: replicalimit
  validationActions: [Deny]
  paramRef: {name: limit, namespace: default, parameterNotFoundAction: Deny}
  matchResources: {namespaceSelector: {matchLabels: {environment: test}}}
---
apiVersion: rules.example.com/v1
kind: ReplicaLimit
metadata: {name: limit, namespace: default}
maxReplicas: 3
`;
    const { compiled, bindings, params } = load(text);
    const run = (replicas: number, labels: Record<string, string>) =>
      evaluateAdmission(
        env,
        compiled,
        bindings,
        requestForObject(deployment(replicas, "t"), "CREATE", { namespaceObject: ns("t", labels) }),
        params,
      );
    expect(run(5, { environment: "test" }).status?.message).toBe(
      "ValidatingAdmissionPolicy 'replicalimit' with binding 'test' denied request: failed expression: object.spec.replicas <= params.maxReplicas",
    );
    expect(run(3, { environment: "test" }).allowed).toBe(true);
    expect(run(5, { environment: "prod" }).allowed).toBe(true);
    const elsewhere = params.map((p) => ({ ...p, metadata: { name: "limit", namespace: "prod" } }));
    const noParams = evaluateAdmission(
      env,
      compiled,
      bindings,
      requestForObject(deployment(1, "t"), "CREATE", { namespaceObject: ns("t", { environment: "test" }) }),
      elsewhere,
    );
    expect(noParams.status?.message).toBe(
      "ValidatingAdmissionPolicy 'replicalimit' with binding 'test' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction",
    );
  });

  it("publishes audit annotations under policy/key", () => {
    const extra = `  auditAnnotations:
    - {key: replicas, valueExpression: "'replicas: ' + string(object.spec.replicas)"}
    - {key: none, valueExpression: "null"}`;
    const decision = decide(POLICY("    - expression: 'true'", extra), deployment(4));
    expect(decision.auditAnnotations).toEqual({ "p/replicas": "replicas: 4" });
  });

  it("reports compile errors with field path and line, and leaves the policy out", () => {
    const { compiled, errors } = load(POLICY("    - expression: object.spec.replicas <="));
    expect(compiled).toEqual([]);
    expect(errors[0]).toMatchObject({ policy: "p", line: 12 });
    expect(errors[0]?.message).toMatch(/^spec\.validations\[0\]\.expression: compilation failed: /);
  });

  it("maps reasons to codes", () => {
    expect([
      reasonToCode("Forbidden"),
      reasonToCode("Unauthorized"),
      reasonToCode("RequestEntityTooLarge"),
      reasonToCode("Invalid"),
    ]).toEqual([403, 401, 413, 422]);
  });
});

describe("matchConditions shared by the policies of a request", () => {
  // A policy `name` on ConfigMaps with these matchConditions and one validation that fails.
  const policy = (name: string, conditions: string[]) => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${name}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  matchConditions:
${conditions.map((c, i) => `    - {name: c${i}, expression: ${JSON.stringify(c)}}`).join("\n")}
  validations:
    - expression: "false"
      message: ${name} failed
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ${name}}
spec:
  policyName: ${name}
  validationActions: [Deny]
---
`;
  const configMap = (data: Record<string, unknown>): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "default" },
    data,
  });
  const request = (object: KubeObject) =>
    requestForObject(object, "CREATE", { namespaceObject: ns("default") });

  it("evaluates a condition that reads only the request once per request, with the same answers", () => {
    const { compiled, bindings, params } = load(
      policy("a", ["request.namespace != 'kube-system'"]) +
        policy("b", ["request.namespace != 'kube-system'"]),
    );
    let calls = 0;
    for (const p of compiled) {
      const expression = p.matchConditions[0]?.expression;
      if (expression === undefined) throw new Error("no condition");
      const evaluate = expression.evaluate.bind(expression);
      expression.evaluate = (...args) => {
        calls++;
        return evaluate(...args);
      };
    }
    const one = request(configMap({}));
    const a = evaluateAdmission(env, compiled.slice(0, 1), bindings, one, params);
    const b = evaluateAdmission(env, compiled.slice(1), bindings, one, params);
    expect(calls).toBe(1);
    expect([a.status?.message, b.status?.message]).toEqual([
      "ValidatingAdmissionPolicy 'a' with binding 'a' denied request: a failed",
      "ValidatingAdmissionPolicy 'b' with binding 'b' denied request: b failed",
    ]);
    // Another request evaluates it again.
    evaluateAdmission(env, compiled.slice(0, 1), bindings, request(configMap({})), params);
    expect(calls).toBe(2);
  });

  it("evaluates it again where the policy's remaining budget is smaller than its cost", () => {
    // Each `all` over a list costs a known amount: `heavy` just under the per-expression limit,
    // `shared` a large part of it. Policy `late` spends its budget on `heavy` conditions first,
    // so `shared` runs out of budget there, whether or not policy `early` evaluated it before.
    const heavyItems = Array.from({ length: 180_000 }, (_, i) => `h${i}`);
    const sharedItems = Array.from({ length: 90_000 }, (_, i) => `s${i}`);
    const object = configMap({ heavy: heavyItems, shared: sharedItems });
    const heavy = "object.data.heavy.all(x, x != '')";
    const shared = "object.data.shared.all(x, x != '')";
    const cost = (expression: string) => {
      const c = env.compile(expression);
      if (!c.ok) throw new Error(expression);
      const r = c.value.evaluate({ object });
      expect(r.kind).toBe("value");
      return r.cost;
    };
    const heavyCost = cost(heavy);
    const sharedCost = cost(shared);
    const count = Math.floor(10_000_000 / heavyCost);
    // After `count` heavy conditions the budget has room left, but not for `shared`.
    expect(heavyCost).toBeLessThan(1_000_000);
    expect(10_000_000 - count * heavyCost).toBeGreaterThan(0);
    expect(10_000_000 - count * heavyCost).toBeLessThan(sharedCost);
    const { compiled, bindings, params } = load(
      policy("early", [shared]) + policy("late", [...Array.from({ length: count }, () => heavy), shared]),
    );
    const [early, late] = compiled;
    if (early === undefined || late === undefined) throw new Error("two policies");
    const alone = evaluateAdmission(env, [late], bindings, request(object), params);
    const one = request(object);
    expect(evaluateAdmission(env, [early], bindings, one, params).status?.message).toBe(
      "ValidatingAdmissionPolicy 'early' with binding 'early' denied request: early failed",
    );
    const after = evaluateAdmission(env, [late], bindings, one, params);
    expect(after).toEqual(alone);
    expect(after.status?.message).toContain("running out of cost budget");
  });
});
