import { describe, expect, it } from "vitest";
import {
  impersonatedUser,
  nonResourceUrlMatches,
  resourceMatches,
  ruleAllows,
  splitServiceAccountUsername,
  subjectMatchesUser,
} from "./match.ts";
import { nonResourceRequest, type PolicyRule, resourceRequest } from "./types.ts";

function rule(fields: Partial<PolicyRule>): PolicyRule {
  return { verbs: [], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: [], ...fields };
}

describe("ResourceMatches", () => {
  const cases: [string[], string, string, boolean][] = [
    [["pods"], "pods", "", true],
    [["pods"], "pods", "exec", false],
    [["pods/exec"], "pods", "exec", true],
    [["pods/exec"], "pods", "", false],
    [["*/exec"], "pods", "exec", true],
    [["*/exec"], "nodes", "exec", true],
    [["*/exec"], "pods", "", false],
    [["*/exec"], "pods", "execute", false],
    [["*/scale"], "deployments", "scale", true],
    [["*"], "pods", "exec", true],
    [["*"], "pods", "", true],
    // pods/* is not a wildcard: only the literal subresource "*" matches it.
    [["pods/*"], "pods", "exec", false],
    [["pods/*"], "pods", "*", true],
    [["pods/*"], "pods", "", false],
    [["Pods"], "pods", "", false],
    [["*/*"], "pods", "*", true],
    [["*/*"], "pods", "exec", false],
  ];
  it.each(cases)("%j matches %s/%s: %s", (resources, resource, sub, want) => {
    expect(resourceMatches(rule({ resources }), resource, sub)).toBe(want);
  });
});

describe("NonResourceURLMatches", () => {
  const cases: [string[], string, boolean][] = [
    [["/healthz"], "/healthz", true],
    [["/healthz"], "/healthz/etcd", false],
    [["/healthz/*"], "/healthz/etcd", true],
    [["/healthz/*"], "/healthz/", true],
    [["/healthz/*"], "/healthz", false],
    [["/api*"], "/apis/apps", true],
    [["/api**"], "/api", true],
    [["*"], "/anything", true],
    [["/metrics*"], "/metricsfoo", true],
    [["/logs/*/x"], "/logs/a/x", false],
  ];
  it.each(cases)("%j matches %s: %s", (urls, path, want) => {
    expect(nonResourceUrlMatches(rule({ nonResourceURLs: urls }), path)).toBe(want);
  });
});

describe("RuleAllows", () => {
  const r = rule({ verbs: ["get"], apiGroups: [""], resources: ["secrets"], resourceNames: ["a"] });
  it("needs the name when the rule lists resourceNames", () => {
    expect(ruleAllows(r, resourceRequest({ verb: "get", resource: "secrets", name: "a" }))).toBe(true);
    expect(ruleAllows(r, resourceRequest({ verb: "get", resource: "secrets" }))).toBe(false);
    expect(ruleAllows(r, resourceRequest({ verb: "get", resource: "secrets", name: "b" }))).toBe(false);
  });
  it("matches the group exactly ('' is core, * is every group)", () => {
    expect(
      ruleAllows(r, resourceRequest({ verb: "get", resource: "secrets", apiGroup: "apps", name: "a" })),
    ).toBe(false);
    const any = rule({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] });
    expect(
      ruleAllows(
        any,
        resourceRequest({ verb: "escalate", resource: "roles", apiGroup: "rbac.authorization.k8s.io" }),
      ),
    ).toBe(true);
  });
  it("ignores resources for non-resource requests and URLs for resource requests", () => {
    const both = rule({ verbs: ["get"], apiGroups: ["*"], resources: ["*"], nonResourceURLs: ["/healthz"] });
    expect(ruleAllows(both, nonResourceRequest("get", "/healthz"))).toBe(true);
    expect(ruleAllows(both, nonResourceRequest("get", "/metrics"))).toBe(false);
    expect(
      ruleAllows(
        rule({ verbs: ["get"], nonResourceURLs: ["*"] }),
        resourceRequest({ verb: "get", resource: "pods" }),
      ),
    ).toBe(false);
  });
  it("compares verbs case-sensitively", () => {
    expect(
      ruleAllows(
        rule({ verbs: ["Get"], apiGroups: [""], resources: ["pods"] }),
        resourceRequest({ verb: "get", resource: "pods" }),
      ),
    ).toBe(false);
  });
});

describe("subjects", () => {
  const sa = {
    name: "system:serviceaccount:shop:web",
    groups: ["system:serviceaccounts", "system:serviceaccounts:shop"],
  };
  it("defaults a ServiceAccount's namespace to the RoleBinding's, never in a ClusterRoleBinding", () => {
    expect(subjectMatchesUser({ kind: "ServiceAccount", name: "web" }, sa, "shop")).toBe(true);
    expect(subjectMatchesUser({ kind: "ServiceAccount", name: "web" }, sa, "other")).toBe(false);
    expect(subjectMatchesUser({ kind: "ServiceAccount", name: "web" }, sa, "")).toBe(false);
    expect(subjectMatchesUser({ kind: "ServiceAccount", name: "web", namespace: "shop" }, sa, "")).toBe(true);
  });
  it("matches users by name and groups by membership; other kinds match nobody", () => {
    expect(subjectMatchesUser({ kind: "User", name: "system:serviceaccount:shop:web" }, sa, "")).toBe(true);
    expect(subjectMatchesUser({ kind: "Group", name: "system:serviceaccounts:shop" }, sa, "")).toBe(true);
    expect(subjectMatchesUser({ kind: "Group", name: "system:authenticated" }, sa, "")).toBe(false);
    expect(subjectMatchesUser({ kind: "user", name: "system:serviceaccount:shop:web" }, sa, "")).toBe(false);
  });
  it("splits service account usernames like the API server", () => {
    expect(splitServiceAccountUsername("system:serviceaccount:shop:web")).toEqual({
      namespace: "shop",
      name: "web",
    });
    expect(splitServiceAccountUsername("system:serviceaccount:shop")).toBeUndefined();
    expect(splitServiceAccountUsername("system:serviceaccount:shop:web:x")).toBeUndefined();
    expect(splitServiceAccountUsername("system:serviceaccount:Shop:web")).toBeUndefined();
  });
});

describe("impersonation (kubectl --as)", () => {
  it("gives service accounts their groups and system:authenticated", () => {
    expect(impersonatedUser("system:serviceaccount:shop:web", []).groups).toEqual([
      "system:serviceaccounts",
      "system:serviceaccounts:shop",
      "system:authenticated",
    ]);
  });
  it("keeps explicit groups and adds system:authenticated unless (un)authenticated is given", () => {
    expect(impersonatedUser("system:serviceaccount:shop:web", ["dev"]).groups).toEqual([
      "dev",
      "system:authenticated",
    ]);
    expect(impersonatedUser("alice", []).groups).toEqual(["system:authenticated"]);
    expect(impersonatedUser("alice", ["system:unauthenticated"]).groups).toEqual(["system:unauthenticated"]);
  });
  it("makes system:anonymous unauthenticated", () => {
    expect(impersonatedUser("system:anonymous", []).groups).toEqual(["system:unauthenticated"]);
  });
});
