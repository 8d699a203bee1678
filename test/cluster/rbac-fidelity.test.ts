/**
 * Fidelity of belay's RBAC model against the real authorizer: kube-apiserver v1.37
 * (`--authorization-mode=Node,RBAC`) with kube-controller-manager aggregating ClusterRoles.
 *
 * 1. The RBAC objects already in the cluster (the bootstrap policy) are read, as a live
 *    reader would, and become part of the offline model as plain manifests.
 * 2. A random world (seeded) of ClusterRoles (some aggregated, two levels, every selector
 *    operator), Roles, ClusterRoleBindings and RoleBindings is created.
 * 3. Once the controller has aggregated and the authorizer's caches hold everything (a
 *    sentinel binding created last is seen), thousands of random questions are asked both
 *    through SubjectAccessReview and through belay's offline model of the same manifests
 *    (aggregation computed offline). Every answer must agree; who-can must list a subject
 *    matching the user exactly when the answer is yes.
 *
 * A disagreement prints the seed (replay with BELAY_RBAC_SEED=<seed>) and each differing
 * case: user, groups, request, SAR's reason and belay's grants.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  buildRbacIndex,
  PRIVILEGED_GROUP,
  type RbacIndex,
  type RbacRequest,
  readRbacObjects,
  serviceAccountUsername,
  type UserInfo,
} from "../../src/rbac/index.ts";
import { makeResource } from "../../src/resources/parse.ts";
import { generateQuestions, generateWorld, type Question, type World } from "../fixtures/rbac/world.ts";
import { mapLimit, type RawClient, rawClient } from "./pss-support.ts";
import { adminKubeConfig, describeCluster } from "./shared.ts";

// CI runs a fixed seed (the one that found the aggregation-without-match difference) so a
// landing is reproducible; elsewhere every run explores a new world.
const SEED = Number(
  process.env.BELAY_RBAC_SEED ??
    (process.env.CI === "true" ? 699919381 : Math.floor(Math.random() * 2 ** 31)),
);
const QUESTIONS = Number(process.env.BELAY_RBAC_QUESTIONS ?? 6000);
const CONCURRENCY = 24;
const RBAC = "/apis/rbac.authorization.k8s.io/v1";
const KINDS = [
  ["ClusterRole", "clusterroles"],
  ["Role", "roles"],
  ["ClusterRoleBinding", "clusterrolebindings"],
  ["RoleBinding", "rolebindings"],
] as const;

let kc: KubeConfig;
let client: RawClient;
let world: World;
let prefix: string;
const created: { path: string }[] = [];

async function send(method: string, path: string, body?: unknown) {
  const response = await client.send(method, path, body === undefined ? undefined : JSON.stringify(body));
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.body}`);
  return JSON.parse(response.body) as Record<string, unknown>;
}

/** Every RBAC object in the cluster, as manifests. */
async function listAll(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const [kind, plural] of KINDS) {
    let token = "";
    do {
      const list = await send(
        "GET",
        `${RBAC}/${plural}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ""}`,
      );
      for (const item of (list.items as Record<string, unknown>[]) ?? [])
        out.push({ apiVersion: "rbac.authorization.k8s.io/v1", kind, ...item });
      token = (list.metadata as { continue?: string } | undefined)?.continue ?? "";
    } while (token);
  }
  return out;
}

function pathFor(object: Record<string, unknown>): string {
  const md = object.metadata as { name: string; namespace?: string };
  const plural = KINDS.find(([k]) => k === object.kind)?.[1];
  return md.namespace
    ? `${RBAC}/namespaces/${md.namespace}/${plural}/${md.name}`
    : `${RBAC}/${plural}/${md.name}`;
}

function collectionFor(object: Record<string, unknown>): string {
  return pathFor(object).replace(/\/[^/]+$/, "");
}

function indexOf(manifests: Record<string, unknown>[], aggregate: boolean): RbacIndex {
  return buildRbacIndex(readRbacObjects(manifests.map((o) => makeResource(o))).objects, { aggregate });
}

function sar(question: Question): Record<string, unknown> {
  const { user, request } = question;
  const spec: Record<string, unknown> = { user: user.name, groups: user.groups };
  if (request.kind === "resource") {
    spec.resourceAttributes = {
      verb: request.verb,
      group: request.apiGroup,
      resource: request.resource,
      subresource: request.subresource,
      name: request.name,
      namespace: request.namespace,
    };
  } else spec.nonResourceAttributes = { verb: request.verb, path: request.path };
  return { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec };
}

async function ask(question: Question): Promise<{ allowed: boolean; reason: string }> {
  const review = await send("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", sar(question));
  const status = (review.status ?? {}) as { allowed?: boolean; reason?: string; evaluationError?: string };
  return { allowed: status.allowed === true, reason: status.reason ?? status.evaluationError ?? "" };
}

function ruleKeySet(rules: unknown): string[] {
  return ((rules as Record<string, unknown>[] | undefined) ?? [])
    .map((r) =>
      JSON.stringify(
        ["verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"].map((f) => [
          ...((r[f] as string[]) ?? []),
        ]),
      ),
    )
    .sort();
}

function describeRequest(request: RbacRequest): string {
  return request.kind === "resource"
    ? `${request.verb} group=${JSON.stringify(request.apiGroup)} resource=${request.resource}${request.subresource ? `/${request.subresource}` : ""} name=${JSON.stringify(request.name)} namespace=${JSON.stringify(request.namespace)}`
    : `${request.verb} nonResourceURL ${request.path}`;
}

/** Whether a who-can subject designates `user`. */
function designates(subject: { kind: string; name: string; namespace?: string }, user: UserInfo): boolean {
  if (subject.kind === "User") return subject.name === user.name;
  if (subject.kind === "Group") return user.groups.includes(subject.name);
  return serviceAccountUsername(subject.namespace ?? "", subject.name) === user.name;
}

describeCluster("RBAC fidelity: belay vs SubjectAccessReview", () => {
  let bootstrap: Record<string, unknown>[] = [];

  beforeAll(async () => {
    kc = await adminKubeConfig();
    client = await rawClient(kc, CONCURRENCY);
    prefix = `w${SEED.toString(36)}`;
    console.log(`RBAC fidelity seed: ${SEED} (replay with BELAY_RBAC_SEED=${SEED})`);
    bootstrap = await listAll();
    const namespaces = [0, 1, 2].map((i) => `${prefix}-ns${i}`);
    for (const ns of namespaces) {
      await send("POST", "/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      });
      created.push({ path: `/api/v1/namespaces/${ns}` });
    }
    world = generateWorld({
      seed: SEED,
      prefix,
      namespaces,
      clusterRoles: 70,
      aggregated: 12,
      roles: 60,
      clusterRoleBindings: 60,
      roleBindings: 90,
      extraClusterRoles: ["view", "edit", "admin", "system:discovery"],
      bootstrapAggregationLabels: true,
    });
    // Roles before bindings (not required by the API server, but a realistic order).
    const order = ["ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"];
    for (const kind of order) {
      const batch = world.objects.filter((o) => o.kind === kind);
      await mapLimit(batch, CONCURRENCY, async (object) => {
        await send("POST", collectionFor(object), object);
        created.push({ path: pathFor(object) });
      });
    }
  });

  afterAll(async () => {
    if (!client) return;
    await mapLimit(created.reverse(), CONCURRENCY, async ({ path }) => {
      await client.send("DELETE", path);
    });
    client.close();
  });

  it(`agrees with SubjectAccessReview on ${QUESTIONS} random questions`, { timeout: 240_000 }, async () => {
    const manifests = [...bootstrap, ...world.objects];
    const offline = indexOf(manifests, true);
    const roleCount = world.objects.filter((o) => o.kind === "Role" || o.kind === "ClusterRole").length;
    const bindingCount = world.objects.length - roleCount;
    expect(roleCount + bindingCount).toBeGreaterThanOrEqual(200);

    // 1. Wait for the controller to aggregate every ClusterRole as belay computed offline.
    const expected = new Map<string, string[]>();
    for (const [key, role] of offline.roles)
      if (role.kind === "ClusterRole" && role.aggregationRule)
        expected.set(key.slice("ClusterRole/".length), ruleKeySet(role.rules));
    let mismatch: string[] = [];
    const deadline = Date.now() + 90_000;
    for (;;) {
      const live = await send("GET", `${RBAC}/clusterroles`);
      mismatch = [];
      for (const item of live.items as Record<string, unknown>[]) {
        const name = (item.metadata as { name: string }).name;
        const want = expected.get(name);
        if (want === undefined) continue;
        const got = ruleKeySet(item.rules);
        if (JSON.stringify(got) !== JSON.stringify(want))
          mismatch.push(
            `ClusterRole ${name}:\n  server: ${got.join("\n          ")}\n  belay:  ${want.join("\n          ")}`,
          );
      }
      if (mismatch.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(mismatch, `aggregation differs (seed ${SEED})`).toEqual([]);

    // 2. Sentinels created last: once SAR sees them, the authorizer's caches hold the world.
    const sentinelUser = `${prefix}-sentinel`;
    const sentinels: Record<string, unknown>[] = [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: `${prefix}-sentinel` },
        rules: [{ verbs: ["sentinel"], apiGroups: [""], resources: ["sentinels"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: `${prefix}-sentinel`, namespace: world.namespaces[0] },
        rules: [{ verbs: ["sentinel"], apiGroups: [""], resources: ["nssentinels"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${prefix}-sentinel` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${prefix}-sentinel` },
        subjects: [{ kind: "User", name: sentinelUser }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: `${prefix}-sentinel`, namespace: world.namespaces[0] },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${prefix}-sentinel` },
        subjects: [{ kind: "User", name: sentinelUser }],
      },
    ];
    for (const object of sentinels) {
      await send("POST", collectionFor(object), object);
      created.push({ path: pathFor(object) });
    }
    const sentinelQuestions: Question[] = [
      {
        user: { name: sentinelUser, groups: [] },
        request: {
          kind: "resource",
          verb: "sentinel",
          apiGroup: "",
          resource: "sentinels",
          subresource: "",
          name: "",
          namespace: "",
        },
      },
      {
        user: { name: sentinelUser, groups: [] },
        request: {
          kind: "resource",
          verb: "sentinel",
          apiGroup: "",
          resource: "nssentinels",
          subresource: "",
          name: "",
          namespace: world.namespaces[0] as string,
        },
      },
    ];
    for (const deadline2 = Date.now() + 30_000; ; ) {
      const answers = await Promise.all(sentinelQuestions.map(ask));
      if (answers.every((a) => a.allowed)) break;
      if (Date.now() > deadline2) throw new Error("the authorizer never saw the sentinel bindings");
      await new Promise((r) => setTimeout(r, 100));
    }
    const model = indexOf([...manifests, ...sentinels], true);

    // 3. Ask.
    const questions = generateQuestions(world, SEED ^ 0x5eed, QUESTIONS);
    const started = Date.now();
    const answers = await mapLimit(questions, CONCURRENCY, ask);
    const seconds = (Date.now() - started) / 1000;
    const failures: string[] = [];
    let yes = 0;
    let whoCanChecked = 0;
    questions.forEach((question, i) => {
      const server = answers[i] as { allowed: boolean; reason: string };
      const decision = model.authorize(question.user, question.request);
      const fast = model.allows(question.user, question.request);
      if (server.allowed) yes++;
      const problems: string[] = [];
      if (decision.allowed !== server.allowed)
        problems.push(
          `SAR ${server.allowed ? "allowed" : "denied"}, belay ${decision.allowed ? "allowed" : "denied"}`,
        );
      if (fast !== decision.allowed) problems.push("belay allows() and authorize() disagree");
      if (i % 10 === 0) {
        whoCanChecked++;
        const listed = model.whoCan(question.request).some((s) => designates(s, question.user));
        if (listed !== server.allowed)
          problems.push(
            `who-can ${listed ? "lists" : "does not list"} the user but SAR ${server.allowed ? "allowed" : "denied"}`,
          );
      }
      if (problems.length > 0)
        failures.push(
          [
            `#${i}: ${problems.join("; ")}`,
            `  user ${JSON.stringify(question.user.name)} groups ${JSON.stringify(question.user.groups)}`,
            `  request ${describeRequest(question.request)}`,
            `  SAR reason: ${server.reason || "(none)"}`,
            `  belay: ${decision.reason}; grants ${JSON.stringify(decision.grants.map((g) => `${g.binding} -> ${g.role} ${JSON.stringify(g.rule)}`))}`,
          ].join("\n"),
        );
    });
    console.log(
      `RBAC fidelity seed ${SEED}: ${world.objects.length} objects (${roleCount} roles, ${bindingCount} bindings) + ${bootstrap.length} bootstrap; ` +
        `${questions.length} questions (${yes} allowed, ${questions.length - yes} denied, ${questions.filter((q) => q.user.groups.includes(PRIVILEGED_GROUP)).length} as system:masters) ` +
        `in ${seconds.toFixed(1)} s; who-can cross-checked on ${whoCanChecked}; agreement ${questions.length - failures.length}/${questions.length}`,
    );
    if (failures.length > 0)
      console.log(
        `RBAC fidelity MISMATCHES (seed ${SEED}, replay with BELAY_RBAC_SEED=${SEED}):\n${failures.slice(0, 20).join("\n")}`,
      );
    expect(failures.length, `mismatches with seed ${SEED}; first:\n${failures.slice(0, 5).join("\n")}`).toBe(
      0,
    );
    expect(yes).toBeGreaterThan(questions.length * 0.1);
    expect(questions.length - yes).toBeGreaterThan(questions.length * 0.1);
  });
});
