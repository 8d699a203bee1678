/**
 * `belay rbac` against a live cluster (the current kubeconfig context): objects are read
 * with paging, aggregated ClusterRoles as the controller wrote them, and answers match
 * what the API server says through impersonation (kubectl auth can-i's mechanism).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "../helpers.ts";
import { mapLimit, type RawClient, rawClient } from "./pss-support.ts";
import {
  adminKubeConfig,
  createTestNamespace,
  describeCluster,
  sharedCluster,
  userKubeConfig,
} from "./shared.ts";

let client: RawClient;
let namespace: string;
const created: string[] = [];
const RBAC = "/apis/rbac.authorization.k8s.io/v1";

describeCluster("belay rbac, live", () => {
  beforeAll(async () => {
    const kc = await adminKubeConfig();
    client = await rawClient(kc);
    namespace = await createTestNamespace(kc, "rbac-live");
    const objects: [string, Record<string, unknown>][] = [
      [
        `${RBAC}/clusterroles`,
        {
          metadata: { name: `${namespace}-exec`, labels: { [`${namespace}.belay.dev/agg`]: "true" } },
          rules: [{ apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }],
        },
      ],
      [
        `${RBAC}/clusterroles`,
        {
          metadata: { name: `${namespace}-agg` },
          aggregationRule: {
            clusterRoleSelectors: [{ matchLabels: { [`${namespace}.belay.dev/agg`]: "true" } }],
          },
        },
      ],
      [
        `${RBAC}/namespaces/${namespace}/rolebindings`,
        {
          metadata: { name: "debuggers" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${namespace}-agg` },
          subjects: [{ kind: "ServiceAccount", name: "debugger" }],
        },
      ],
    ];
    for (const [path, body] of objects) {
      const res = await client.send("POST", path, JSON.stringify(body));
      expect(res.status, res.body).toBeLessThan(300);
      created.push(`${path}/${(body.metadata as { name: string }).name}`);
    }
    // Wait for the controller to aggregate.
    for (const deadline = Date.now() + 30_000; ; ) {
      const res = await client.send("GET", `${RBAC}/clusterroles/${namespace}-agg`);
      if ((JSON.parse(res.body).rules ?? []).length > 0) break;
      if (Date.now() > deadline) throw new Error("aggregation did not happen");
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    if (!client) return;
    await mapLimit(created, 4, (path) => client.send("DELETE", path));
    client.close();
  });

  const env = () => ({ PATH: process.env.PATH, KUBECONFIG: sharedCluster?.kubeconfigPath });

  it("answers can from the live objects, as the API server does", async () => {
    const sa = `system:serviceaccount:${namespace}:debugger`;
    const yes = await runCli(
      ["rbac", "can", "create", "pods/exec", "-n", namespace, "--as", sa, "-o", "json"],
      { env: env() },
    );
    expect(yes.stderr).toBe("");
    expect(JSON.parse(yes.stdout)).toMatchObject({
      allowed: true,
      grants: [{ binding: `RoleBinding/${namespace}/debuggers`, role: `ClusterRole/${namespace}-agg` }],
    });
    const no = await runCli(["rbac", "can", "create", "pods/exec", "-n", "default", "--as", sa], {
      env: env(),
    });
    expect(no.code).toBe(1);
    // The bootstrap policy: every authenticated user may create selfsubjectaccessreviews.
    const ssar = await runCli(
      ["rbac", "can", "create", "selfsubjectaccessreviews.authorization.k8s.io", "--as", "nobody"],
      { env: env() },
    );
    expect(ssar.stdout.split("\n")[0]).toBe("yes");

    // Same questions to the API server, as the impersonated user (kubectl auth can-i).
    const kc = await userKubeConfig(sa, [
      "system:serviceaccounts",
      `system:serviceaccounts:${namespace}`,
      "system:authenticated",
    ]);
    const raw = await rawClient(kc);
    try {
      for (const [ns, want] of [
        [namespace, true],
        ["default", false],
      ] as const) {
        const res = await raw.send(
          "POST",
          "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
          JSON.stringify({
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: {
              resourceAttributes: { verb: "create", resource: "pods", subresource: "exec", namespace: ns },
            },
          }),
        );
        expect(JSON.parse(res.body).status.allowed === true).toBe(want);
      }
    } finally {
      raw.close();
    }
  });

  it("lists who can, including bootstrap subjects", async () => {
    const r = await runCli(["rbac", "who-can", "create", "pods/exec", "-n", namespace, "-o", "json"], {
      env: env(),
    });
    const subjects = JSON.parse(r.stdout).subjects as { kind: string; name: string; namespace?: string }[];
    expect(subjects).toContainEqual(
      expect.objectContaining({ kind: "ServiceAccount", name: "debugger", namespace }),
    );
    expect(subjects).toContainEqual(expect.objectContaining({ kind: "Group", name: "system:masters" }));
  });

  it("reports risks with the server's version", async () => {
    const r = await runCli(["rbac", "risks", "-o", "json"], { env: env() });
    expect(r.stderr).toBe("");
    const findings = JSON.parse(r.stdout).findings as { ruleId: string; resource: { name: string } }[];
    expect(findings).toContainEqual(
      expect.objectContaining({
        ruleId: "rbac-pods-exec",
        resource: expect.objectContaining({ name: `${namespace}-exec` }),
      }),
    );
  });

  it("diffs a live context against manifests: exactly the added grant shows", async () => {
    // The live RBAC objects, written as manifests, plus one more binding.
    const dir = mkdtempSync(join(tmpdir(), "belay-rbac-diff-"));
    const docs: string[] = [];
    for (const path of [
      `${RBAC}/clusterroles`,
      `${RBAC}/clusterrolebindings`,
      `${RBAC}/roles`,
      `${RBAC}/rolebindings`,
    ]) {
      const list = JSON.parse((await client.send("GET", path)).body) as {
        kind: string;
        items: Record<string, unknown>[];
      };
      const kind = list.kind.replace(/List$/, "");
      for (const item of list.items)
        docs.push(JSON.stringify({ apiVersion: "rbac.authorization.k8s.io/v1", kind, ...item }));
    }
    docs.push(
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${namespace}-zed-secrets` },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: `${namespace}-secret-reader`,
        },
        subjects: [{ kind: "User", name: "zed", apiGroup: "rbac.authorization.k8s.io" }],
      }),
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: `${namespace}-secret-reader` },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
      }),
    );
    writeFileSync(join(dir, "rbac.yaml"), docs.join("\n---\n"));
    const r = await runCli(["rbac", "diff", "context:belay-test", dir, "-o", "json"], { env: env() });
    expect(r.stderr).toBe("");
    const { changes } = JSON.parse(r.stdout) as {
      changes: {
        kind: string;
        name: string;
        scope: string;
        added: { resources?: string[]; verbs: string[] }[];
        removed: unknown[];
      }[];
    };
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: "User", name: "zed", scope: "", removed: [] });
    expect(changes[0]?.added.map((rule) => [rule.resources, rule.verbs])).toEqual([[["secrets"], ["get"]]]);
    expect(r.code).toBe(1);
    const same = await runCli(["rbac", "diff", "context:belay-test", "context:belay-test", "-o", "json"], {
      env: env(),
    });
    expect(JSON.parse(same.stdout)).toEqual({ changes: [] });
    expect(same.code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails clearly on an unknown context", async () => {
    const r = await runCli(["rbac", "who-can", "get", "pods", "--context", "nope"], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('belay: unknown context "nope" in the kubeconfig\n');
  });
});
