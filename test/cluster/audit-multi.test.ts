/**
 * `belay audit` over several clusters: the shared API server, a second one started here,
 * and a context whose server does not exist. One kubeconfig holds all three; the audit
 * runs them concurrently, prints them side by side in every format, reports the
 * unreachable one without stopping the others, and exits 2 because of it.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { runAudit } from "../audit/run-audit.ts";
import { type Cluster, randomSuffix, startCluster } from "./harness.ts";
import { type RawClient, rawClient } from "./pss-support.ts";
import { adminKubeConfig, describeCluster, sharedCluster, userKubeConfig } from "./shared.ts";

const RULES = "pss-privileged,namespace-pss-label-missing,namespace-pss-privileged";
const namespace = `multi-${randomSuffix()}`;
let second: Cluster;
let dir: string;
let kubeconfig: string;
const clients: RawClient[] = [];

interface KubeconfigDoc {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
}

/** The single-context kubeconfig at `path` renamed to context/cluster/user `name`. */
async function renamed(path: string, name: string): Promise<KubeconfigDoc> {
  const doc = parse(await readFile(path, "utf8")) as KubeconfigDoc;
  return {
    clusters: doc.clusters.map((c) => ({ ...c, name })),
    users: doc.users.map((u) => ({ ...u, name })),
    contexts: [{ name, context: { cluster: name, user: name } }],
  };
}

async function post(client: RawClient, path: string, body: unknown): Promise<void> {
  const res = await client.send("POST", path, JSON.stringify(body));
  if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
}

const privilegedDeployment = (name: string) => ({
  metadata: { name },
  spec: {
    paused: true,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          { name: "app", image: "registry.example/app:1.0", securityContext: { privileged: true } },
        ],
      },
    },
  },
});

describeCluster("belay audit, several clusters", () => {
  beforeAll(async () => {
    if (!sharedCluster) return;
    // No controller manager: the second cluster only stores objects, which is all an audit reads.
    second = await startCluster({ controllerManager: false });
    const one = await rawClient(await adminKubeConfig(), 8);
    const two = await rawClient(second.kubeConfig, 8);
    clients.push(one, two);
    // The same namespace name in both clusters, labelled differently; one privileged
    // Deployment in "one", two in "two".
    await post(one, "/api/v1/namespaces", {
      metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "baseline" } },
    });
    await post(two, "/api/v1/namespaces", {
      metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
    });
    await post(one, `/apis/apps/v1/namespaces/${namespace}/deployments`, privilegedDeployment("a"));
    await post(two, `/apis/apps/v1/namespaces/${namespace}/deployments`, privilegedDeployment("a"));
    await post(two, `/apis/apps/v1/namespaces/${namespace}/deployments`, privilegedDeployment("b"));

    dir = await mkdtemp(join(tmpdir(), "belay-multi-"));
    kubeconfig = join(dir, "config");
    const parts = [
      await renamed(sharedCluster.kubeconfigPath, "one"),
      await renamed(second.kubeconfigPath, "two"),
      {
        // Port 1 on loopback: nothing listens there.
        clusters: [
          { name: "gone", cluster: { server: "https://127.0.0.1:1", "insecure-skip-tls-verify": true } },
        ],
        users: [{ name: "gone", user: { token: "t" } }],
        contexts: [{ name: "gone", context: { cluster: "gone", user: "gone" } }],
      },
    ];
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: parts.flatMap((p) => p.clusters),
        users: parts.flatMap((p) => p.users),
        contexts: parts.flatMap((p) => p.contexts),
        "current-context": "one",
      }),
    );
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await second?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const env = () => ({ PATH: process.env.PATH, KUBECONFIG: kubeconfig });
  const args = (...more: string[]) => ["-n", namespace, "--rules", RULES, ...more];

  it("audits every context concurrently, side by side in JSON, and reports the unreachable one", async () => {
    const result = await runAudit(["--all-contexts", ...args("-o", "json")], env());
    expect(result.code, result.stderr).toBe(2);
    const doc = JSON.parse(result.stdout) as {
      findings: { cluster: string; ruleId: string; resource: { kind: string; name: string } }[];
      clusters: {
        name: string;
        server: string;
        status: string;
        error?: string;
        summary?: { findings: number };
      }[];
      summary: { findings: number };
    };
    expect(doc.clusters.map((c) => `${c.name} ${c.status}`)).toEqual([
      "gone failed",
      "one audited",
      "two audited",
    ]);
    expect(doc.clusters[0]?.error).toMatch(/cannot reach the API server of context "gone".*ECONNREFUSED/);
    expect(doc.clusters[1]?.server).toBe(sharedCluster?.server);
    expect(doc.clusters[2]?.server).toBe(second.server);
    expect(
      doc.findings.map((f) => `${f.cluster} ${f.ruleId} ${f.resource.kind} ${f.resource.name}`).sort(),
    ).toEqual([
      `one pss-privileged Deployment a`,
      `two namespace-pss-privileged Namespace ${namespace}`,
      `two pss-privileged Deployment a`,
      `two pss-privileged Deployment b`,
    ]);
    expect(doc.summary.findings).toBe(4);
    expect(doc.clusters[2]?.summary?.findings).toBe(3);
    expect(result.stderr).toContain('belay: audit of context "gone" failed: cannot reach the API server');
    expect(result.stderr).toContain('belay: 1 of 3 contexts not audited: "gone"');
  });

  it("exits 1 when every given context is reachable and has findings", async () => {
    const result = await runAudit(["--context", "two", "--context", "one", ...args("-o", "yaml")], env());
    expect(result.code, result.stderr).toBe(1);
    const doc = parse(result.stdout) as { clusters: { name: string }[]; findings: { cluster: string }[] };
    // The order given on the command line.
    expect(doc.clusters.map((c) => c.name)).toEqual(["two", "one"]);
    expect(doc.findings.filter((f) => f.cluster === "one")).toHaveLength(1);
  });

  it("prints tables per cluster and the summary per cluster, namespace and rule", async () => {
    const result = await runAudit(["--all-contexts", ...args()], env());
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/== cluster gone \(https:\/\/127\.0\.0\.1:1\)\nnot audited: /);
    expect(result.stdout).toContain(`== cluster one (${sharedCluster?.server})\n`);
    expect(result.stdout).toContain(`Deployment ${namespace}/a`);
    expect(result.stdout).toMatch(
      /CLUSTER\s+STATUS\s+OBJECTS\s+FAIL\s+WARN\ngone\s+failed\none\s+audited\s+\d+\s+1\s+0\ntwo\s+audited\s+\d+\s+3\s+0\n/,
    );
    expect(result.stdout).toMatch(
      new RegExp(`one\\s+${namespace}\\s+1\\s+0\\ntwo\\s+${namespace}\\s+3\\s+0`),
    );
    // Rules side by side: one column per cluster, "-" where the cluster was not audited.
    expect(result.stdout).toMatch(
      /RULE\s+gone\s+one\s+two\nnamespace-pss-privileged\s+-\s+0\s+1\npss-privileged\s+-\s+1\s+2\n$/,
    );
  });

  it("gives a SARIF run and a JUnit suite per cluster", async () => {
    const sarif = await runAudit(["--all-contexts", ...args("-o", "sarif")], env());
    const log = JSON.parse(sarif.stdout) as {
      runs: {
        automationDetails: { id: string };
        results: unknown[];
        invocations: { executionSuccessful: boolean }[];
      }[];
    };
    expect(
      log.runs.map(
        (r) => `${r.automationDetails.id} ${r.results.length} ${r.invocations[0]?.executionSuccessful}`,
      ),
    ).toEqual(["belay/audit/gone/ 0 false", "belay/audit/one/ 1 true", "belay/audit/two/ 3 true"]);
    const junit = await runAudit(["--all-contexts", ...args("-o", "junit")], env());
    expect(junit.stdout).toMatch(/<testsuite name="gone" tests="1" failures="0" errors="1"/);
    expect(junit.stdout).toMatch(/<testsuite name="one" tests="1" failures="1" errors="0"/);
    expect(junit.stdout).toMatch(/<testsuite name="two" tests="3" failures="3" errors="0"/);
  });

  it("sees bindings of other namespaces and ClusterRoleBindings for automount-unbound-service-account", async () => {
    const one = clients[0] as RawClient;
    const other = `${namespace}-other`;
    await post(one, "/api/v1/namespaces", { metadata: { name: other } });
    for (const name of ["lonely", "bound-elsewhere", "bound-by-crb"]) {
      await post(one, `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } });
      await post(one, `/api/v1/namespaces/${namespace}/pods`, {
        metadata: { name },
        spec: { serviceAccountName: name, containers: [{ name: "app", image: "registry.example/app:1.0" }] },
      });
    }
    const RBAC = "/apis/rbac.authorization.k8s.io/v1";
    await post(one, `${RBAC}/namespaces/${other}/rolebindings`, {
      metadata: { name: "read" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: "bound-elsewhere", namespace }],
    });
    await post(one, `${RBAC}/clusterrolebindings`, {
      metadata: { name: `${namespace}-crb` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: "bound-by-crb", namespace }],
    });
    try {
      const result = await runAudit(
        ["--context", "one", "-n", namespace, "--rules", "automount-unbound-service-account", "-o", "json"],
        env(),
      );
      expect(result.code, result.stderr).toBe(1);
      const doc = JSON.parse(result.stdout) as {
        findings: { ruleId: string; resource: { kind: string; name: string } }[];
      };
      // Only the account no binding anywhere grants anything; the bindings themselves are
      // context, not audited objects of this namespace.
      expect(doc.findings.map((f) => `${f.ruleId} ${f.resource.kind} ${f.resource.name}`)).toEqual([
        "automount-unbound-service-account Pod lonely",
      ]);
    } finally {
      await one.send("DELETE", `${RBAC}/clusterrolebindings/${namespace}-crb`);
    }
  });

  it("lists a kind per namespace when the user may not list it across namespaces", async () => {
    const one = clients[0] as RawClient;
    const user = `${namespace}-auditor`;
    const RBAC = "/apis/rbac.authorization.k8s.io/v1";
    // Namespaces and pods cluster-wide, deployments only in the test namespace.
    await post(one, `${RBAC}/clusterroles`, {
      metadata: { name: user },
      rules: [{ apiGroups: [""], resources: ["namespaces", "pods"], verbs: ["list"] }],
    });
    await post(one, `${RBAC}/clusterrolebindings`, {
      metadata: { name: user },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: user },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    });
    await post(one, `${RBAC}/namespaces/${namespace}/roles`, {
      metadata: { name: "deployments" },
      rules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["list"] }],
    });
    await post(one, `${RBAC}/namespaces/${namespace}/rolebindings`, {
      metadata: { name: "deployments" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "deployments" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    });
    const userConfig = join(dir, "user");
    await writeFile(userConfig, (await userKubeConfig(user)).exportConfig());
    try {
      const result = await runAudit(["--rules", "pss-privileged", "-o", "json"], {
        PATH: process.env.PATH,
        KUBECONFIG: userConfig,
      });
      expect(result.code, result.stderr).toBe(1);
      const doc = JSON.parse(result.stdout) as {
        findings: { ruleId: string; resource: { namespace?: string; name: string } }[];
      };
      expect(
        doc.findings
          .filter((f) => f.resource.namespace === namespace)
          .map((f) => `${f.ruleId} ${f.resource.name}`),
      ).toEqual(["pss-privileged a"]);
      // Other namespaces' deployments stay unlisted, each said once.
      expect(result.stderr).toContain(
        'warning: cannot list deployments.apps/v1 in namespace "default": forbidden',
      );
      expect(result.stderr).not.toContain(`cannot list deployments.apps/v1 in namespace "${namespace}"`);
    } finally {
      await one.send("DELETE", `${RBAC}/clusterrolebindings/${user}`);
      await one.send("DELETE", `${RBAC}/clusterroles/${user}`);
    }
  });

  it("shows progress on a terminal's stderr, and erases it before the output", async () => {
    const result = await runAudit(["--context", "one", "--context", "two", ...args("-o", "json")], env(), {
      stderrTTY: true,
    });
    expect(result.code).toBe(1);
    const ERASE = "\r\u001b[K";
    expect(result.stderr.startsWith(`${ERASE}auditing `)).toBe(true);
    expect(result.stderr).toMatch(/auditing (one|two): \d+\/1 namespaces, \d+ objects/);
    expect(result.stderr.endsWith(ERASE)).toBe(true);
    expect(result.stdout).not.toContain("\r");
  });
});
