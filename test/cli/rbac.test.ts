import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers.ts";

const SHOP = join(import.meta.dirname, "..", "fixtures", "rbac", "shop");
const SHOP_V2 = join(import.meta.dirname, "..", "fixtures", "rbac", "shop-v2");

describe("belay rbac who-can", () => {
  it("lists subjects with the bindings that grant, as a table", async () => {
    const r = await runCli(["rbac", "who-can", "create", "pods/exec", "-n", "shop", "-f", SHOP]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "KIND            NAMESPACE  NAME               GRANTED BY",
        "Group                      support            RoleBinding/shop/support-team (ClusterRole/support)",
        "Group                      system:masters     (privileged group: the API server allows it every request)",
        "ServiceAccount  shop       helper             RoleBinding/shop/support-team (ClusterRole/support)",
        "User                       alice@example.com  ClusterRoleBinding/ops-admin (ClusterRole/cluster-admin)",
        "",
      ].join("\n"),
    );
  });

  it("answers non-resource URLs and prints the documented JSON shape", async () => {
    const r = await runCli([
      "rbac",
      "who-can",
      "get",
      "--non-resource-url",
      "/debug/pprof",
      "-f",
      SHOP,
      "-o",
      "json",
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      subjects: [
        { kind: "Group", name: "system:masters", privileged: true, grants: [] },
        {
          kind: "ServiceAccount",
          name: "prometheus",
          namespace: "monitoring",
          grants: [{ binding: "ClusterRoleBinding/prometheus", role: "ClusterRole/metrics-reader" }],
        },
        {
          kind: "User",
          name: "alice@example.com",
          grants: [{ binding: "ClusterRoleBinding/ops-admin", role: "ClusterRole/cluster-admin" }],
        },
      ],
    });
  });

  it("honours resourceNames only with --name", async () => {
    const named = await runCli([
      "rbac",
      "who-can",
      "get",
      "secrets",
      "-n",
      "shop",
      "--name",
      "payment-keys",
      "-f",
      SHOP,
      "-o",
      "json",
    ]);
    const unnamed = await runCli([
      "rbac",
      "who-can",
      "get",
      "secrets",
      "-n",
      "shop",
      "-f",
      SHOP,
      "-o",
      "json",
    ]);
    const names = (out: string) => (JSON.parse(out).subjects as { name: string }[]).map((s) => s.name);
    expect(names(named.stdout)).toEqual(["system:masters", "payments", "alice@example.com"]);
    expect(names(unnamed.stdout)).toEqual(["system:masters", "alice@example.com"]);
  });
});

describe("belay rbac can", () => {
  it("says yes and why, exit 0", async () => {
    const r = await runCli([
      "rbac",
      "can",
      "create",
      "pods/exec",
      "-n",
      "shop",
      "--as",
      "system:serviceaccount:shop:helper",
      "-f",
      SHOP,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "yes",
        "  allowed by RoleBinding/shop/support-team (ClusterRole/support)",
        '  RoleBinding/shop/support-team -> ClusterRole/support: create on */exec in group ""',
        "",
      ].join("\n"),
    );
  });

  it("says no with exit 1, like kubectl auth can-i", async () => {
    const r = await runCli([
      "rbac",
      "can",
      "create",
      "pods/exec",
      "-n",
      "other",
      "--as",
      "bob",
      "--as-group",
      "support",
      "-f",
      SHOP,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("no\n  no RBAC binding grants it\n");
  });

  it("prints the documented JSON shape", async () => {
    const r = await runCli([
      "rbac",
      "can",
      "get",
      "secrets",
      "-n",
      "shop",
      "--name",
      "payment-keys",
      "--as",
      "system:serviceaccount:shop:payments",
      "-f",
      SHOP,
      "-o",
      "json",
    ]);
    expect(JSON.parse(r.stdout)).toEqual({
      allowed: true,
      reason: "allowed by RoleBinding/shop/payments (Role/shop/secret-reader)",
      user: "system:serviceaccount:shop:payments",
      groups: ["system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"],
      grants: [
        {
          binding: "RoleBinding/shop/payments",
          role: "Role/shop/secret-reader",
          rule: {
            verbs: ["get"],
            apiGroups: [""],
            resources: ["secrets"],
            resourceNames: ["payment-keys"],
            nonResourceURLs: [],
          },
        },
      ],
    });
  });

  it("allows system:masters everything", async () => {
    const r = await runCli([
      "rbac",
      "can",
      "delete",
      "nodes",
      "--as",
      "root",
      "--as-group",
      "system:masters",
      "-f",
      SHOP,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('user is in group "system:masters"');
  });

  it.each([
    [
      ["rbac", "can", "GET!", "pods", "--as", "x", "-f", SHOP],
      'belay: invalid verb "GET!": a verb is one word such as get, list, create, impersonate or *\n',
    ],
    [
      ["rbac", "can", "get", "pods//x", "--as", "x", "-f", SHOP],
      'belay: invalid resource "pods//x": use RESOURCE[.GROUP][/SUBRESOURCE], e.g. pods, deployments.apps/scale, pods/exec\n',
    ],
    [
      ["rbac", "can", "get", "pods", "-f", SHOP],
      "belay: rbac can needs --as USER (and --as-group GROUP for each group); use --as system:serviceaccount:NS:NAME for a service account\n",
    ],
    [
      ["rbac", "can", "get", "--as", "x", "-f", SHOP],
      "belay: missing RESOURCE (or --non-resource-url PATH)\n",
    ],
    [
      ["rbac", "can", "get", "pods", "--as", "x", "-f", "nope.yaml"],
      "belay: nope.yaml: cannot read: no such file or directory\n",
    ],
    [
      ["rbac", "can", "get", "/healthz", "-n", "x", "--as", "x", "-f", SHOP],
      "belay: -n, --name and --api-group do not apply to a non-resource URL\n",
    ],
    [
      ["rbac", "who-can", "get", "pods", "-f", SHOP, "-o", "yaml"],
      'belay: unknown output format "yaml"; use table or json\n',
    ],
  ])("rejects bad input with exit 2: %j", async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(message);
    expect(r.stdout).toBe("");
  });

  it("reports an unusable kubeconfig context when no -f is given", async () => {
    const r = await runCli(["rbac", "can", "get", "pods", "--as", "x", "--context", "nope"], {
      env: { PATH: process.env.PATH, KUBECONFIG: join(SHOP, "missing-kubeconfig") },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^belay: cannot load kubeconfig: /);
  });
});

describe("belay rbac subject", () => {
  it("lists effective permissions of a user and its groups", async () => {
    const r = await runCli(["rbac", "subject", "--as", "bob", "--as-group", "support", "-f", SHOP]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'user "bob" groups "support", "system:authenticated"',
        "NAMESPACE  VERBS     API GROUPS  RESOURCES/URLS  NAMES  FROM",
        'shop       get,list  ""          pods,pods/log          RoleBinding/shop/support-team (ClusterRole/support)',
        'shop       create    ""          */exec                 RoleBinding/shop/support-team (ClusterRole/support)',
        "",
      ].join("\n"),
    );
  });

  it("needs --as", async () => {
    const r = await runCli(["rbac", "subject", "-f", SHOP]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("rbac subject needs --as USER");
  });
});

describe("belay rbac risks", () => {
  it("reports risky grants as findings in the common JSON schema, exit 1", async () => {
    const r = await runCli(["rbac", "risks", "-f", SHOP, "-o", "json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as {
      findings: { ruleId: string; resource: { name: string }; line?: number }[];
    };
    const ids = new Set(report.findings.map((f) => `${f.ruleId} ${f.resource.name}`));
    expect(ids).toContain("rbac-pods-exec pod-debugger");
    expect(ids).toContain("rbac-cluster-admin-binding ops-admin");
    expect(ids).toContain("rbac-wildcard cluster-admin");
    expect(report.findings.every((f) => typeof f.line === "number")).toBe(true);
  });

  it("knows the version: get on pods/exec is no exec from v1.35", async () => {
    const old = await runCli([
      "rbac",
      "risks",
      "-f",
      join(
        import.meta.dirname,
        "..",
        "fixtures",
        "rules",
        "rbac-pods-exec",
        "fail",
        "subresource-wildcard-get.yaml",
      ),
      "--kube-version",
      "v1.34",
      "-o",
      "json",
    ]);
    const now = await runCli([
      "rbac",
      "risks",
      "-f",
      join(
        import.meta.dirname,
        "..",
        "fixtures",
        "rules",
        "rbac-pods-exec",
        "fail",
        "subresource-wildcard-get.yaml",
      ),
      "--kube-version",
      "v1.35",
      "-o",
      "json",
    ]);
    expect((JSON.parse(old.stdout).findings as { ruleId: string }[]).map((f) => f.ruleId)).toContain(
      "rbac-pods-exec",
    );
    expect((JSON.parse(now.stdout).findings as { ruleId: string }[]).map((f) => f.ruleId)).not.toContain(
      "rbac-pods-exec",
    );
    const bad = await runCli(["rbac", "risks", "-f", SHOP, "--kube-version", "1.x"]);
    expect(bad.stderr).toBe('belay: invalid --kube-version "1.x"; use v1.N, e.g. v1.34\n');
  });

  it("lists the catalog with versions", async () => {
    const r = await runCli(["rbac", "catalog", "-o", "json"]);
    const risks = JSON.parse(r.stdout) as { id: string; kubernetesVersions: string }[];
    expect(risks.find((x) => x.id === "rbac-pods-exec")?.kubernetesVersions).toContain("before v1.35");
    expect(risks.length).toBeGreaterThanOrEqual(12);
  });
});

describe("belay rbac diff", () => {
  it("shows permissions added per subject and scope, exit 1 when something changed", async () => {
    const r = await runCli(["rbac", "diff", SHOP, SHOP_V2]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        "Group support in namespace shop:",
        '  + get on pods/portforward in group ""',
        '  + list on pods/portforward in group ""',
        "ServiceAccount shop/helper in namespace shop:",
        '  + get on pods/portforward in group ""',
        '  + list on pods/portforward in group ""',
        "ServiceAccount shop/payments in namespace shop:",
        '  + get on secrets in group "" named payment-certs',
        "",
      ].join("\n"),
    );
    const back = await runCli(["rbac", "diff", SHOP_V2, SHOP, "-o", "json"]);
    const changes = JSON.parse(back.stdout).changes as {
      name: string;
      added: unknown[];
      removed: unknown[];
    }[];
    expect(changes.map((c) => [c.name, c.added.length, c.removed.length])).toEqual([
      ["support", 0, 2],
      ["helper", 0, 2],
      ["payments", 0, 1],
    ]);
    const same = await runCli(["rbac", "diff", SHOP, SHOP]);
    expect([same.code, same.stdout]).toEqual([0, "no change in effective permissions\n"]);
  });
});

describe("bin/belay.js rbac can (real process)", () => {
  it("answers yes with exit 0 and no with exit 1", () => {
    const root = new URL("../..", import.meta.url).pathname;
    const run = (args: string[]) =>
      spawnSync(`${root}node_modules/.bin/node`, [`${root}bin/belay.js`, ...args], {
        cwd: root,
        encoding: "utf8",
        env: { PATH: process.env.PATH },
      });
    const yes = run([
      "rbac",
      "can",
      "get",
      "/metrics",
      "--as",
      "system:serviceaccount:monitoring:prometheus",
      "-f",
      SHOP,
    ]);
    expect([yes.status, yes.stdout.split("\n")[0], yes.stderr]).toEqual([0, "yes", ""]);
    const no = run(["rbac", "can", "get", "/metrics", "--as", "bob", "-f", SHOP]);
    expect([no.status, no.stdout.split("\n")[0]]).toEqual([1, "no"]);
  });
});
