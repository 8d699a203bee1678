import { describe, expect, it } from "vitest";
import { parseStream } from "../resources/parse.ts";
import { selectorMatches } from "./aggregate.ts";
import { buildRbacIndex } from "./authorizer.ts";
import { covers } from "./covers.ts";
import { diffPermissions } from "./diff.ts";
import { readRbacObjects } from "./read.ts";
import { nonResourceRequest, type PolicyRule, resourceRequest } from "./types.ts";

function index(yaml: string, aggregate = true) {
  const { resources, errors } = parseStream(yaml, "test.yaml");
  expect(errors).toEqual([]);
  return buildRbacIndex(readRbacObjects(resources).objects, { aggregate });
}

const WORLD = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: base-a, labels: {agg: "yes", tier: gold}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: base-b, labels: {agg: "yes"}}
rules: [{apiGroups: [apps], resources: ["*/scale"], verbs: [update]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg, labels: {level: one}}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {agg: "yes"}}]
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg2}
aggregationRule:
  clusterRoleSelectors: [{matchExpressions: [{key: level, operator: Exists}]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: urls}
rules: [{nonResourceURLs: ["/healthz/*"], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: devs, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agg2}
subjects:
  - {kind: Group, name: dev}
  - {kind: ServiceAccount, name: ci}
  - {kind: ServiceAccount, name: other, namespace: tools}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: urls, namespace: shop}
roleRef: {kind: ClusterRole, name: urls}
subjects: [{kind: User, name: bob}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: urls}
roleRef: {kind: ClusterRole, name: urls}
subjects: [{kind: User, name: carol}, {kind: ServiceAccount, name: nowhere}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: dangling}
roleRef: {kind: Role, name: base-a}
subjects: [{kind: User, name: dave}]
`;

describe("aggregation with no matching role", () => {
  it("keeps the rules as written, as the controller's server-side apply does (seen on 1.37)", () => {
    const idx = index(`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lonely}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {nobody: "has-this"}}]
rules: [{apiGroups: [""], resources: [nodes/proxy], verbs: [get]}]
`);
    expect(idx.roles.get("ClusterRole/lonely")?.rules.map((r) => r.resources)).toEqual([["nodes/proxy"]]);
  });
});

describe("RbacIndex", () => {
  const idx = index(WORLD);
  const get = (ns: string) => resourceRequest({ verb: "get", resource: "pods", namespace: ns });

  it("aggregates offline: selectors, chains, and replaces an aggregated role's own rules", () => {
    expect(idx.roles.get("ClusterRole/agg")?.rules.map((r) => r.verbs)).toEqual([["get"], ["update"]]);
    expect(idx.roles.get("ClusterRole/agg2")?.rules).toHaveLength(2);
    const dev = { name: "dan", groups: ["dev"] };
    expect(idx.allows(dev, get("shop"))).toBe(true);
    expect(idx.allows(dev, get("other"))).toBe(false);
    expect(idx.allows(dev, get(""))).toBe(false);
    expect(
      idx.allows(
        dev,
        resourceRequest({
          verb: "update",
          apiGroup: "apps",
          resource: "deployments",
          subresource: "scale",
          namespace: "shop",
        }),
      ),
    ).toBe(true);
    expect(idx.allows(dev, resourceRequest({ verb: "delete", resource: "pods", namespace: "shop" }))).toBe(
      false,
    );
  });

  it("reads aggregated roles as they are when told not to aggregate (live)", () => {
    const live = index(WORLD, false);
    expect(live.roles.get("ClusterRole/agg")?.rules.map((r) => r.verbs)).toEqual([["*"]]);
  });

  it("defaults service account subjects to the RoleBinding's namespace", () => {
    expect(idx.allows({ name: "system:serviceaccount:shop:ci", groups: [] }, get("shop"))).toBe(true);
    expect(idx.allows({ name: "system:serviceaccount:tools:other", groups: [] }, get("shop"))).toBe(true);
    expect(idx.allows({ name: "system:serviceaccount:tools:ci", groups: [] }, get("shop"))).toBe(false);
  });

  it("grants non-resource URLs only through ClusterRoleBindings", () => {
    expect(idx.allows({ name: "carol", groups: [] }, nonResourceRequest("get", "/healthz/etcd"))).toBe(true);
    expect(idx.allows({ name: "bob", groups: [] }, nonResourceRequest("get", "/healthz/etcd"))).toBe(false);
  });

  it("a ClusterRoleBinding to a Role grants nothing, and is reported", () => {
    expect(idx.allows({ name: "dave", groups: [] }, get("shop"))).toBe(false);
    expect(idx.problems.join("\n")).toContain(
      "ClusterRoleBinding/dangling references Role/base-a, which does not exist",
    );
  });

  it("allows system:masters everything", () => {
    const d = idx.authorize(
      { name: "root", groups: ["system:masters"] },
      resourceRequest({ verb: "nuke", resource: "x" }),
    );
    expect(d).toMatchObject({ allowed: true, grants: [] });
  });

  it("explains grants and lists who can", () => {
    const d = idx.authorize({ name: "dan", groups: ["dev"] }, get("shop"));
    expect(d.grants).toEqual([
      {
        binding: "RoleBinding/shop/devs",
        role: "ClusterRole/agg2",
        rule: expect.objectContaining({ verbs: ["get"] }),
      },
    ]);
    expect(idx.whoCan(get("shop"))).toEqual([
      {
        kind: "Group",
        name: "dev",
        grants: [{ binding: "RoleBinding/shop/devs", role: "ClusterRole/agg2" }],
      },
      { kind: "Group", name: "system:masters", privileged: true, grants: [] },
      {
        kind: "ServiceAccount",
        name: "ci",
        namespace: "shop",
        grants: [{ binding: "RoleBinding/shop/devs", role: "ClusterRole/agg2" }],
      },
      {
        kind: "ServiceAccount",
        name: "other",
        namespace: "tools",
        grants: [{ binding: "RoleBinding/shop/devs", role: "ClusterRole/agg2" }],
      },
    ]);
    expect(idx.whoCan(get("")).map((s) => s.name)).toEqual(["system:masters"]);
    expect(idx.whoCan(get(""), { allNamespaces: true }).find((s) => s.name === "dev")?.grants).toEqual([
      { binding: "RoleBinding/shop/devs", role: "ClusterRole/agg2", namespace: "shop" },
    ]);
  });

  it("lists a subject's rules per scope", () => {
    const rules = idx.rulesFor({ name: "carol", groups: [] });
    expect(rules.map((r) => [r.namespace, r.binding])).toEqual([["", "ClusterRoleBinding/urls"]]);
  });
});

describe("label selectors", () => {
  it("implements matchLabels and every operator; empty matches all; invalid is undefined", () => {
    const l = { a: "1" };
    expect(selectorMatches({ matchLabels: {}, matchExpressions: [] }, l)).toBe(true);
    expect(selectorMatches({ matchLabels: { a: "1" }, matchExpressions: [] }, l)).toBe(true);
    expect(
      selectorMatches(
        { matchLabels: {}, matchExpressions: [{ key: "a", operator: "NotIn", values: ["2"] }] },
        l,
      ),
    ).toBe(true);
    expect(
      selectorMatches(
        { matchLabels: {}, matchExpressions: [{ key: "b", operator: "NotIn", values: ["2"] }] },
        l,
      ),
    ).toBe(true);
    expect(
      selectorMatches(
        { matchLabels: {}, matchExpressions: [{ key: "b", operator: "In", values: ["2"] }] },
        l,
      ),
    ).toBe(false);
    expect(
      selectorMatches(
        { matchLabels: {}, matchExpressions: [{ key: "b", operator: "DoesNotExist", values: [] }] },
        l,
      ),
    ).toBe(true);
    expect(
      selectorMatches(
        { matchLabels: {}, matchExpressions: [{ key: "a", operator: "Exists", values: [] }] },
        l,
      ),
    ).toBe(true);
    expect(
      selectorMatches(
        { matchLabels: {}, matchExpressions: [{ key: "a", operator: "Gt", values: ["0"] }] },
        l,
      ),
    ).toBeUndefined();
  });
});

function rule(fields: Partial<PolicyRule>): PolicyRule {
  return { verbs: [], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: [], ...fields };
}

describe("escalation check (covers)", () => {
  it("covers subresources through */sub and names through unrestricted rules", () => {
    const owner = [rule({ verbs: ["get", "create"], apiGroups: [""], resources: ["pods", "*/exec"] })];
    expect(
      covers(owner, [rule({ verbs: ["create"], apiGroups: [""], resources: ["pods/exec"] })]).covered,
    ).toBe(true);
    expect(
      covers(owner, [rule({ verbs: ["get"], apiGroups: [""], resources: ["pods"], resourceNames: ["a"] })])
        .covered,
    ).toBe(true);
    const { covered, uncovered } = covers(owner, [
      rule({ verbs: ["get", "delete"], apiGroups: [""], resources: ["pods"] }),
    ]);
    expect(covered).toBe(false);
    expect(uncovered).toEqual([rule({ verbs: ["delete"], apiGroups: [""], resources: ["pods"] })]);
    expect(
      covers(
        [rule({ verbs: ["get"], nonResourceURLs: ["/logs/*"] })],
        [rule({ verbs: ["get"], nonResourceURLs: ["/logs/x"] })],
      ).covered,
    ).toBe(true);
  });
});

describe("diffPermissions", () => {
  it("reports only what is not covered before or after", () => {
    const before = index(WORLD);
    const after = index(
      WORLD.replace(
        "verbs: [get]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: base-b",
        "verbs: [get, list]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: base-b",
      ),
    );
    const changes = diffPermissions(before, after);
    expect(
      changes.map((c) => [c.kind, c.name, c.scope, c.added.map((r) => r.verbs[0]), c.removed.length]),
    ).toEqual([
      ["Group", "dev", "shop", ["list"], 0],
      ["ServiceAccount", "ci", "shop", ["list"], 0],
      ["ServiceAccount", "other", "shop", ["list"], 0],
    ]);
    expect(diffPermissions(before, before)).toEqual([]);
  });
});
