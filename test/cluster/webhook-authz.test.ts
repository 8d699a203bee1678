/**
 * `belay webhook --policy` with a policy that uses CEL's `authorizer`, behind the real
 * kube-apiserver: the webhook (registered by URL) answers the checks with
 * SubjectAccessReviews as its own identity, for the request's user as the API server sent it.
 * The same policy is installed as a native ValidatingAdmissionPolicy; the two bindings differ
 * only in their objectSelector (`authz-wh-probe: native` or `webhook`). Every probe ConfigMap is
 * created twice with dryRun=All, as users with different RBAC grants (client certificates):
 * once for kube-apiserver's own evaluation, once for belay's. Verdict and the validation's
 * message must be the same (the HTTP status differs by design: see below). Each probe makes at most one validation fail (kube-apiserver
 * reports only the first failed validation, belay lists all).
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, expect, it } from "vitest";
import { registerWebhook } from "../../src/cli/webhook.ts";
import {
  makeCert,
  type RunningWebhook,
  send as sendToWebhook,
  startWebhookCommand,
} from "../admission/support.ts";
import { randomSuffix } from "./harness.ts";
import { type RawClient, rawClient } from "./pss-support.ts";
import {
  adminKubeConfig,
  createTestNamespace,
  describeCluster,
  sharedCluster,
  userKubeConfig,
} from "./shared.ts";

const SYNC_TIMEOUT_MS = 30_000;

describeCluster("belay webhook answers CEL authorizer checks like kube-apiserver", () => {
  const cert = makeCert(undefined, "127.0.0.1");
  const suffix = randomSuffix();
  const name = `authz-wh-${suffix}`;
  const webhookName = "authz.belay.dev";
  let stderr: string[] = [];
  const created: string[] = [];
  const users = {
    alice: { username: `authz-wh-alice-${suffix}`, groups: [`authz-wh-ops-${suffix}`] },
    bob: { username: `authz-wh-bob-${suffix}`, groups: [] as string[] },
  };
  const clients = new Map<string, RawClient>();
  let admin: RawClient;
  let namespace = "";
  let port = 0;
  let webhook: RunningWebhook | undefined;

  const policy = (selector: "native" | "webhook") => ({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] },
        ],
      },
      validations: [
        {
          expression:
            "!has(object.data) || !('privileged' in object.data) || authorizer.group('belay.dev').resource('privilegedconfigs').namespace(request.namespace).check('create').allowed()",
          message: "privileged configs need create on privilegedconfigs.belay.dev",
        },
        {
          expression:
            "!has(object.data) || !('sa' in object.data) || !authorizer.serviceAccount(request.namespace, object.data.sa).group('').resource('secrets').namespace(request.namespace).check('list').allowed()",
          messageExpression: "'service account ' + object.data.sa + ' must not be able to list secrets'",
        },
        {
          expression:
            "!has(object.data) || !('debug' in object.data) || authorizer.path('/debug/pprof').check('get').allowed()",
          messageExpression:
            "'debug configs need get on /debug/pprof, ' + request.userInfo.username + ' lacks it'",
        },
      ],
    },
    binding: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: `${name}-${selector}` },
      spec: {
        policyName: name,
        validationActions: ["Deny"],
        matchResources: { objectSelector: { matchLabels: { "authz-wh-probe": selector } } },
      },
    },
  });

  function rbacObjects(): [string, unknown][] {
    const rbac = "/apis/rbac.authorization.k8s.io/v1";
    const ref = (kind: string, n: string) => ({ apiGroup: "rbac.authorization.k8s.io", kind, name: n });
    return [
      [
        `${rbac}/namespaces/${namespace}/roles`,
        {
          metadata: { name: "privileged-configs" },
          rules: [{ apiGroups: ["belay.dev"], resources: ["privilegedconfigs"], verbs: ["create"] }],
        },
      ],
      [
        `${rbac}/namespaces/${namespace}/rolebindings`,
        {
          metadata: { name: "privileged-configs" },
          roleRef: ref("Role", "privileged-configs"),
          subjects: [{ kind: "User", name: users.alice.username, apiGroup: "rbac.authorization.k8s.io" }],
        },
      ],
      [
        `${rbac}/namespaces/${namespace}/roles`,
        {
          metadata: { name: "secret-lister" },
          rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }],
        },
      ],
      [
        `${rbac}/namespaces/${namespace}/rolebindings`,
        {
          metadata: { name: "secret-lister" },
          roleRef: ref("Role", "secret-lister"),
          subjects: [{ kind: "ServiceAccount", name: "reader", namespace }],
        },
      ],
      [
        `${rbac}/clusterroles`,
        { metadata: { name }, rules: [{ nonResourceURLs: ["/debug/pprof"], verbs: ["get"] }] },
      ],
      [
        `${rbac}/clusterrolebindings`,
        {
          metadata: { name },
          roleRef: ref("ClusterRole", name),
          subjects: [{ kind: "Group", name: users.alice.groups[0], apiGroup: "rbac.authorization.k8s.io" }],
        },
      ],
      // Both users may create ConfigMaps, so only admission decides.
      [
        `${rbac}/namespaces/${namespace}/roles`,
        {
          metadata: { name: "configmaps" },
          rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["create"] }],
        },
      ],
      [
        `${rbac}/namespaces/${namespace}/rolebindings`,
        {
          metadata: { name: "configmaps" },
          roleRef: ref("Role", "configmaps"),
          subjects: Object.values(users).map((u) => ({
            kind: "User",
            name: u.username,
            apiGroup: "rbac.authorization.k8s.io",
          })),
        },
      ],
    ];
  }

  async function post(path: string, object: unknown, cleanup = true): Promise<void> {
    const res = await admin.send("POST", path, JSON.stringify(object));
    expect(res.status, `${path}: ${res.body}`).toBe(201);
    if (cleanup) created.push(`${path}/${(object as { metadata: { name: string } }).metadata.name}`);
  }

  /** A probe ConfigMap's dry-run create as `user`, through the native policy or belay's webhook. */
  async function create(user: keyof typeof users, via: "native" | "webhook", data: Record<string, string>) {
    const configMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "probe", labels: { "authz-wh-probe": via } },
      data,
    };
    const res = await (clients.get(user) as RawClient).send(
      "POST",
      `/api/v1/namespaces/${namespace}/configmaps?dryRun=All`,
      JSON.stringify(configMap),
    );
    if (res.status === 201) return { verdict: "allow", message: "" };
    const message = (JSON.parse(res.body) as { message?: string }).message ?? res.body;
    return { verdict: "deny", message, status: res.status };
  }

  /** The validation's message from each kind of denial (the wrappers differ by design). */
  function validationMessage(via: "native" | "webhook", message: string): string {
    if (via === "native") {
      const prefix = `configmaps "probe" is forbidden: ValidatingAdmissionPolicy '${name}' with binding '${name}-native' denied request: `;
      return message.startsWith(prefix) ? message.slice(prefix.length) : `unexpected: ${message}`;
    }
    const lines = message.split("\n");
    if (
      !lines[0]?.startsWith(`admission webhook "${webhookName}" denied the request: belay denied ConfigMap`)
    )
      return `unexpected: ${message}`;
    const hits = lines.flatMap((l) => {
      const m = /^- \[[^\]]+\] (.*) \(binding [^,]+, validation \d+\)$/.exec(l);
      return m ? [m[1] as string] : [];
    });
    return hits.length === 1 ? (hits[0] as string) : `unexpected: ${message}`;
  }

  beforeAll(async () => {
    const kc = await adminKubeConfig();
    admin = await rawClient(kc, 4);
    namespace = await createTestNamespace(kc, "authz-wh", { "belay.dev/authz-wh": suffix });
    for (const [key, user] of Object.entries(users))
      clients.set(key, await rawClient(await userKubeConfig(user.username, user.groups), 2));
    for (const [path, object] of rbacObjects())
      await post(path, object, path.endsWith("clusterroles") || path.endsWith("clusterrolebindings"));

    const native = policy("native");
    const { binding: nativeBinding, ...nativePolicy } = native;
    await post("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", nativePolicy);
    await post("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings", nativeBinding);
    const { binding: webhookBinding, ...webhookPolicy } = policy("webhook");
    const file = join(cert.dir, "policy.yaml");
    writeFileSync(file, [webhookPolicy, webhookBinding].map((o) => JSON.stringify(o)).join("\n---\n"));

    webhook = await startWebhookCommand(
      [
        ...["--policy", file, "--rules", "pss-privileged"],
        ...["--tls-cert", cert.certFile, "--tls-key", cert.keyFile],
        ...["--port", "0", "--host", "127.0.0.1"],
      ],
      { env: { KUBECONFIG: sharedCluster?.kubeconfigPath } },
    );
    ({ port, stderr } = webhook);
    await post("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name },
      webhooks: [
        {
          name: webhookName,
          clientConfig: {
            url: `https://127.0.0.1:${port}/validate`,
            caBundle: Buffer.from(cert.cert).toString("base64"),
          },
          rules: [
            {
              apiGroups: [""],
              apiVersions: ["v1"],
              operations: ["CREATE"],
              resources: ["configmaps"],
              scope: "Namespaced",
            },
          ],
          namespaceSelector: { matchLabels: { "belay.dev/authz-wh": suffix } },
          objectSelector: { matchLabels: { "authz-wh-probe": "webhook" } },
          failurePolicy: "Fail",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: 10,
        },
      ],
    });
    // Both are in force once bob's privileged probe is denied each way.
    const started = Date.now();
    for (const via of ["native", "webhook"] as const)
      while ((await create("bob", via, { privileged: "yes" })).verdict !== "deny") {
        if (Date.now() - started > SYNC_TIMEOUT_MS)
          throw new Error(`the ${via} policy is not in force after 30s`);
        await new Promise((r) => setTimeout(r, 200));
      }
  }, 120_000);

  afterAll(async () => {
    await webhook?.stop();
    for (const path of created.reverse()) await admin?.send("DELETE", path);
    if (namespace) await admin?.send("DELETE", `/api/v1/namespaces/${namespace}`);
    for (const c of clients.values()) c.close();
    admin?.close();
    rmSync(cert.dir, { recursive: true, force: true });
  });

  it("gives the same verdict and message as the native policy for every user and check", async () => {
    const probes: Record<string, string>[] = [
      {},
      { privileged: "yes" },
      { sa: "reader" },
      { sa: "app" },
      { debug: "on" },
    ];
    const rows: string[] = [];
    const mismatches: string[] = [];
    for (const user of Object.keys(users) as (keyof typeof users)[])
      for (const data of probes) {
        const native = await create(user, "native", data);
        const belay = await create(user, "webhook", data);
        const n = native.verdict === "deny" ? validationMessage("native", native.message) : "";
        const b = belay.verdict === "deny" ? validationMessage("webhook", belay.message) : "";
        const row = `${user} ${JSON.stringify(data)}: native ${native.verdict} "${n}", belay ${belay.verdict} "${b}"`;
        rows.push(row);
        // The HTTP status too: when only policies deny, belay answers with the validation's
        // reason and code, as the API server does for the native policy.
        if (native.verdict !== belay.verdict || n !== b || native.status !== belay.status)
          mismatches.push(`${row} (status native ${native.status}, belay ${belay.status})`);
      }
    expect(mismatches).toEqual([]);
    // Both outcomes of every check are exercised: alice is granted what bob is not.
    expect(rows).toEqual([
      `alice {}: native allow "", belay allow ""`,
      `alice {"privileged":"yes"}: native allow "", belay allow ""`,
      `alice {"sa":"reader"}: native deny "service account reader must not be able to list secrets", belay deny "service account reader must not be able to list secrets"`,
      `alice {"sa":"app"}: native allow "", belay allow ""`,
      `alice {"debug":"on"}: native allow "", belay allow ""`,
      `bob {}: native allow "", belay allow ""`,
      `bob {"privileged":"yes"}: native deny "privileged configs need create on privilegedconfigs.belay.dev", belay deny "privileged configs need create on privilegedconfigs.belay.dev"`,
      `bob {"sa":"reader"}: native deny "service account reader must not be able to list secrets", belay deny "service account reader must not be able to list secrets"`,
      `bob {"sa":"app"}: native allow "", belay allow ""`,
      `bob {"debug":"on"}: native deny "debug configs need get on /debug/pprof, ${users.bob.username} lacks it", belay deny "debug configs need get on /debug/pprof, ${users.bob.username} lacks it"`,
    ]);
  }, 120_000);

  it("answers the checks of the cluster's own policies too (--cluster-policies)", async () => {
    const secondWebhook = await startWebhookCommand(
      [
        ...["--cluster-policies", "--rules", "pss-privileged"],
        ...["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--port", "0", "--host", "127.0.0.1"],
      ],
      { env: { KUBECONFIG: sharedCluster?.kubeconfigPath } },
    );
    const second = secondWebhook.port;
    try {
      // An AdmissionReview as the API server would send it for bob; the native binding selects it.
      const ask = async (data: Record<string, string>) => {
        const body = {
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          request: {
            uid: "u1",
            kind: { group: "", version: "v1", kind: "ConfigMap" },
            resource: { group: "", version: "v1", resource: "configmaps" },
            namespace,
            name: "probe",
            operation: "CREATE",
            userInfo: { username: users.bob.username, groups: ["system:authenticated"] },
            object: {
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: "probe", namespace, labels: { "authz-wh-probe": "native" } },
              data,
            },
            oldObject: null,
            dryRun: true,
          },
        };
        const reply = await sendToWebhook(second, cert.cert, "POST", "/validate", JSON.stringify(body));
        expect(reply.status, reply.body).toBe(200);
        return JSON.parse(reply.body).response as { allowed: boolean; status?: { message: string } };
      };
      expect((await ask({ debug: "on" })).status?.message).toContain(
        `- [${name}] debug configs need get on /debug/pprof, ${users.bob.username} lacks it (binding ${name}-native, validation 2)`,
      );
      expect((await ask({ sa: "app" })).allowed).toBe(true);
    } finally {
      await secondWebhook.stop();
    }
  });

  it("refuses to start when its identity may not create SubjectAccessReviews", async () => {
    const kubeconfig = join(cert.dir, "bob.kubeconfig");
    writeFileSync(kubeconfig, (await userKubeConfig(users.bob.username, users.bob.groups)).exportConfig());
    const program = new Command("belay").exitOverride();
    registerWebhook(
      program,
      {
        stdout: { write: () => 0 },
        stderr: { write: () => 0 },
        readStdin: async () => "",
        isTTY: false,
        env: { KUBECONFIG: kubeconfig },
        cwd: process.cwd(),
      },
      { exitCode: 0 },
    );
    await expect(
      program.parseAsync(
        [
          "webhook",
          ...["--policy", join(cert.dir, "policy.yaml")],
          ...["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--port", "0"],
        ],
        { from: "user" },
      ),
    ).rejects.toThrow(
      `webhook not started:\n  authorizer: policy "${name}" uses CEL's authorizer, which the webhook answers with SubjectAccessReviews, but a test SubjectAccessReview failed: the API server of context "belay-test" answered: subjectaccessreviews.authorization.k8s.io is forbidden: User "${users.bob.username}" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope (HTTP 403); the webhook's identity needs to reach the API server and create subjectaccessreviews.authorization.k8s.io, or give --context NAME or run belay in the cluster, or set --authorizer none (those checks then fail and each policy's failurePolicy decides)`,
    );
  });

  it("counts SubjectAccessReviews and answers repeated checks from its cache", async () => {
    const metric = async (metricName: string) => {
      const reply = await sendToWebhook(port, cert.cert, "GET", "/metrics");
      const line = reply.body.split("\n").find((l) => l.startsWith(`${metricName} `));
      return Number(line?.split(" ")[1]);
    };
    const reviews = await metric("belay_webhook_subjectaccessreviews_total");
    expect(reviews).toBeGreaterThan(0);
    expect(await metric("belay_webhook_subjectaccessreview_failures_total")).toBe(0);
    const hits = await metric("belay_webhook_authorizer_cache_hits_total");
    // alice's allowed check: allows are cached for 30 s, longer than this test file runs.
    expect((await create("alice", "webhook", { privileged: "yes" })).verdict).toBe("allow");
    expect(await metric("belay_webhook_subjectaccessreviews_total")).toBe(reviews);
    expect(await metric("belay_webhook_authorizer_cache_hits_total")).toBe(hits + 1);
    const lines = stderr.map((l) => JSON.parse(l) as { event: string; level: string });
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  });
});
