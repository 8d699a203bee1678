import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../resources/types.ts";
import {
  BUILTIN_EQUIVALENTS,
  equivalentsWithCRDs,
  isExemptRequest,
  type MatchResult,
  matches,
  matchResources,
  ruleMatches,
} from "./match.ts";
import { requestForObject } from "./request.ts";
import { fixtureFromText, load } from "./test-helpers.ts";
import type { AdmissionRequest, MatchResources, NamedRule, Operation } from "./types.ts";

const fixtureResources = (name: string) =>
  fixtureFromText(name, readFileSync(new URL(`../../../test/fixtures/vap/${name}`, import.meta.url), "utf8"));
const fixtureObjects = (name: string) => fixtureResources(name).map((r) => r.object);

function rule(partial: Partial<NamedRule>): NamedRule {
  return {
    resourceNames: [],
    operations: ["*"],
    apiGroups: ["*"],
    apiVersions: ["*"],
    resources: ["*"],
    scope: "*",
    ...partial,
  };
}

function req(
  resource: string,
  options: {
    group?: string;
    version?: string;
    sub?: string;
    ns?: string;
    op?: Operation;
    name?: string;
  } = {},
): AdmissionRequest {
  return {
    operation: options.op ?? "CREATE",
    resource: {
      group: options.group ?? "",
      version: options.version ?? "v1",
      resource,
      subresource: options.sub ?? "",
    },
    kind: { group: options.group ?? "", version: options.version ?? "v1", kind: "X" },
    namespace: options.ns ?? "default",
    name: options.name ?? "n",
    object: { metadata: { labels: { app: "web" } } },
    oldObject: null,
  };
}

function gvr(r: AdmissionRequest) {
  return { group: r.resource.group, version: r.resource.version, resource: r.resource.resource };
}

function match(r: NamedRule, request: AdmissionRequest): boolean {
  return ruleMatches(r, request, gvr(request));
}

function resources(partial: Partial<MatchResources>): MatchResources {
  return {
    namespaceSelector: { matchLabels: {}, matchExpressions: [] },
    objectSelector: { matchLabels: {}, matchExpressions: [] },
    resourceRules: [rule({})],
    excludeResourceRules: [],
    matchPolicy: "Equivalent",
    ...partial,
  };
}

describe("ruleMatches: resources and subresources", () => {
  // [rule resources, requested resource, subresource, matches]
  const table: [string[], string, string, boolean][] = [
    [["*"], "pods", "", true],
    [["*"], "pods", "log", false],
    [["*/*"], "pods", "", true],
    [["*/*"], "pods", "log", true],
    [["pods"], "pods", "", true],
    [["pods"], "pods", "status", false],
    [["pods"], "deployments", "", false],
    [["pods/*"], "pods", "log", true],
    // rules.go: a `*` subresource also matches the main resource ("" subresource).
    [["pods/*"], "pods", "", true],
    [["pods/*"], "deployments", "scale", false],
    [["*/scale"], "deployments", "scale", true],
    [["*/scale"], "statefulsets", "scale", true],
    [["*/scale"], "deployments", "", false],
    [["pods/log"], "pods", "log", true],
    [["pods/log"], "pods", "exec", false],
    [["pods", "pods/exec"], "pods", "exec", true],
    [["*", "*/status"], "pods", "status", true],
  ];
  it.each(table)("%j vs %s/%s → %s", (ruleResources, resource, sub, expected) => {
    expect(match(rule({ resources: ruleResources }), req(resource, { sub }))).toBe(expected);
  });
});

describe("ruleMatches: groups, versions, operations", () => {
  const table: [Partial<NamedRule>, AdmissionRequest, boolean][] = [
    [{ apiGroups: ["apps"] }, req("deployments", { group: "apps" }), true],
    [{ apiGroups: ["apps"] }, req("pods"), false],
    [{ apiGroups: [""] }, req("pods"), true],
    [{ apiGroups: [""] }, req("deployments", { group: "apps" }), false],
    [{ apiVersions: ["v1"] }, req("deployments", { group: "apps", version: "v1" }), true],
    [{ apiVersions: ["v1beta1"] }, req("deployments", { group: "apps", version: "v1" }), false],
    [{ operations: ["CREATE"] }, req("pods", { op: "CREATE" }), true],
    [{ operations: ["CREATE"] }, req("pods", { op: "UPDATE" }), false],
    [{ operations: ["UPDATE", "DELETE"] }, req("pods", { op: "DELETE" }), true],
    [{ operations: ["CONNECT"] }, req("pods", { op: "CONNECT", sub: "exec" }), false],
    [
      { operations: ["CONNECT"], resources: ["pods/exec"] },
      req("pods", { op: "CONNECT", sub: "exec" }),
      true,
    ],
    [{ operations: ["*"] }, req("pods", { op: "CONNECT" }), true],
  ];
  it.each(table)("%j on %o → %s", (partial, request, expected) => {
    expect(match(rule(partial), request)).toBe(expected);
  });
});

describe("ruleMatches: scope", () => {
  const namespaceReq = req("namespaces", { ns: "team-a" }); // a Namespace's request carries its own name
  const table: [NamedRule["scope"], AdmissionRequest, boolean][] = [
    ["*", req("pods"), true],
    ["*", req("nodes", { ns: "" }), true],
    ["Namespaced", req("pods"), true],
    ["Namespaced", req("nodes", { ns: "" }), false],
    ["Namespaced", namespaceReq, false],
    ["Cluster", req("pods"), false],
    ["Cluster", req("nodes", { ns: "" }), true],
    ["Cluster", namespaceReq, true],
  ];
  it.each(table)("%s on %o → %s", (scope, request, expected) => {
    expect(match(rule({ scope }), request)).toBe(expected);
  });
});

describe("matchResources", () => {
  const nsObject = (labels: Record<string, string>): KubeObject => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "default", labels },
  });

  it("excludeResourceRules take precedence", () => {
    const r = resources({ excludeResourceRules: [rule({ resources: ["pods"] })] });
    expect(matchResources(r, req("pods"))).toEqual({
      matched: false,
      reason: "excluded by excludeResourceRules",
    });
    expect(matchResources(r, req("services")).matched).toBe(true);
  });

  it("resourceNames restrict by name", () => {
    const r = resources({ resourceRules: [rule({ resourceNames: ["a", "b"] })] });
    expect(matchResources(r, req("pods", { name: "b" })).matched).toBe(true);
    expect(matchResources(r, req("pods", { name: "c" })).matched).toBe(false);
    expect(matchResources(r, req("pods", { name: "" })).matched).toBe(false);
  });

  it("an empty resourceRules list (bindings) matches everything", () => {
    const result = matchResources(resources({ resourceRules: [] }), req("pods"));
    expect(result).toEqual({
      matched: true,
      resource: { group: "", version: "v1", resource: "pods" },
      kind: { group: "", version: "v1", kind: "X" },
    });
  });

  it("namespaceSelector uses the namespace's labels for namespaced requests", () => {
    const r = resources({ namespaceSelector: { matchLabels: { env: "test" }, matchExpressions: [] } });
    expect(matchResources(r, { ...req("pods"), namespaceObject: nsObject({ env: "test" }) }).matched).toBe(
      true,
    );
    expect(matchResources(r, { ...req("pods"), namespaceObject: nsObject({ env: "prod" }) })).toEqual({
      matched: false,
      reason: "namespaceSelector does not match",
    });
    expect(matchResources(r, req("pods"))).toEqual({
      matched: false,
      error: 'namespaces "default" not found',
      code: "namespace-not-found",
    });
  });

  it("a missing namespace is only an error when the rules match", () => {
    const r = resources({
      namespaceSelector: { matchLabels: { env: "test" }, matchExpressions: [] },
      resourceRules: [rule({ resources: ["services"] })],
    });
    expect(matchResources(r, req("pods")).matched).toBe(false);
    expect("reason" in matchResources(r, req("pods"))).toBe(true);
  });

  it("namespaceSelector always matches cluster-scoped non-namespace requests", () => {
    const r = resources({ namespaceSelector: { matchLabels: { env: "test" }, matchExpressions: [] } });
    expect(matchResources(r, req("nodes", { ns: "" })).matched).toBe(true);
  });

  it("namespaceSelector uses a Namespace's own labels on CREATE/UPDATE and the stored one otherwise", () => {
    const r = resources({ namespaceSelector: { matchLabels: { env: "test" }, matchExpressions: [] } });
    const ns: KubeObject = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "t", labels: { env: "test" } },
    };
    expect(matchResources(r, requestForObject(ns, "CREATE")).matched).toBe(true);
    expect(matchResources(r, requestForObject(ns, "UPDATE")).matched).toBe(true);
    expect(matchResources(r, requestForObject(ns, "DELETE"))).toMatchObject({ code: "namespace-not-found" });
    expect(matchResources(r, requestForObject(ns, "DELETE", { namespaceObject: ns })).matched).toBe(true);
  });

  it("objectSelector matches the object or the old object", () => {
    const r = resources({ objectSelector: { matchLabels: { app: "web" }, matchExpressions: [] } });
    const base = req("pods");
    expect(matchResources(r, base).matched).toBe(true);
    const other = { ...base, object: { metadata: { labels: { app: "db" } } } };
    expect(matchResources(r, other).matched).toBe(false);
    expect(matchResources(r, { ...other, oldObject: { metadata: { labels: { app: "web" } } } }).matched).toBe(
      true,
    );
    expect(matchResources(r, { ...base, object: null, oldObject: null }).matched).toBe(false);
    const exists = resources({
      objectSelector: {
        matchLabels: {},
        matchExpressions: [{ key: "app", operator: "DoesNotExist", values: [] }],
      },
    });
    expect(matchResources(exists, { ...base, object: { metadata: {} } }).matched).toBe(true);
  });

  it("Equivalent retries equivalent resources and returns the matched one; Exact does not", () => {
    const hpaV1 = rule({
      apiGroups: ["autoscaling"],
      apiVersions: ["v1"],
      resources: ["horizontalpodautoscalers"],
    });
    const request = req("horizontalpodautoscalers", { group: "autoscaling", version: "v2" });
    expect(matchResources(resources({ resourceRules: [hpaV1] }), request)).toEqual({
      matched: true,
      resource: { group: "autoscaling", version: "v1", resource: "horizontalpodautoscalers" },
      kind: { group: "autoscaling", version: "v1", kind: "HorizontalPodAutoscaler" },
    });
    expect(matchResources(resources({ resourceRules: [hpaV1], matchPolicy: "Exact" }), request).matched).toBe(
      false,
    );
    const coreEvents = rule({ apiGroups: [""], resources: ["events"] });
    expect(
      matchResources(resources({ resourceRules: [coreEvents] }), req("events", { group: "events.k8s.io" }))
        .matched,
    ).toBe(true);
  });

  it("equivalence of CRD versions comes from the CRDs", () => {
    const crd: KubeObject = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      spec: {
        group: "example.com",
        names: { kind: "Widget", plural: "widgets" },
        versions: [
          { name: "v1", served: true },
          { name: "v2", served: true },
          { name: "v0", served: false },
        ],
      },
    };
    const mapper = equivalentsWithCRDs([crd]);
    const r = resources({
      resourceRules: [rule({ apiGroups: ["example.com"], apiVersions: ["v1"], resources: ["widgets"] })],
    });
    const request = req("widgets", { group: "example.com", version: "v2" });
    expect(matchResources(r, request).matched).toBe(false);
    expect(matchResources(r, request, { equivalents: mapper })).toMatchObject({
      matched: true,
      kind: { group: "example.com", version: "v1", kind: "Widget" },
    });
    expect(mapper.equivalentResourcesFor({ group: "", version: "v1", resource: "events" }, "")).toHaveLength(
      2,
    );
    expect(
      BUILTIN_EQUIVALENTS.equivalentResourcesFor(
        { group: "apps", version: "v1", resource: "deployments" },
        "",
      ),
    ).toEqual([{ group: "apps", version: "v1", resource: "deployments" }]);
  });
});

describe("matches: policy and binding together", () => {
  const objects = fixtureObjects("demo-policy.yaml");
  const { policies, bindings } = load(objects.map((o) => JSON.stringify(o)).join("\n---\n"));
  const policy = policies.find((p) => p.metadata.name === "demo-policy.example.com");
  const binding = bindings.find((b) => b.metadata.name === "demo-binding-test.example.com");
  const deployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: { replicas: 6 },
  };
  const ns = (env: string): KubeObject => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "default", labels: { environment: env } },
  });

  it("needs both the policy's constraints and the binding's matchResources", () => {
    if (!policy || !binding) throw new Error("fixture");
    const inTest = requestForObject(deployment, "CREATE", { namespaceObject: ns("test") });
    const inProd = requestForObject(deployment, "CREATE", { namespaceObject: ns("prod") });
    const deleted = requestForObject(deployment, "DELETE", { namespaceObject: ns("test") });
    const r: MatchResult = matches(policy, binding, inTest);
    expect(r).toEqual({
      matched: true,
      resource: { group: "apps", version: "v1", resource: "deployments" },
      kind: { group: "apps", version: "v1", kind: "Deployment" },
    });
    expect(matches(policy, binding, inProd)).toEqual({
      matched: false,
      reason: "namespaceSelector does not match",
    });
    expect(matches(policy, binding, deleted)).toEqual({
      matched: false,
      reason: "no rule matches the request",
    });
  });

  it("never matches the policy objects themselves", () => {
    if (!policy || !binding) throw new Error("fixture");
    const vap = requestForObject(objects[0] as KubeObject, "CREATE");
    expect(isExemptRequest(vap)).toBe(true);
    expect(isExemptRequest(requestForObject(deployment, "CREATE"))).toBe(false);
    const everything = { ...policy, spec: { ...policy.spec, matchConstraints: resources({}) } };
    expect(
      matches(everything, { ...binding, spec: { ...binding.spec, matchResources: undefined } }, vap),
    ).toEqual({
      matched: false,
      reason:
        "validatingadmissionpolicies.admissionregistration.k8s.io requests are exempt from admission policies",
    });
  });
});
