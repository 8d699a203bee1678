/**
 * The webhook evaluates user policies on the real request (policies.ts) rather than through
 * `evaluate()`, to keep binding actions and audit annotations. This contract holds the two
 * together: for the same request, the findings are the engine's, field for field.
 * Also the cluster-policy refresher: initial load, periodic reload, a failed reload keeps
 * the previous set.
 */
import { describe, expect, it } from "vitest";
import { startClusterPolicies } from "../../src/admission/cluster-policies.ts";
import { evaluatePolicies, preparePolicies, syntheticNamespace } from "../../src/admission/policies.ts";
import { evaluate } from "../../src/engine/evaluate.ts";
import { loadPolicySet, type PolicySet } from "../../src/engine/policies.ts";
import { makeResource, parseStream } from "../../src/resources/parse.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { RULE_IDS } from "../../src/rules/index.ts";
import { pod } from "./support.ts";

const POLICIES = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: require-team
  annotations: {belay.dev/severity: high, belay.dev/remediation: "Add a team label."}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["pods"]}
  validations:
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      message: "pods must have a team label"
    - expression: "object.metadata.name.size() < 5"
      messageExpression: "'name ' + object.metadata.name + ' is too long'"
    - expression: "int(object.metadata.name) > 0"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: require-team-deny}
spec:
  policyName: require-team
  validationActions: [Deny]
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: policed}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: require-team-warn}
spec:
  policyName: require-team
  validationActions: [Warn]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: immutable-team}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["pods"]}
  validations:
    - expression: "oldObject.metadata.?labels.?team == object.metadata.?labels.?team || 'system:masters' in request.userInfo.groups"
      messageExpression: "request.userInfo.username + ' may not change the team label'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: immutable-team}
spec:
  policyName: immutable-team
  validationActions: [Deny]
`;

describe("user policies: the webhook's findings are the engine's", () => {
  const { set, errors } = loadPolicySet(parseStream(POLICIES, "p.yaml").resources);
  const prepared = preparePolicies(set);
  const user = { username: "alice", groups: ["dev"] };
  const cases: {
    name: string;
    operation: "CREATE" | "UPDATE";
    namespace: string;
    object: KubeObject;
    old?: KubeObject;
  }[] = [
    {
      name: "create in a policed namespace",
      operation: "CREATE",
      namespace: "policed",
      object: pod("webserver"),
    },
    {
      name: "create elsewhere (Warn binding only)",
      operation: "CREATE",
      namespace: "team-a",
      object: pod("web"),
    },
    {
      name: "update changing the team label",
      operation: "UPDATE",
      namespace: "policed",
      object: { ...pod("1"), metadata: { name: "1", labels: { team: "b" } } },
      old: { ...pod("1"), metadata: { name: "1", labels: { team: "a" } } },
    },
  ];

  it("loads", () => expect(errors).toEqual([]));

  for (const c of cases) {
    it(c.name, () => {
      const object = { ...c.object, metadata: { ...(c.object.metadata as object), namespace: c.namespace } };
      const resource = makeResource(object);
      const engine = evaluate([resource], {
        rules: [],
        pssVersion: Number.POSITIVE_INFINITY,
        knownRuleIds: RULE_IDS,
        policies: set,
        admission: {
          operation: c.operation,
          oldObject: c.old ?? null,
          user,
          resource: { group: "", version: "v1", resource: "pods", subresource: "" },
          dryRun: false,
        },
      });
      const webhook = evaluatePolicies(
        prepared,
        {
          operation: c.operation,
          resource: { group: "", version: "v1", resource: "pods", subresource: "" },
          kind: { group: "", version: "v1", kind: "Pod" },
          namespace: c.namespace,
          name: String((object.metadata as unknown as { name: string }).name),
          object,
          oldObject: c.old ?? null,
          namespaceObject: syntheticNamespace(c.namespace),
        },
        resource,
        user,
        false,
        {},
        () => 0,
      );
      expect(engine.length).toBeGreaterThan(0);
      expect(webhook.hits.map((h) => h.finding).sort((a, b) => a.message.localeCompare(b.message))).toEqual(
        [...engine].sort((a, b) => a.message.localeCompare(b.message)),
      );
      // Timed: the policies that match the request (immutable-team only UPDATEs).
      expect(webhook.timings.map((t) => t.policy)).toEqual(
        c.operation === "UPDATE" ? ["immutable-team", "require-team"] : ["require-team"],
      );
    });
  }
});

describe("the policies a request visits", () => {
  // Without selectors the policies that match a request follow from its kind, operation and
  // namespace: later requests like it visit only those. `require-team` uses a
  // namespaceSelector, so the POLICIES set above is never keyed.
  const SELECTOR_FREE = POLICIES.replace(
    "  matchResources:\n    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: policed}}\n",
    "",
  );
  const user = { username: "alice", groups: ["dev"] };
  const run = (
    prepared: ReturnType<typeof preparePolicies>,
    operation: "CREATE" | "UPDATE",
    object: KubeObject,
  ) => {
    const withNs = { ...object, metadata: { ...(object.metadata as object), namespace: "team-a" } };
    return evaluatePolicies(
      prepared,
      {
        operation,
        resource: { group: "", version: "v1", resource: "pods", subresource: "" },
        kind: { group: "", version: "v1", kind: "Pod" },
        namespace: "team-a",
        name: String((withNs.metadata as unknown as { name: string }).name),
        object: withNs,
        oldObject: operation === "UPDATE" ? withNs : null,
        namespaceObject: syntheticNamespace("team-a"),
      },
      makeResource(withNs),
      user,
      false,
      {},
      () => 0,
    );
  };
  const messages = (outcome: ReturnType<typeof run>) => outcome.hits.map((h) => h.finding.message).sort();

  it("remembers which policies matched a request like this one, and answers as visiting all", () => {
    const { set, errors } = loadPolicySet(parseStream(SELECTOR_FREE, "p.yaml").resources);
    expect(errors).toEqual([]);
    expect(SELECTOR_FREE).not.toContain("namespaceSelector");
    const keyed = preparePolicies(set);
    const first = run(keyed, "CREATE", pod("webserver"));
    // One key, and of the two policies only require-team (index 1) matches a CREATE.
    expect([...keyed.matched.values()]).toEqual([[1]]);
    expect(keyed.units.map((u) => u.compiled.policy.metadata.name)).toEqual([
      "immutable-team",
      "require-team",
    ]);
    expect(first.timings.map((t) => t.policy)).toEqual(["require-team"]);
    // A later request with the same key but another object: the same answers as a fresh set.
    const labelled = { ...pod("1"), metadata: { name: "1", labels: { team: "a" } } };
    expect(messages(run(keyed, "CREATE", labelled))).toEqual(
      messages(run(preparePolicies(set), "CREATE", labelled)),
    );
    expect(messages(run(keyed, "CREATE", pod("webserver")))).toEqual(messages(first));
    // An UPDATE is another key: both policies.
    expect(run(keyed, "UPDATE", pod("webserver")).timings.map((t) => t.policy)).toEqual([
      "immutable-team",
      "require-team",
    ]);
    expect([...keyed.matched.values()]).toEqual([[1], [0, 1]]);
  });

  it("visits every policy of a set whose matching depends on the request's objects", () => {
    const { set } = loadPolicySet(parseStream(POLICIES, "p.yaml").resources);
    const prepared = preparePolicies(set);
    run(prepared, "CREATE", pod("webserver"));
    expect(prepared.matched.size).toBe(0);
  });
});

describe("cluster policy refresher", () => {
  const one = loadPolicySet(parseStream(POLICIES, "p.yaml").resources).set;
  const namespaces = new Map<string, KubeObject>([
    ["prod", { apiVersion: "v1", kind: "Namespace", metadata: { name: "prod", labels: { env: "prod" } } }],
  ]);

  it("loads before returning, applies changes only, keeps the last set when a reload fails", async () => {
    const applied: (PolicySet | undefined)[] = [];
    const events: string[] = [];
    const loads: (() => Promise<{
      policies: PolicySet | undefined;
      namespaces: Map<string, KubeObject> | undefined;
      warnings: string[];
    }>)[] = [
      async () => ({ policies: one, namespaces, warnings: [] }),
      async () => ({ policies: one, namespaces: undefined, warnings: ["namespaces: forbidden"] }),
      async () => {
        throw new Error("connection refused");
      },
      async () => ({ policies: undefined, namespaces: new Map(), warnings: [] }),
    ];
    const refresher = await startClusterPolicies({
      refreshMs: 3_600_000,
      load: () => (loads.shift() as () => ReturnType<(typeof loads)[number]>)(),
      apply: (p) => applied.push(p),
      log: (event, fields) => events.push(`${event} ${JSON.stringify(fields ?? {})}`),
    });
    try {
      expect(applied).toEqual([one]);
      expect(refresher.namespace("prod")?.metadata).toEqual({ name: "prod", labels: { env: "prod" } });
      await refresher.refresh(); // same policies: not applied again; namespaces kept
      expect(applied).toHaveLength(1);
      expect(refresher.namespace("prod")).toBeDefined();
      expect(events.at(-1)).toBe('cluster policies {"level":"warn","warning":"namespaces: forbidden"}');
      await refresher.refresh(); // failure: nothing changes
      expect(applied).toHaveLength(1);
      expect(events.at(-1)).toBe(
        'cluster policies reload failed {"level":"error","error":"connection refused; keeping the previous policies"}',
      );
      await refresher.refresh(); // the policies were deleted
      expect(applied).toEqual([one, undefined]);
      expect(refresher.namespace("prod")).toBeUndefined();
    } finally {
      refresher.stop();
    }
  });

  it("reloads when the watch signals a change (debounced), and stops watching on stop", async () => {
    let loads = 0;
    let changed: () => void = () => {};
    let watchSignal: AbortSignal | undefined;
    const refresher = await startClusterPolicies({
      refreshMs: 3_600_000,
      debounceMs: 10,
      load: async () => {
        loads++;
        return { policies: one, namespaces, warnings: [] };
      },
      apply: () => {},
      log: () => {},
      watch: (c, signal) => {
        changed = c;
        watchSignal = signal;
      },
    });
    expect(loads).toBe(1);
    changed();
    changed();
    changed();
    await new Promise((r) => setTimeout(r, 100));
    expect(loads).toBe(2);
    refresher.stop();
    expect(watchSignal?.aborted).toBe(true);
    changed();
    await new Promise((r) => setTimeout(r, 50));
    expect(loads).toBe(2);
  });
});
