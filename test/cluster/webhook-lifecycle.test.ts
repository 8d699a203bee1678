/**
 * belay's webhook behind a real kube-apiserver of its own (started with an audit policy so
 * the audit log shows what the webhook recorded), registered by URL with its caBundle:
 * Warn policy warnings reach the client, dry runs are evaluated and logged, a DELETE is
 * logged with who and what, Audit findings become audit annotations in the API server's
 * audit log, `/mutate` defaults are applied by the API server, and with the webhook
 * stopped `failurePolicy: Fail` refuses requests while `Ignore` admits them — then a
 * restarted webhook enforces again.
 */
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createWebhookServer, type WebhookServer } from "../../src/admission/server.ts";
import { loadPolicySet, type PolicySet } from "../../src/engine/policies.ts";
import { parseStream } from "../../src/resources/parse.ts";
import { makeCert, pod } from "../admission/support.ts";
import { type Cluster, randomSuffix, startCluster } from "./harness.ts";
import { type RawClient, rawClient } from "./pss-support.ts";
import { describeCluster } from "./shared.ts";

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    resources: [{group: "", resources: ["pods"]}]
  - level: None
`;

const POLICIES = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: team-label}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"]}
  validations:
    - expression: "object.metadata.?labels.?team.hasValue()"
      message: "pods should carry a team label"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: team-label-warn}
spec:
  policyName: team-label
  validationActions: [Warn, Audit]
`;

describeCluster("belay webhook lifecycle on its own API server", () => {
  let cluster: Cluster;
  let client: RawClient;
  let server: WebhookServer | undefined;
  let port = 0;
  let policies: PolicySet;
  const cert = makeCert();
  const decisions: string[] = [];
  const suffix = randomSuffix();
  const ns = { fail: `wh-fail-${suffix}`, ignore: `wh-ignore-${suffix}`, mutate: `wh-mutate-${suffix}` };

  const start = async (fixedPort: number) => {
    const created = createWebhookServer({
      tlsCert: cert.cert,
      tlsKey: cert.key,
      port: fixedPort,
      host: "127.0.0.1",
      policies,
      mutate: true,
      actions: { "liveness-probe": "audit" },
      decisionLog: { write: (l: string) => decisions.push(l) },
      log: { write: () => 0 },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    server = created.value;
    return (await server.listen()).port;
  };

  const post = async (namespace: string, object: unknown, query = "") =>
    client.send("POST", `/api/v1/namespaces/${namespace}/pods${query}`, JSON.stringify(object));

  const decisionFor = (predicate: (d: Record<string, unknown>) => boolean) =>
    decisions.map((l) => JSON.parse(l) as Record<string, unknown>).filter(predicate);

  beforeAll(async () => {
    cluster = await startCluster({ controllerManager: false, auditPolicy: AUDIT_POLICY });
    client = await rawClient(cluster.kubeConfig, 4);
    const loaded = loadPolicySet(parseStream(POLICIES, "policies.yaml").resources);
    expect(loaded.errors).toEqual([]);
    policies = loaded.set;
    port = await start(0);
    for (const [role, name] of Object.entries(ns)) {
      const created = await client.send(
        "POST",
        "/api/v1/namespaces",
        JSON.stringify({ metadata: { name, labels: { "belay.dev/e2e": role } } }),
      );
      expect(created.status, created.body).toBe(201);
      for (const sa of ["default", "app"]) {
        const res = await client.send(
          "POST",
          `/api/v1/namespaces/${name}/serviceaccounts`,
          JSON.stringify({ metadata: { name: sa }, automountServiceAccountToken: false }),
        );
        expect(res.status, res.body).toBe(201);
      }
    }
    const caBundle = Buffer.from(cert.cert).toString("base64");
    const rules = [
      {
        apiGroups: [""],
        apiVersions: ["v1"],
        operations: ["CREATE", "UPDATE", "DELETE"],
        resources: ["pods"],
        scope: "Namespaced",
      },
    ];
    const hook = (name: string, role: string, failurePolicy: string, path = "/validate") => ({
      name,
      clientConfig: { url: `https://127.0.0.1:${port}${path}`, caBundle },
      rules,
      namespaceSelector: { matchLabels: { "belay.dev/e2e": role } },
      failurePolicy,
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
      timeoutSeconds: 5,
    });
    const validating = await client.send(
      "POST",
      "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
      JSON.stringify({
        metadata: { name: `belay-${suffix}` },
        webhooks: [hook("fail.belay.dev", "fail", "Fail"), hook("ignore.belay.dev", "ignore", "Ignore")],
      }),
    );
    expect(validating.status, validating.body).toBe(201);
    const mutating = await client.send(
      "POST",
      "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
      JSON.stringify({
        metadata: { name: `belay-${suffix}` },
        webhooks: [{ ...hook("mutate.belay.dev", "mutate", "Fail", "/mutate"), reinvocationPolicy: "Never" }],
      }),
    );
    expect(mutating.status, mutating.body).toBe(201);
    // The configurations take effect once the API server's informers have seen them.
    const privileged = pod("probe", { securityContext: { privileged: true } });
    for (let i = 0; i < 150; i++) {
      const [a, b] = [
        await post(ns.fail, privileged, "?dryRun=All"),
        await post(ns.ignore, privileged, "?dryRun=All"),
      ];
      const bare = await post(
        ns.mutate,
        { metadata: { name: "m" }, spec: { containers: [{ name: "a", image: "a" }] } },
        "?dryRun=All",
      );
      if (
        a.body.includes("belay denied") &&
        b.body.includes("belay denied") &&
        bare.body.includes("RuntimeDefault")
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);

  afterAll(async () => {
    client?.close();
    await server?.close();
    await cluster?.stop();
    rmSync(cert.dir, { recursive: true, force: true });
  });

  it("denies through both webhooks and passes a Warn policy's warnings to the client", async () => {
    const privileged = pod("root", { securityContext: { privileged: true } });
    for (const namespace of [ns.fail, ns.ignore]) {
      const denied = await post(namespace, privileged, "?dryRun=All");
      expect(denied.status, denied.body).toBe(403);
      expect(JSON.parse(denied.body).message).toMatch(
        /^admission webhook "(fail|ignore)\.belay\.dev" denied the request: belay denied Pod /,
      );
    }
    const unlabelled = await post(ns.fail, pod("web"), "?dryRun=All");
    expect(unlabelled.status, unlabelled.body).toBe(201);
    expect(unlabelled.warnings).toEqual([
      "[team-label] pods should carry a team label (binding team-label-warn, validation 0)",
    ]);
  });

  it("evaluates dry runs, logs them as such, and stores nothing", async () => {
    const name = `dry-${randomSuffix()}`;
    const created = await post(
      ns.fail,
      { ...pod(name), metadata: { name, labels: { team: "a" } } },
      "?dryRun=All",
    );
    expect(created.status, created.body).toBe(201);
    expect(decisionFor((d) => d.name === name)).toEqual([
      expect.objectContaining({ operation: "CREATE", dryRun: true, verdict: "allow", namespace: ns.fail }),
    ]);
    expect((await client.send("GET", `/api/v1/namespaces/${ns.fail}/pods/${name}`)).status).toBe(404);
  });

  it("logs a DELETE with who deleted what", async () => {
    const name = `del-${randomSuffix()}`;
    const created = await post(ns.fail, { ...pod(name), metadata: { name, labels: { team: "a" } } });
    expect(created.status, created.body).toBe(201);
    const deleted = await client.send(
      "DELETE",
      `/api/v1/namespaces/${ns.fail}/pods/${name}?gracePeriodSeconds=0`,
    );
    expect(deleted.status, deleted.body).toBe(200);
    // The API server may call validating webhooks more than once for one DELETE (its graceful
    // deletion validates again when it writes the deletion); every call is logged alike.
    const lines = decisionFor((d) => d.name === name && d.operation === "DELETE");
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines)
      expect(line).toEqual(
        expect.objectContaining({
          operation: "DELETE",
          user: "belay-admin",
          groups: expect.arrayContaining(["system:masters"]),
          resource: "v1/pods",
          namespace: ns.fail,
          name,
          verdict: "allow",
          reason: "delete is logged, not enforced",
        }),
      );
  });

  it("puts Audit findings in the API server's audit log, under the webhook's name", async () => {
    const name = `audit-${randomSuffix()}`;
    const created = await post(ns.fail, pod(name, { livenessProbe: undefined }), "?dryRun=All");
    expect(created.status, created.body).toBe(201);
    const events = readFileSync(cluster.auditLogPath as string, "utf8")
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as {
            verb: string;
            objectRef?: { name?: string };
            annotations?: Record<string, string>;
          },
      )
      .filter((e) => e.verb === "create" && e.objectRef?.name === name);
    expect(events).toHaveLength(1);
    const annotations = events[0]?.annotations ?? {};
    expect(JSON.parse(annotations["fail.belay.dev/validation_failure"] as string)).toEqual([
      {
        message: "pods should carry a team label",
        policy: "team-label",
        binding: "team-label-warn",
        expressionIndex: 0,
        validationActions: ["Warn", "Audit"],
      },
    ]);
    expect(JSON.parse(annotations["fail.belay.dev/rule_failure"] as string)).toEqual([
      {
        rule: "liveness-probe",
        severity: "low",
        path: "spec.containers[0].livenessProbe",
        message: 'container "app" has no livenessProbe',
      },
    ]);
  });

  it("applies /mutate's safe defaults through the API server, never overriding a set value", async () => {
    const bare = await post(
      ns.mutate,
      {
        metadata: { name: "bare" },
        spec: {
          containers: [
            { name: "a", image: "a" },
            { name: "b", image: "b", securityContext: { allowPrivilegeEscalation: true } },
          ],
        },
      },
      "?dryRun=All",
    );
    expect(bare.status, bare.body).toBe(201);
    const spec = JSON.parse(bare.body).spec;
    expect(spec.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
    expect(spec.containers[0].securityContext.allowPrivilegeEscalation).toBe(false);
    expect(spec.containers[1].securityContext.allowPrivilegeEscalation).toBe(true);
  });

  it("with the webhook stopped, Fail refuses requests and Ignore admits them; a restart enforces again", async () => {
    await server?.close();
    server = undefined;
    const refused = await post(ns.fail, pod("down"), "?dryRun=All");
    expect(refused.status, refused.body).toBe(500);
    expect(JSON.parse(refused.body).message).toBe(
      `Internal error occurred: failed calling webhook "fail.belay.dev": failed to call webhook: Post "https://127.0.0.1:${port}/validate?timeout=5s": dial tcp 127.0.0.1:${port}: connect: connection refused`,
    );
    const privileged = pod("root", { securityContext: { privileged: true } });
    const admitted = await post(ns.ignore, privileged, "?dryRun=All");
    expect(admitted.status, admitted.body).toBe(201);

    expect(await start(port)).toBe(port);
    const denied = await post(ns.ignore, privileged, "?dryRun=All");
    expect(denied.status, denied.body).toBe(403);
    expect(JSON.parse(denied.body).message).toContain(
      'admission webhook "ignore.belay.dev" denied the request: belay denied Pod',
    );
    expect(
      (await post(ns.fail, { ...pod("up"), metadata: { name: "up", labels: { team: "a" } } }, "?dryRun=All"))
        .status,
    ).toBe(201);
  });
});
