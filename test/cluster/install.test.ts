/**
 * `belay install --apply` against a real API server of its own (startCluster): registering a
 * failurePolicy Fail webhook whose pods never run (there is no kubelet) would break every
 * other test on the shared cluster. Proves: everything is accepted and stored (the CEL
 * matchConditions compile, the pods pass Pod Security restricted in belay's namespace), a
 * second apply changes nothing, the registration is live and what it excludes keeps working
 * with belay down, --wait refuses to register without a ready pod, --rotate-certs rotates.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "../helpers.ts";
import { type Cluster, startCluster } from "./harness.ts";
import { type RawClient, rawClient } from "./pss-support.ts";
import { describeCluster } from "./shared.ts";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects from YAML; tests index them freely.
type Obj = Record<string, any>;

let cluster: Cluster;
let client: RawClient;
let env: NodeJS.ProcessEnv;
const TEAM = "team-a";

/** Every object of a default install: the path to GET it. */
const OBJECTS: Record<string, string> = {
  "customresourcedefinition.apiextensions.k8s.io/policyreports.wgpolicyk8s.io":
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/policyreports.wgpolicyk8s.io",
  "customresourcedefinition.apiextensions.k8s.io/clusterpolicyreports.wgpolicyk8s.io":
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterpolicyreports.wgpolicyk8s.io",
  "customresourcedefinition.apiextensions.k8s.io/reports.openreports.io":
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/reports.openreports.io",
  "customresourcedefinition.apiextensions.k8s.io/clusterreports.openreports.io":
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterreports.openreports.io",
  "namespace/belay-system": "/api/v1/namespaces/belay-system",
  "serviceaccount/belay-webhook": "/api/v1/namespaces/belay-system/serviceaccounts/belay-webhook",
  "serviceaccount/belay-controller": "/api/v1/namespaces/belay-system/serviceaccounts/belay-controller",
  "clusterrole.rbac.authorization.k8s.io/belay-webhook":
    "/apis/rbac.authorization.k8s.io/v1/clusterroles/belay-webhook",
  "clusterrole.rbac.authorization.k8s.io/belay-controller":
    "/apis/rbac.authorization.k8s.io/v1/clusterroles/belay-controller",
  "clusterrolebinding.rbac.authorization.k8s.io/belay-webhook":
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/belay-webhook",
  "clusterrolebinding.rbac.authorization.k8s.io/belay-controller":
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/belay-controller",
  "role.rbac.authorization.k8s.io/belay-controller":
    "/apis/rbac.authorization.k8s.io/v1/namespaces/belay-system/roles/belay-controller",
  "rolebinding.rbac.authorization.k8s.io/belay-controller":
    "/apis/rbac.authorization.k8s.io/v1/namespaces/belay-system/rolebindings/belay-controller",
  "configmap/belay-webhook-config": "/api/v1/namespaces/belay-system/configmaps/belay-webhook-config",
  "secret/belay-webhook-tls": "/api/v1/namespaces/belay-system/secrets/belay-webhook-tls",
  "service/belay-webhook": "/api/v1/namespaces/belay-system/services/belay-webhook",
  "networkpolicy.networking.k8s.io/belay-default-deny":
    "/apis/networking.k8s.io/v1/namespaces/belay-system/networkpolicies/belay-default-deny",
  "networkpolicy.networking.k8s.io/belay-webhook":
    "/apis/networking.k8s.io/v1/namespaces/belay-system/networkpolicies/belay-webhook",
  "networkpolicy.networking.k8s.io/belay-controller":
    "/apis/networking.k8s.io/v1/namespaces/belay-system/networkpolicies/belay-controller",
  "deployment.apps/belay-webhook": "/apis/apps/v1/namespaces/belay-system/deployments/belay-webhook",
  "deployment.apps/belay-controller": "/apis/apps/v1/namespaces/belay-system/deployments/belay-controller",
  "poddisruptionbudget.policy/belay-webhook":
    "/apis/policy/v1/namespaces/belay-system/poddisruptionbudgets/belay-webhook",
  "validatingwebhookconfiguration.admissionregistration.k8s.io/belay":
    "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/belay",
};
const VWC = OBJECTS["validatingwebhookconfiguration.admissionregistration.k8s.io/belay"] as string;
const SECRET = OBJECTS["secret/belay-webhook-tls"] as string;

async function get(path: string): Promise<Obj> {
  const res = await client.send("GET", path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

async function resourceVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(OBJECTS)) out[name] = (await get(path)).metadata.resourceVersion;
  return out;
}

async function post(path: string, body: unknown) {
  return client.send("POST", path, JSON.stringify(body));
}

describeCluster("belay install --apply on a cluster of its own", () => {
  beforeAll(async () => {
    cluster = await startCluster();
    client = await rawClient(cluster.kubeConfig);
    env = { PATH: process.env.PATH, KUBECONFIG: cluster.kubeconfigPath };
    // Before the webhook exists: once it does, creating a namespace needs belay's answer.
    const created = await post("/api/v1/namespaces", { metadata: { name: TEAM } });
    expect(created.status, created.body).toBe(201);
  });

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  it("applies every object and registers the webhook last", async () => {
    const result = await runCli(["install", "--apply", "--wait", "0"], { env });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(Object.keys(OBJECTS).map((name) => `${name} created`));

    const vwc = await get(VWC);
    const secret = await get(SECRET);
    expect(vwc.webhooks.map((w: Obj) => [w.name, w.failurePolicy, w.timeoutSeconds])).toEqual([
      ["validate.belay.dev", "Fail", 3],
      ["log.belay.dev", "Ignore", 3],
    ]);
    // The API server compiled and kept the CEL match conditions.
    expect(vwc.webhooks[0].matchConditions).toHaveLength(4);
    for (const w of vwc.webhooks) expect(w.clientConfig.caBundle).toBe(secret.data["ca.crt"]);
    expect(secret.metadata.managedFields.map((f: Obj) => f.manager)).toEqual(["belay"]);
    const deployment = await get(OBJECTS["deployment.apps/belay-webhook"] as string);
    expect(deployment.spec.replicas).toBe(2);
  });

  it("gets its pods past Pod Security restricted in belay's namespace (the controller-manager creates them)", async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const pods = await get(
        "/api/v1/namespaces/belay-system/pods?labelSelector=app.kubernetes.io%2Fname%3Dbelay",
      );
      const byComponent = (c: string) =>
        pods.items.filter((p: Obj) => p.metadata.labels["app.kubernetes.io/component"] === c).length;
      if (byComponent("webhook") === 2 && byComponent("controller") === 2) break;
      if (Date.now() > deadline) {
        const rs = await get("/apis/apps/v1/namespaces/belay-system/replicasets");
        throw new Error(
          `pods not created: ${JSON.stringify(rs.items.map((r: Obj) => r.status.conditions ?? []))}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  it("changes nothing when applied again, even with belay down (same resourceVersions, certificate kept)", async () => {
    // Controllers write status (Deployments, the PodDisruptionBudget) as the pods appear: wait
    // until nothing moves, so any change below is the apply's.
    let before = await resourceVersions();
    for (const deadline = Date.now() + 30_000; ; ) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await resourceVersions();
      if (JSON.stringify(now) === JSON.stringify(before)) break;
      if (Date.now() > deadline) throw new Error("objects kept changing for 30 s");
      before = now;
    }
    const result = await runCli(["install", "--apply", "--wait", "0"], { env });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(Object.keys(OBJECTS).map((name) => `${name} unchanged`));
    expect(await resourceVersions()).toEqual(before);
  });

  it("is live: with no belay pod answering, a pod is refused, while what it excludes keeps working", async () => {
    const pod = {
      metadata: { name: "web" },
      spec: { containers: [{ name: "app", image: "registry.example/app:1.0" }] },
    };
    const refused = await post(`/api/v1/namespaces/${TEAM}/pods`, pod);
    expect(refused.status).toBe(500);
    expect(JSON.parse(refused.body).message).toContain('failed calling webhook "validate.belay.dev"');

    // Excluded by namespaceSelector: belay's own namespace and kube-system.
    for (const ns of ["belay-system", "kube-system"]) {
      const cm = await post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: "probe" } });
      expect(cm.status, cm.body).toBe(201);
    }
    // Skipped by a match condition: Secrets other than service account tokens, and leases.
    const secret = await post(`/api/v1/namespaces/${TEAM}/secrets`, {
      metadata: { name: "app" },
      type: "Opaque",
      stringData: { k: "v" },
    });
    expect(secret.status, secret.body).toBe(201);
    const lease = await post(`/apis/coordination.k8s.io/v1/namespaces/${TEAM}/leases`, {
      metadata: { name: "probe" },
      spec: { holderIdentity: "x" },
    });
    expect(lease.status, lease.body).toBe(201);
    // DELETE goes to the log-only webhook (Ignore): it goes through.
    const deleted = await client.send("DELETE", `/api/v1/namespaces/${TEAM}/secrets/app`);
    expect(deleted.status, deleted.body).toBe(200);
    // A service account token Secret is sent to belay, so it is refused like the pod.
    const token = await post(`/api/v1/namespaces/${TEAM}/secrets`, {
      metadata: { name: "token", annotations: { "kubernetes.io/service-account.name": "default" } },
      type: "kubernetes.io/service-account-token",
    });
    expect(token.status).toBe(500);
  });

  it("--wait: does not register the webhook while no pod is ready, and says what to check", async () => {
    expect((await client.send("DELETE", VWC)).status).toBe(200);
    const started = Date.now();
    const result = await runCli(["install", "--apply", "--wait", "2s"], { env });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000); // it did wait
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        "belay: waiting up to 2s for a ready belay-webhook pod before registering the webhook",
        "belay: install: deployment.apps/belay-webhook in belay-system has no ready pod after 2s, so the webhook was not registered (with failurePolicy Fail an unanswered webhook refuses requests). Check: kubectl -n belay-system describe deployment belay-webhook; then run belay install --apply again.",
        "",
      ].join("\n"),
    );
    expect((await client.send("GET", VWC)).status).toBe(404);
  });

  it("--rotate-certs: a new CA and serving certificate, in the Secret and the caBundle together", async () => {
    const before = await get(SECRET);
    const result = await runCli(["install", "--apply", "--wait", "0", "--rotate-certs"], { env });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toContain("secret/belay-webhook-tls configured");
    expect(lines).toContain("validatingwebhookconfiguration.admissionregistration.k8s.io/belay created");
    expect(lines.filter((l) => !l.endsWith(" unchanged"))).toEqual([
      "secret/belay-webhook-tls configured",
      "validatingwebhookconfiguration.admissionregistration.k8s.io/belay created",
    ]);
    const after = await get(SECRET);
    const pem = (s: Obj, key: string) => Buffer.from(s.data[key], "base64").toString("utf8");
    expect(pem(after, "tls.key")).not.toBe(pem(before, "tls.key"));
    // New CA first, the previous one still trusted (pods pick up the new files within a minute).
    const bundle = pem(after, "ca.crt");
    expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(bundle.endsWith(pem(before, "ca.crt"))).toBe(true);
    expect(new X509Certificate(pem(after, "tls.crt")).verify(new X509Certificate(bundle).publicKey)).toBe(
      true,
    );
    const vwc = await get(VWC);
    for (const w of vwc.webhooks) expect(w.clientConfig.caBundle).toBe(after.data["ca.crt"]);
    // Applied again: the rotated certificate is kept, and only the newest previous CA stays.
    const again = await runCli(["install", "--apply", "--wait", "0"], { env });
    expect(again.stdout).not.toMatch(/ (created|configured)$/m);
  });

  it("refuses an unknown context with exit 2", async () => {
    const result = await runCli(["install", "--apply", "--context", "nope"], { env });
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: 'belay: install: unknown context "nope" in the kubeconfig\n',
    });
  });
});
