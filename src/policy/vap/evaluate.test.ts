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
