import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../resources/types.ts";
import { parsePolicies } from "./parse.ts";
import { kindResolverFromCRDs, requestForObject } from "./request.ts";
import { fixtureFromText, load } from "./test-helpers.ts";
import type { ParamRef, ValidatingAdmissionPolicy } from "./types.ts";
import { collectParams, type EvaluationUnit, evaluationUnits, unboundBindings } from "./units.ts";

const fixtureResources = (name: string) =>
  fixtureFromText(name, readFileSync(new URL(`../../../test/fixtures/vap/${name}`, import.meta.url), "utf8"));
const fixtureObjects = (name: string) => fixtureResources(name).map((r) => r.object);

const replica = parsePolicies(fixtureResources("replica-limit.yaml"));
const objects = fixtureObjects("replica-limit.yaml");
const params = objects.filter((o) => o.kind === "ReplicaLimit");
const resolve = kindResolverFromCRDs(objects);

function deployment(namespace: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace },
    spec: { replicas: 5 },
  };
}

function ns(name: string, env: string): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { environment: env } } };
}

function summary(units: EvaluationUnit[]): string[] {
  return units.map((u) =>
    u.type === "evaluate"
      ? `evaluate ${u.binding.metadata.name} param=${(u.param?.metadata as { name?: string } | undefined)?.name ?? "null"}`
      : `${u.denies ? "deny" : "ignore"} ${u.message}`,
  );
}

describe("evaluationUnits with the replica-limit docs example", () => {
  it("evaluates once with the named param in the test namespace", () => {
    const request = requestForObject(deployment("default"), "CREATE", {
      namespaceObject: ns("default", "test"),
    });
    const units = evaluationUnits(replica.policies, replica.bindings, request, params, {
      resolveKind: resolve,
    });
    expect(summary(units)).toEqual([
      "evaluate replicalimit-binding-test.example.com param=replica-limit-test.example.com",
    ]);
    const unit = units[0];
    if (unit?.type !== "evaluate") throw new Error("expected an evaluate unit");
    expect(unit.matchKind).toEqual({ group: "apps", version: "v1", kind: "Deployment" });
    expect(unit.param?.maxReplicas).toBe(3);
  });

  it("uses the request's namespace when paramRef.namespace is empty", () => {
    const request = requestForObject(deployment("prod"), "CREATE", { namespaceObject: ns("prod", "prod") });
    const units = evaluationUnits(replica.policies, replica.bindings, request, params, {
      resolveKind: resolve,
    });
    expect(summary(units)).toEqual([
      "evaluate replicalimit-binding-nontest param=replica-limit-prod.example.com",
    ]);
  });

  it("Allow with no params adds nothing; Deny denies with the API server's message", () => {
    const staging = requestForObject(deployment("staging"), "CREATE", {
      namespaceObject: ns("staging", "staging"),
    });
    expect(
      evaluationUnits(replica.policies, replica.bindings, staging, params, { resolveKind: resolve }),
    ).toEqual([]);
    const test = requestForObject(deployment("default"), "CREATE", {
      namespaceObject: ns("default", "test"),
    });
    const units = evaluationUnits(replica.policies, replica.bindings, test, [], { resolveKind: resolve });
    expect(summary(units)).toEqual([
      "deny ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding 'replicalimit-binding-test.example.com' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction",
    ]);
    expect(units[0]).toMatchObject({ type: "config-error", code: "params", failurePolicy: "Fail" });
  });

  it("failurePolicy Ignore marks configuration errors as not denying", () => {
    const ignoring = replica.policies.map(
      (p): ValidatingAdmissionPolicy => ({ ...p, spec: { ...p.spec, failurePolicy: "Ignore" } }),
    );
    const test = requestForObject(deployment("default"), "CREATE", {
      namespaceObject: ns("default", "test"),
    });
    const units = evaluationUnits(ignoring, replica.bindings, test, [], { resolveKind: resolve });
    expect(units).toHaveLength(1);
    expect(units[0]).toMatchObject({ type: "config-error", denies: false });
  });

  it("a missing Namespace object is a policy configuration error offline", () => {
    const request = requestForObject(deployment("default"), "CREATE");
    const units = evaluationUnits(replica.policies, replica.bindings, request, params, {
      resolveKind: resolve,
    });
    // The policy has no namespaceSelector; the bindings have one.
    expect(summary(units)).toEqual([
      "deny ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding 'replicalimit-binding-nontest' denied request: failed to configure binding: namespaces \"default\" not found",
      "deny ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding 'replicalimit-binding-test.example.com' denied request: failed to configure binding: namespaces \"default\" not found",
    ]);
    expect(units.every((u) => u.type === "config-error" && u.code === "namespace-not-found")).toBe(true);
  });

  it("requests the policy does not match get no units", () => {
    const request = requestForObject(deployment("default"), "DELETE", {
      namespaceObject: ns("default", "test"),
    });
    expect(
      evaluationUnits(replica.policies, replica.bindings, request, params, { resolveKind: resolve }),
    ).toEqual([]);
  });
});

describe("evaluationUnits remembered per request key", () => {
  // No selectors and no resourceNames: the units depend only on the request's operation,
  // resource, kind and namespace, and are kept for the next request with the same ones.
  const text = (bindingExtra: string) => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: limits}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations: [{expression: "true"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: limits}
spec:
  policyName: limits
  validationActions: [Deny]
  paramRef: {name: limits, parameterNotFoundAction: Deny}
${bindingExtra}`;
  const cm = (namespace: string): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "limits", namespace },
  });
  const inA = [cm("a")];
  const request = (namespace: string, operation: "CREATE" | "UPDATE" = "CREATE", env = "prod") =>
    requestForObject(deployment(namespace), operation, { namespaceObject: ns(namespace, env) });
  const NOT_FOUND =
    "deny ValidatingAdmissionPolicy 'limits' with binding 'limits' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction";

  it("answers each namespace and operation on its own, and the same request from memory", () => {
    const { policies, bindings } = load(text(""));
    const first = evaluationUnits(policies, bindings, request("a"), inA);
    expect(summary(first)).toEqual(["evaluate limits param=limits"]);
    expect(summary(evaluationUnits(policies, bindings, request("b"), inA))).toEqual([NOT_FOUND]);
    expect(evaluationUnits(policies, bindings, request("a", "UPDATE"), inA)).toEqual([]);
    const again = evaluationUnits(policies, bindings, request("a"), inA);
    expect(again).toBe(first);
    // Other params: built again, not answered from the old ones.
    expect(summary(evaluationUnits(policies, bindings, request("b"), [cm("b")]))).toEqual([
      "evaluate limits param=limits",
    ]);
    expect(summary(evaluationUnits(policies, bindings, request("a"), [cm("b")]))).toEqual([NOT_FOUND]);
  });

  it("a binding with a namespaceSelector is matched again for every request", () => {
    const { policies, bindings } = load(
      text("  matchResources:\n    namespaceSelector: {matchLabels: {environment: prod}}"),
    );
    expect(summary(evaluationUnits(policies, bindings, request("a", "CREATE", "prod"), inA))).toEqual([
      "evaluate limits param=limits",
    ]);
    expect(evaluationUnits(policies, bindings, request("a", "CREATE", "test"), inA)).toEqual([]);
  });

  it("a rule with resourceNames is matched again for every request", () => {
    const { policies, bindings } = load(
      text("").replace("resources: [deployments]}", "resources: [deployments], resourceNames: [web]}"),
    );
    const named = (name: string) =>
      requestForObject({ ...deployment("a"), metadata: { name, namespace: "a" } }, "CREATE", {
        namespaceObject: ns("a", "prod"),
      });
    expect(summary(evaluationUnits(policies, bindings, named("web"), inA))).toEqual([
      "evaluate limits param=limits",
    ]);
    expect(evaluationUnits(policies, bindings, named("api"), inA)).toEqual([]);
  });
});

describe("collectParams", () => {
  const paramKind = { apiVersion: "v1", kind: "ConfigMap" };
  const cm = (
    name: string,
    namespace: string | undefined,
    labels: Record<string, string> = {},
  ): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: namespace === undefined ? { name, labels } : { name, namespace, labels },
  });
  const maps = [
    cm("limits", "a", { tier: "x" }),
    cm("limits", "b"),
    cm("other", "a", { tier: "x" }),
    cm("c", undefined, { tier: "x" }),
  ];
  const ref = (partial: Partial<ParamRef>): ParamRef => ({
    name: "",
    namespace: "",
    parameterNotFoundAction: "Deny",
    ...partial,
  });
  const names = (r: ReturnType<typeof collectParams>) =>
    r.ok
      ? r.params.map((p) =>
          p
            ? `${(p.metadata as { namespace?: string }).namespace ?? "-"}/${(p.metadata as { name: string }).name}`
            : null,
        )
      : r.error;

  it("no paramKind or no paramRef: one evaluation with null params", () => {
    expect(names(collectParams(undefined, ref({ name: "x" }), "a", maps))).toEqual([null]);
    expect(names(collectParams(paramKind, undefined, "a", maps))).toEqual([null]);
  });

  it("by name: paramRef.namespace, else the request's namespace", () => {
    expect(names(collectParams(paramKind, ref({ name: "limits" }), "a", maps))).toEqual(["a/limits"]);
    expect(names(collectParams(paramKind, ref({ name: "limits", namespace: "b" }), "a", maps))).toEqual([
      "b/limits",
    ]);
    expect(names(collectParams(paramKind, ref({ name: "c" }), "default", maps))).toEqual(["-/c"]);
  });

  it("by selector: every match in the namespace, sorted", () => {
    expect(
      names(
        collectParams(
          paramKind,
          ref({ selector: { matchLabels: { tier: "x" }, matchExpressions: [] } }),
          "a",
          maps,
        ),
      ),
    ).toEqual(["a/limits", "a/other"]);
    expect(
      names(
        collectParams(paramKind, ref({ selector: { matchLabels: {}, matchExpressions: [] } }), "b", maps),
      ),
    ).toEqual(["b/limits"]);
  });

  it("namespaced params for a cluster-scoped request need paramRef.namespace", () => {
    expect(names(collectParams(paramKind, ref({ name: "limits" }), "", maps))).toBe(
      "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources",
    );
    expect(names(collectParams(paramKind, ref({ name: "limits", namespace: "a" }), "", maps))).toEqual([
      "a/limits",
    ]);
  });

  it("cluster-scoped params refuse a namespace", () => {
    const classKind = { apiVersion: "storage.k8s.io/v1", kind: "StorageClass" };
    const sc: KubeObject = {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "fast" },
    };
    expect(names(collectParams(classKind, ref({ name: "fast" }), "a", [sc]))).toEqual(["-/fast"]);
    expect(names(collectParams(classKind, ref({ name: "fast", namespace: "a" }), "a", [sc]))).toBe(
      "paramRef.namespace must not be provided for a cluster-scoped `paramKind`",
    );
  });

  it("not found: Deny errors, Allow yields nothing", () => {
    expect(names(collectParams(paramKind, ref({ name: "missing" }), "a", maps))).toBe(
      "no params found for policy binding with `Deny` parameterNotFoundAction",
    );
    expect(
      names(collectParams(paramKind, ref({ name: "missing", parameterNotFoundAction: "Allow" }), "a", maps)),
    ).toEqual([]);
  });

  it("an unknown param kind with no objects is not known", () => {
    expect(names(collectParams({ apiVersion: "x.io/v1", kind: "Gizmo" }, ref({ name: "g" }), "a", []))).toBe(
      "paramKind kind `&ParamKind{APIVersion:x.io/v1,Kind:Gizmo,}` not known",
    );
  });
});

describe("unboundBindings", () => {
  it("lists bindings whose policy is not loaded", () => {
    const { policies, bindings } = load(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: orphan}
spec: {policyName: nowhere, validationActions: [Deny]}`);
    expect(policies).toEqual([]);
    expect(unboundBindings(policies, bindings).map((b) => b.metadata.name)).toEqual(["orphan"]);
  });
});
