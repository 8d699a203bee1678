/**
 * Fidelity of CEL's `authorizer` in ValidatingAdmissionPolicies: kube-apiserver v1.37's own
 * verdicts against belay's, with real RBAC objects installed (authorization mode Node,RBAC).
 *
 * One policy on ConfigMaps makes the authorizer check that each ConfigMap's `data` describes:
 * a resource check as the request user or as `authorizer.serviceAccount(ns, name)`, a path
 * check, or `authorizer.requestResource`. A plain probe is denied when the check is not
 * allowed; its messageExpression uses the authorizer, which kube-apiserver does not bind for
 * message expressions, so the message falls back to `failed expression: …` (belay must too).
 * Each probe is also sent as a "verify" probe that carries belay's offline decision
 * (`allowed()`, `reason()`, `errored()`) in its data: the API server admits it only if its own
 * decision is the same, so the reason strings are compared by the server itself. Every probe
 * is sent with dryRun=All as its user (client certificates), and evaluated by belay twice, as
 * the webhook and `belay eval` would:
 * - offline: belay's RBAC engine over the RBAC objects read back from the cluster;
 * - live: SubjectAccessReviews through src/kube/sar.ts (evaluateWithAuthorizer rounds).
 * Verdict, status code and message must be equal for all three.
 */

import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuthzAttributes, type CelAuthorizer, serviceAccountUser } from "../../src/cel/index.ts";
import { loadPolicySet, offlineAuthorizer, type PolicySet } from "../../src/engine/policies.ts";
import { makeKubeClient } from "../../src/kube/client.ts";
import { makeSarAuthorizer, type SarAuthorizer } from "../../src/kube/sar.ts";
import { evaluateAdmission, requestForObject } from "../../src/policy/vap/index.ts";
import { makeResource, parseStream } from "../../src/resources/parse.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { mapLimit, type RawClient, rawClient } from "./pss-support.ts";
import { adminKubeConfig, createTestNamespace, describeCluster, userKubeConfig } from "./shared.ts";
import {
  ADMIN,
  type Answer,
  authenticatedGroups,
  belayAnswer,
  difference,
  formatAnswer,
  serverAnswer,
} from "./vap-support.ts";

const PREFIX = "authz-fid";
const SYNC_TIMEOUT_MS = 30_000;

const POLICY = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${PREFIX}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  matchConditions:
    - {name: probes-only, expression: "has(object.metadata.labels) && '${PREFIX}' in object.metadata.labels"}
  variables:
    - name: who
      expression: "object.data.as == 'sa' ? authorizer.serviceAccount(object.data.saNamespace, object.data.sa) : authorizer"
    - name: decision
      expression: >-
        object.data.kind == 'path' ? variables.who.path(object.data.path).check(object.data.verb) :
        object.data.kind == 'request' ? authorizer.requestResource.check(object.data.verb) :
        variables.who.group(object.data.group).resource(object.data.resource).subresource(object.data.subresource)
        .namespace(object.data.namespace).name(object.data.name).check(object.data.verb)
  validations:
    - expression: "has(object.data.expectReason) || variables.decision.allowed()"
      messageExpression: "'not allowed: ' + variables.decision.reason()"
    - expression: "!has(object.data.expectReason) || string(variables.decision.allowed()) == object.data.expectAllowed"
      message: allowed() differs from belay's offline answer
    - expression: "!has(object.data.expectReason) || variables.decision.reason() == object.data.expectReason"
      message: reason() differs from belay's offline answer
    - expression: "!has(object.data.expectReason) || string(variables.decision.errored()) == object.data.expectErrored"
      message: errored() differs from belay's offline answer
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ${PREFIX}}
spec: {policyName: ${PREFIX}, validationActions: [Deny]}
`;

/** A request: who sends it, and the check its ConfigMap describes. */
interface Probe {
  id: string;
  user: { username: string; groups: string[] } | "admin";
  data: Record<string, string>;
}

interface Result {
  probe: Probe;
  /** The probe's ConfigMap is `probe-<index>` (the name `authorizer.requestResource` checks). */
  index: number;
  server: Answer;
  offline: Answer;
  live: Answer;
}

describeCluster(
  "CEL authorizer checks agree with kube-apiserver (offline RBAC and live SubjectAccessReview)",
  () => {
    let admin: RawClient;
    let nsA = "";
    let nsB = "";
    const clients = new Map<string, RawClient>();
    const created: { path: string }[] = [];
    const results: Result[] = [];
    let set: PolicySet;
    let sar: SarAuthorizer;
    let closeKube: () => void = () => {};

    const senders = "authz-fid-senders";
    const users = {
      alice: { username: "authz-fid-alice", groups: [senders, "authz-fid-ops"] },
      bob: { username: "authz-fid-bob", groups: [senders] },
      carol: { username: "authz-fid-carol", groups: [senders] },
    };

    function rbacObjects(): KubeObject[] {
      const rbac = "rbac.authorization.k8s.io";
      const clusterRole = (name: string, rules: unknown[]): KubeObject => ({
        apiVersion: `${rbac}/v1`,
        kind: "ClusterRole",
        metadata: { name },
        rules,
      });
      const binding = (
        kind: string,
        name: string,
        namespace: string | undefined,
        role: [string, string],
        subjects: unknown[],
      ): KubeObject => ({
        apiVersion: `${rbac}/v1`,
        kind,
        metadata: namespace === undefined ? { name } : { name, namespace },
        roleRef: { apiGroup: rbac, kind: role[0], name: role[1] },
        subjects,
      });
      return [
        clusterRole(`${PREFIX}-send`, [{ apiGroups: [""], resources: ["configmaps"], verbs: ["create"] }]),
        clusterRole(`${PREFIX}-pod-creator`, [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }]),
        clusterRole(`${PREFIX}-pod-reader`, [
          { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] },
        ]),
        clusterRole(`${PREFIX}-path`, [{ nonResourceURLs: ["/authz-fid/*"], verbs: ["get"] }]),
        binding(
          "ClusterRoleBinding",
          `${PREFIX}-send`,
          undefined,
          ["ClusterRole", `${PREFIX}-send`],
          [{ apiGroup: rbac, kind: "Group", name: senders }],
        ),
        binding(
          "ClusterRoleBinding",
          `${PREFIX}-ops`,
          undefined,
          ["ClusterRole", `${PREFIX}-pod-creator`],
          [{ apiGroup: rbac, kind: "Group", name: "authz-fid-ops" }],
        ),
        binding(
          "ClusterRoleBinding",
          `${PREFIX}-path`,
          undefined,
          ["ClusterRole", `${PREFIX}-path`],
          [{ apiGroup: rbac, kind: "Group", name: "authz-fid-ops" }],
        ),
        binding(
          "RoleBinding",
          `${PREFIX}-deployer`,
          nsA,
          ["ClusterRole", `${PREFIX}-pod-creator`],
          [{ kind: "ServiceAccount", name: "deployer" }],
        ),
        binding(
          "RoleBinding",
          `${PREFIX}-reader`,
          nsB,
          ["ClusterRole", `${PREFIX}-pod-reader`],
          [
            { apiGroup: rbac, kind: "User", name: users.bob.username },
            { kind: "ServiceAccount", name: "deployer", namespace: nsA },
          ],
        ),
        binding(
          "RoleBinding",
          `${PREFIX}-dangling`,
          nsA,
          ["Role", "gone"],
          [{ apiGroup: rbac, kind: "User", name: users.carol.username }],
        ),
      ];
    }

    function probes(): Probe[] {
      const resource = (
        id: string,
        user: Probe["user"],
        check: {
          as?: [string, string];
          verb: string;
          namespace: string;
          group?: string;
          resource?: string;
          subresource?: string;
          name?: string;
        },
      ): Probe => ({
        id,
        user,
        data: {
          kind: "resource",
          as: check.as ? "sa" : "user",
          ...(check.as ? { saNamespace: check.as[0], sa: check.as[1] } : {}),
          verb: check.verb,
          group: check.group ?? "",
          resource: check.resource ?? "pods",
          subresource: check.subresource ?? "",
          namespace: check.namespace,
          name: check.name ?? "",
        },
      });
      const path = (id: string, user: Probe["user"], p: string, as?: [string, string]): Probe => ({
        id,
        user,
        data: {
          kind: "path",
          as: as ? "sa" : "user",
          ...(as ? { saNamespace: as[0], sa: as[1] } : {}),
          path: p,
          verb: "get",
        },
      });
      const request = (id: string, user: Probe["user"], verb: string): Probe => ({
        id,
        user,
        data: { kind: "request", as: "user", verb },
      });
      const base: Probe[] = [
        resource("sa deployer creates pods in its namespace", users.bob, {
          as: [nsA, "deployer"],
          verb: "create",
          namespace: nsA,
        }),
        resource("sa deployer creates pods elsewhere", users.bob, {
          as: [nsA, "deployer"],
          verb: "create",
          namespace: nsB,
        }),
        resource("sa deployer deletes pods", users.bob, {
          as: [nsA, "deployer"],
          verb: "delete",
          namespace: nsA,
        }),
        resource("sa deployer reads pod logs in B", users.bob, {
          as: [nsA, "deployer"],
          verb: "get",
          namespace: nsB,
          subresource: "log",
          name: "web",
        }),
        resource("sa default creates pods", users.alice, {
          as: [nsA, "default"],
          verb: "create",
          namespace: nsA,
        }),
        resource("sa of another namespace", users.alice, {
          as: [nsB, "deployer"],
          verb: "create",
          namespace: nsA,
        }),
        resource("user in ops creates pods anywhere", users.alice, { verb: "create", namespace: nsB }),
        resource("user in ops creates pods cluster-wide", users.alice, { verb: "create", namespace: "" }),
        resource("user in ops creates deployments", users.alice, {
          verb: "create",
          namespace: nsA,
          group: "apps",
          resource: "deployments",
        }),
        resource("bob gets a named pod in B", users.bob, { verb: "get", namespace: nsB, name: "web" }),
        resource("bob lists pods in A", users.bob, { verb: "list", namespace: nsA }),
        resource("carol's binding names a missing role", users.carol, { verb: "create", namespace: nsA }),
        resource("carol elsewhere", users.carol, { verb: "create", namespace: nsB }),
        resource("system:masters escalates", "admin", {
          verb: "escalate",
          namespace: "",
          group: "rbac.authorization.k8s.io",
          resource: "clusterroles",
        }),
        path("ops gets a granted path", users.alice, "/authz-fid/status"),
        path("bob gets a granted path", users.bob, "/authz-fid/status"),
        path("sa gets a path", users.alice, "/authz-fid/status", [nsA, "deployer"]),
        request("the request's own resource (create configmaps)", users.bob, "create"),
        request("the request's own resource (delete configmaps)", users.bob, "delete"),
      ];
      return base;
    }

    function configMap(probe: Probe, index: number): KubeObject {
      return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `probe-${index}`, namespace: nsA, labels: { [PREFIX]: "probe" } },
        data: probe.data,
      };
    }

    /** The attributes of a probe's check, as the policy's `decision` variable builds them. */
    function attributesOf(probe: Probe, index: number): AuthzAttributes {
      const d = probe.data;
      const requester = userOf(probe);
      const user =
        d.as === "sa"
          ? serviceAccountUser(d.saNamespace as string, d.sa as string)
          : { name: requester.username, groups: requester.groups };
      if (d.kind === "path") return { user, verb: d.verb as string, path: d.path as string };
      if (d.kind === "request")
        return {
          user: { name: requester.username, groups: requester.groups },
          verb: d.verb as string,
          group: "",
          resource: "configmaps",
          subresource: "",
          namespace: nsA,
          name: `probe-${index}`,
        };
      return {
        user,
        verb: d.verb as string,
        group: d.group ?? "",
        resource: d.resource as string,
        subresource: d.subresource ?? "",
        namespace: d.namespace ?? "",
        name: d.name ?? "",
      };
    }

    function clientFor(probe: Probe): RawClient {
      return probe.user === "admin" ? admin : (clients.get(probe.user.username) as RawClient);
    }

    function userOf(probe: Probe) {
      return probe.user === "admin"
        ? ADMIN
        : { username: probe.user.username, groups: authenticatedGroups(probe.user.groups) };
    }

    async function send(probe: Probe, index: number): Promise<Answer> {
      const response = await clientFor(probe).send(
        "POST",
        `/api/v1/namespaces/${nsA}/configmaps?dryRun=All`,
        JSON.stringify(configMap(probe, index)),
      );
      return serverAnswer(response);
    }

    function belay(probe: Probe, index: number, authorizer: CelAuthorizer): Answer {
      const request = requestForObject(configMap(probe, index), "CREATE", {});
      request.namespaceObject = {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: nsA, labels: { "kubernetes.io/metadata.name": nsA } },
      };
      return belayAnswer(
        evaluateAdmission(set.env, set.policies, set.bindings, request, set.params, {
          user: userOf(probe),
          dryRun: true,
          authorizer,
        }),
      );
    }

    async function put(object: KubeObject, path: string): Promise<void> {
      const res = await admin.send("POST", path, JSON.stringify(object));
      if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
      const name = (object.metadata as { name: string }).name;
      created.push({ path: `${path}/${name}` });
    }

    async function list(path: string, kind: string): Promise<KubeObject[]> {
      const res = await admin.send("GET", path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
      const items = (JSON.parse(res.body) as { items: KubeObject[] }).items;
      return items.map((o) => ({ ...o, apiVersion: "rbac.authorization.k8s.io/v1", kind }));
    }

    beforeAll(async () => {
      const kc = await adminKubeConfig();
      admin = await rawClient(kc, 8);
      nsA = await createTestNamespace(kc, "authz-a");
      nsB = await createTestNamespace(kc, "authz-b");
      for (const user of Object.values(users))
        clients.set(user.username, await rawClient(await userKubeConfig(user.username, user.groups), 4));
      for (const object of rbacObjects()) {
        const ns = (object.metadata as { namespace?: string }).namespace;
        const plural = `${String(object.kind).toLowerCase()}s`;
        await put(object, `/apis/rbac.authorization.k8s.io/v1${ns ? `/namespaces/${ns}` : ""}/${plural}`);
      }
      const loaded = loadPolicySet(parseStream(POLICY, "authz-policy.yaml").resources);
      expect(loaded.errors).toEqual([]);
      set = loaded.set;
      const docs = parseStream(POLICY, "authz-policy.yaml").resources;
      await put(
        docs[0]?.object as KubeObject,
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
      );
      await put(
        docs[1]?.object as KubeObject,
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
      );
      // In force when a probe that only the policy can deny is denied.
      const sentinel: Probe = {
        id: "sentinel",
        user: "admin",
        data: { kind: "path", as: "user", path: "/x", verb: "get", expectReason: "never this" },
      };
      const started = Date.now();
      while ((await send(sentinel, 0)).verdict !== "deny") {
        if (Date.now() - started > SYNC_TIMEOUT_MS) throw new Error("the policy is not in force after 30s");
        await new Promise((r) => setTimeout(r, 200));
      }
      const kube = makeKubeClient(kc);
      closeKube = () => kube.close();
      sar = makeSarAuthorizer(kube);
    }, 120_000);

    afterAll(async () => {
      for (const { path } of created.reverse()) await admin?.send("DELETE", path);
      for (const ns of [nsA, nsB]) if (ns) await admin?.send("DELETE", `/api/v1/namespaces/${ns}`);
      for (const c of clients.values()) c.close();
      admin?.close();
      closeKube();
    });

    it("agrees on every probe: server, belay offline (RBAC read back) and belay live (SubjectAccessReview)", async () => {
      const fromCluster = [
        ...(await list("/apis/rbac.authorization.k8s.io/v1/clusterroles", "ClusterRole")),
        ...(await list("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "ClusterRoleBinding")),
        ...(await list("/apis/rbac.authorization.k8s.io/v1/roles", "Role")),
        ...(await list("/apis/rbac.authorization.k8s.io/v1/rolebindings", "RoleBinding")),
      ].map((o) => makeResource(o));
      const offline = offlineAuthorizer(fromCluster, { aggregate: false }).authorizer;
      const all = probes().flatMap((p) => [p, { ...p, id: `${p.id} (verify)` }]);
      all.forEach((probe, i) => {
        if (!probe.id.endsWith("(verify)")) return;
        const d = offline.authorize(attributesOf(probe, i + 1));
        probe.data = {
          ...probe.data,
          expectAllowed: String(d.decision === "allow"),
          expectReason: d.reason,
          expectErrored: String(d.error !== undefined),
        };
      });
      const answered = await mapLimit(all, 8, async (probe) => {
        const index = all.indexOf(probe) + 1;
        const server = await send(probe, index);
        const live = await sar.evaluate((authorizer) => belay(probe, index, authorizer));
        return { probe, index, server, offline: belay(probe, index, offline), live };
      });
      results.push(...answered);
      const report = results.flatMap((r) => {
        const off = difference(r.server, r.offline);
        const live = difference(r.server, r.live);
        if (off === undefined && live === undefined) return [];
        return [
          [
            `${r.probe.id}: ${off ? `offline: ${off}` : ""} ${live ? `live: ${live}` : ""}`,
            `  API server: ${formatAnswer(r.server)}`,
            `  offline:    ${formatAnswer(r.offline)}`,
            `  live SAR:   ${formatAnswer(r.live)}`,
          ].join("\n"),
        ];
      });
      console.log(
        `CEL authorizer fidelity: ${results.length} probes, ${results.filter((r) => r.server.verdict === "allow").length} allowed, ` +
          `${results.filter((r) => r.server.verdict === "deny").length} denied; offline agrees on ${results.filter((r) => difference(r.server, r.offline) === undefined).length}, ` +
          `live on ${results.filter((r) => difference(r.server, r.live) === undefined).length}; ${sar.reviews} SubjectAccessReviews`,
      );
      expect(report.join("\n")).toBe("");
      // Every kind of outcome is exercised: allowed, denied, and denied with RBAC's error reason.
      // The server admitted every verify probe: its allowed(), reason() and errored() are belay's.
      const verify = results.filter((r) => r.probe.id.endsWith("(verify)"));
      expect(verify.filter((r) => r.server.verdict !== "allow").map((r) => r.probe.id)).toEqual([]);
      expect(verify.length).toBe(results.length / 2);
      const plain = results.filter((r) => !r.probe.id.endsWith("(verify)"));
      expect(plain.filter((r) => r.server.verdict === "allow").length).toBeGreaterThanOrEqual(8);
      expect(plain.filter((r) => r.server.verdict === "deny").length).toBeGreaterThanOrEqual(8);
      const reasons = verify.map((r) => r.probe.data.expectReason ?? "");
      expect(reasons.some((x) => x.startsWith('RBAC: allowed by RoleBinding "authz-fid-deployer/'))).toBe(
        true,
      );
      expect(reasons.some((x) => x.startsWith('RBAC: allowed by ClusterRoleBinding "authz-fid-ops"'))).toBe(
        true,
      );
      expect(reasons).toContain('rbac: RBAC: role.rbac.authorization.k8s.io "gone" not found');
      expect(reasons).toContain("");
    }, 120_000);

    it("a new policy using includes (1.37) is refused by the 1.37 API server and by belay (previous release's environment)", async () => {
      const text = POLICY.split("---")[0]
        ?.replace(`name: ${PREFIX}}`, `name: ${PREFIX}-includes}`)
        .replace(
          '"has(object.data.expectReason) || variables.decision.allowed()"',
          '"[1, 2].includes(2)"',
        ) as string;
      const object = parseStream(text, "includes.yaml").resources[0]?.object as KubeObject;
      const res = await admin.send(
        "POST",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies?dryRun=All",
        JSON.stringify(object),
      );
      expect(res.status).toBe(422);
      expect(res.body).toContain("undeclared reference to 'includes'");
      const loaded = loadPolicySet(parseStream(text, "includes.yaml").resources);
      expect(loaded.errors.map((e) => e.message)).toEqual([
        `ValidatingAdmissionPolicy "${PREFIX}-includes": spec.validations[0].expression: compilation failed: undeclared reference to 'includes': available from Kubernetes 1.38 for new expressions (introduced in 1.37; kube-apiserver checks new expressions against the previous release's environment)`,
      ]);
    });

    it("a warm SubjectAccessReview cache answers without new reviews", async () => {
      const before = sar.reviews;
      expect(results.length).toBeGreaterThan(0);
      for (const r of results) {
        const again = await sar.evaluate((authorizer) => belay(r.probe, r.index, authorizer));
        expect(difference(r.server, again)).toBeUndefined();
      }
      expect(sar.reviews).toBe(before);
    });
  },
);
