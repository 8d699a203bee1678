/**
 * `belay audit` against the real API server: a namespace seeded with known violations and a
 * cluster ValidatingAdmissionPolicy (with a ConfigMap param) gives exactly the expected
 * findings; `--write-reports` writes a PolicyReport, and a second run writes nothing.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runAudit } from "../audit/run-audit.ts";
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
const cleanup: string[] = [];
const RULES = "pss-privileged,pss-host-namespaces,rbac-wildcard,namespace-no-default-deny";

async function send(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await client.send(method, path, body === undefined ? undefined : JSON.stringify(body));
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

function podSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { containers: [{ name: "app", image: "registry.example/app:1.0" }], ...extra };
}

function deployment(name: string, labels: Record<string, string>, spec: Record<string, unknown>) {
  return {
    metadata: { name, labels },
    // Paused: the controller creates no ReplicaSet (and so no pods), keeping the set exact.
    spec: {
      paused: true,
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec },
    },
  };
}

describeCluster("belay audit, live", () => {
  let vap: string;

  beforeAll(async () => {
    const kc = await adminKubeConfig();
    client = await rawClient(kc);
    for (const file of ["wgpolicyk8s.io_policyreports.yaml", "wgpolicyk8s.io_clusterpolicyreports.yaml"]) {
      const crd = load(await readFile(new URL(`../../deploy/crds/${file}`, import.meta.url), "utf8")) as {
        metadata: { name: string };
      };
      const res = await client.send(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        JSON.stringify(crd),
      );
      if (res.status !== 409) expect(res.status, res.body).toBeLessThan(300);
      for (const deadline = Date.now() + 30_000; ; ) {
        const got = await send(
          "GET",
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        );
        const conditions = ((got.status as { conditions?: { type: string; status: string }[] })?.conditions ??
          []) as { type: string; status: string }[];
        if (conditions.some((c) => c.type === "Established" && c.status === "True")) break;
        if (Date.now() > deadline) throw new Error(`${crd.metadata.name} not established`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    namespace = await createTestNamespace(kc, "audit");
    vap = `${namespace}-require-label`;
    const ns = `/api/v1/namespaces/${namespace}`;
    await send("POST", `${ns}/pods`, {
      metadata: { name: "priv" },
      spec: podSpec({
        containers: [
          { name: "app", image: "registry.example/app:1.0", securityContext: { privileged: true } },
        ],
      }),
    });
    const apps = `/apis/apps/v1/namespaces/${namespace}/deployments`;
    await send("POST", apps, deployment("hostnet", { team: "a" }, podSpec({ hostNetwork: true })));
    await send("POST", apps, deployment("good", { team: "a" }, podSpec()));
    await send("POST", apps, deployment("unlabeled", {}, podSpec()));
    await send("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
      metadata: { name: "wild" },
      rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
    });
    await send("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
      metadata: { name: `${namespace}-star` },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["*"] }],
    });
    cleanup.push(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${namespace}-star`);
    await send("POST", `${ns}/configmaps`, { metadata: { name: "required-label" }, data: { label: "team" } });
    // The policy arrives after the objects, as in a real cluster: the audit is what finds them.
    const ADM = "/apis/admissionregistration.k8s.io/v1";
    await send("POST", `${ADM}/validatingadmissionpolicies`, {
      metadata: { name: vap },
      spec: {
        failurePolicy: "Fail",
        paramKind: { apiVersion: "v1", kind: "ConfigMap" },
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ["apps"],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["deployments"],
            },
          ],
        },
        validations: [
          {
            expression: "params.data.label in object.metadata.?labels.orValue({})",
            messageExpression: "'deployments must have the label ' + params.data.label",
          },
        ],
      },
    });
    cleanup.push(`${ADM}/validatingadmissionpolicies/${vap}`);
    await send("POST", `${ADM}/validatingadmissionpolicybindings`, {
      metadata: { name: vap },
      spec: {
        policyName: vap,
        validationActions: ["Deny"],
        paramRef: { name: "required-label", namespace, parameterNotFoundAction: "Deny" },
        matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } },
      },
    });
    cleanup.push(`${ADM}/validatingadmissionpolicybindings/${vap}`);
  });

  afterAll(async () => {
    if (!client) return;
    await mapLimit(cleanup, 4, (path) => client.send("DELETE", path));
    client.close();
  });

  const env = () => ({ PATH: process.env.PATH, KUBECONFIG: sharedCluster?.kubeconfigPath });
  const ours = (ruleId: string) => RULES.split(",").includes(ruleId) || ruleId === vap;

  it("finds exactly the seeded violations, including the cluster VAP's", async () => {
    const result = await runAudit(
      ["-n", namespace, "--rules", RULES, "-o", "json", "--page-size", "2"],
      env(),
    );
    expect(result.stderr).not.toContain("failed");
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as {
      findings: {
        ruleId: string;
        status: string;
        resource: { kind: string; namespace?: string; name: string };
        file?: string;
      }[];
      summary: { resources: number };
    };
    const got = report.findings
      .filter((f) => ours(f.ruleId))
      .map(
        (f) => `${f.ruleId} ${f.status} ${f.resource.kind} ${f.resource.namespace ?? ""}/${f.resource.name}`,
      )
      .sort();
    // rbac-wildcard reports each field (apiGroups, resources, verbs); the Namespace lacks
    // both an Ingress and an Egress default deny.
    expect(got.length).toBe(8);
    expect([...new Set(got)]).toEqual(
      [
        `${vap} fail Deployment ${namespace}/unlabeled`,
        `namespace-no-default-deny fail Namespace /${namespace}`,
        `pss-host-namespaces fail Deployment ${namespace}/hostnet`,
        `pss-privileged fail Pod ${namespace}/priv`,
        `rbac-wildcard fail Role ${namespace}/wild`,
      ].sort(),
    );
    expect(report.findings.every((f) => f.file === undefined)).toBe(true);
    // Namespace, pod, 3 deployments, role, 2 configmaps (ours and kube-root-ca.crt), default SA.
    expect(report.summary.resources).toBe(9);
  });

  it("prints the summary per namespace and rule in the table output", async () => {
    const result = await runAudit(["-n", namespace, "--rules", RULES], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`NAMESPACE\\s+FAIL\\s+WARN\\n(.*\\n)*${namespace}\\s+8\\s+0`));
    expect(result.stdout).toMatch(/RULE\s+FAIL\s+WARN/);
    expect(result.stdout).not.toContain("registry.example");
  });

  it("writes a PolicyReport, and nothing when it has not changed", async () => {
    const path = `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${namespace}/policyreports/belay`;
    const first = await runAudit(["-n", namespace, "--rules", RULES, "--write-reports", "-o", "json"], env());
    expect(first.stderr).toContain("reports: 1 created, 0 updated, 0 unchanged, 0 failed");
    const written = (await send("GET", path)) as {
      metadata: { resourceVersion: string; labels: Record<string, string> };
      summary: Record<string, number>;
      results: { policy: string; result: string; resources: { name: string; uid?: string }[] }[];
    };
    expect(written.metadata.labels["app.kubernetes.io/managed-by"]).toBe("belay");
    const failed = written.results
      .filter((r) => r.result === "fail" && ours(r.policy))
      .map((r) => `${r.policy} ${r.resources[0]?.name}`)
      .sort();
    expect([...new Set(failed)]).toEqual(
      [
        `${vap} unlabeled`,
        `namespace-no-default-deny ${namespace}`,
        "pss-host-namespaces hostnet",
        "pss-privileged priv",
        "rbac-wildcard wild",
      ].sort(),
    );
    expect(written.results.every((r) => typeof r.resources[0]?.uid === "string" || r.result === "pass")).toBe(
      true,
    );
    expect(written.summary.fail).toBe(written.results.filter((r) => r.result === "fail").length);
    expect(written.summary.pass).toBe(written.results.filter((r) => r.result === "pass").length);
    expect(written.summary.pass).toBeGreaterThan(0);
    expect(written.summary).toMatchObject({ warn: 0, error: 0, skip: 0 });

    const second = await runAudit(
      ["-n", namespace, "--rules", RULES, "--write-reports", "-o", "json"],
      env(),
    );
    expect(second.stderr).toContain("reports: 0 created, 0 updated, 1 unchanged, 0 failed");
    const after = (await send("GET", path)) as { metadata: { resourceVersion: string } };
    expect(after.metadata.resourceVersion).toBe(written.metadata.resourceVersion);

    // A fixed violation updates the report in place.
    await send("DELETE", `/api/v1/namespaces/${namespace}/pods/priv?gracePeriodSeconds=0`);
    const third = await runAudit(["-n", namespace, "--rules", RULES, "--write-reports", "-o", "json"], env());
    expect(third.stderr).toContain("reports: 0 created, 1 updated, 0 unchanged, 0 failed");
    const updated = (await send("GET", path)) as {
      summary: Record<string, number>;
      results: { policy: string; result: string }[];
    };
    expect(updated.results.some((r) => r.policy === "pss-privileged" && r.result === "fail")).toBe(false);
    expect(updated.summary.fail).toBe(written.summary.fail - 1);
  });

  it("audits the whole cluster and writes the ClusterPolicyReport", async () => {
    const result = await runAudit(["--rules", RULES, "--write-reports", "-o", "json"], env());
    expect(result.stderr).toMatch(/reports: \d+ created, \d+ updated, \d+ unchanged, 0 failed/);
    const report = JSON.parse(result.stdout) as {
      findings: { ruleId: string; resource: { name: string } }[];
    };
    expect(report.findings.some((f) => f.ruleId === vap && f.resource.name === "unlabeled")).toBe(true);
    const cluster = (await send(
      "GET",
      "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/belay-cluster",
    )) as {
      results: { policy: string; resources: { kind: string; name: string }[] }[];
    };
    expect(
      cluster.results.some(
        (r) => r.policy === "rbac-wildcard" && r.resources[0]?.name === `${namespace}-star`,
      ),
    ).toBe(true);
    expect(cluster.results.every((r) => r.resources[0]?.kind !== "Namespace")).toBe(true);
  });

  it("warns about kinds the user may not list and still audits the rest", async () => {
    const user = `${namespace}-viewer`;
    await send("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
      metadata: { name: "pod-reader" },
      rules: [{ apiGroups: [""], resources: ["pods", "namespaces"], verbs: ["get", "list"] }],
    });
    await send("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      metadata: { name: "pod-reader" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    });
    await send("POST", `/api/v1/namespaces/${namespace}/pods`, {
      metadata: { name: "priv2" },
      spec: podSpec({
        containers: [
          { name: "app", image: "registry.example/app:1.0", securityContext: { privileged: true } },
        ],
      }),
    });
    const dir = await mkdtemp(join(tmpdir(), "belay-audit-"));
    try {
      const kubeconfig = join(dir, "config");
      await writeFile(kubeconfig, (await userKubeConfig(user)).exportConfig());
      const result = await runAudit(["-n", namespace, "--rules", RULES, "-o", "json"], {
        PATH: process.env.PATH,
        KUBECONFIG: kubeconfig,
      });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(
        `warning: cannot list deployments.apps/v1 in namespace "${namespace}": forbidden`,
      );
      expect(result.stderr).toContain("warning: cannot list validatingadmissionpolicies");
      const report = JSON.parse(result.stdout) as {
        findings: { ruleId: string; resource: { name: string } }[];
      };
      expect(report.findings.some((f) => f.ruleId === "pss-privileged" && f.resource.name === "priv2")).toBe(
        true,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
