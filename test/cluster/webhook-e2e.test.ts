/**
 * belay's admission webhook behind a real kube-apiserver: a ValidatingWebhookConfiguration
 * by URL to the in-process server, with the test CA as caBundle, scoped to a test namespace.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createWebhookServer, type WebhookServer } from "../../src/admission/server.ts";
import { makeCert, pod } from "../admission/support.ts";
import { type RawClient, rawClient } from "./pss-support.ts";
import { adminKubeConfig, createTestNamespace, describeCluster } from "./shared.ts";

describeCluster("belay webhook behind kube-apiserver", () => {
  let dir: string;
  let server: WebhookServer;
  let client: RawClient;
  let namespace: string;
  const configName = `belay-e2e-${Date.now().toString(36)}`;
  const decisions: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "belay-webhook-e2e-"));
    const { cert, key } = makeCert(dir, "127.0.0.1");
    const created = createWebhookServer({
      tlsCert: cert,
      tlsKey: key,
      port: 0,
      host: "127.0.0.1",
      decisionLog: { write: (l: string) => decisions.push(l) },
      log: { write: () => 0 },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    server = created.value;
    const { port } = await server.listen();
    const kc = await adminKubeConfig();
    client = await rawClient(kc, 4);
    namespace = await createTestNamespace(kc, "belay-wh", { "belay.dev/webhook-e2e": configName });
    const sa = await client.send(
      "POST",
      `/api/v1/namespaces/${namespace}/serviceaccounts`,
      JSON.stringify({ metadata: { name: "app" }, automountServiceAccountToken: false }),
    );
    expect(sa.status, sa.body).toBe(201);
    const config = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: configName },
      webhooks: [
        {
          name: "validate.belay.dev",
          clientConfig: {
            url: `https://127.0.0.1:${port}/validate`,
            caBundle: Buffer.from(cert).toString("base64"),
          },
          rules: [
            {
              apiGroups: [""],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["pods"],
              scope: "Namespaced",
            },
          ],
          namespaceSelector: { matchLabels: { "belay.dev/webhook-e2e": configName } },
          failurePolicy: "Fail",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: 5,
        },
      ],
    };
    const res = await client.send(
      "POST",
      "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
      JSON.stringify(config),
    );
    expect(res.status, res.body).toBe(201);
  });

  afterAll(async () => {
    await client?.send(
      "DELETE",
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${configName}`,
    );
    client?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const create = (object: unknown) =>
    client.send("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All`, JSON.stringify(object));

  it("denies a privileged pod with belay's message, admits a good one, passes warnings", async () => {
    const bad = pod("bad", {
      securityContext: { privileged: true, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
    });
    // The configuration takes effect once the API server's informer has seen it.
    let denied = await create(bad);
    for (let i = 0; i < 100 && !denied.body.includes("belay denied"); i++) {
      await new Promise((r) => setTimeout(r, 200));
      denied = await create(bad);
    }
    expect(denied.status, denied.body).toBe(403);
    const status = JSON.parse(denied.body) as { message: string; reason: string };
    expect(status.reason).toBe("Forbidden");
    expect(status.message).toBe(
      [
        `admission webhook "validate.belay.dev" denied the request: belay denied Pod ${namespace}/bad: 2 violations of 2 rules (pss-allow-privilege-escalation, pss-privileged)`,
        '- [pss-allow-privilege-escalation] spec.containers[0].securityContext.allowPrivilegeEscalation: container "app" must set securityContext.allowPrivilegeEscalation=false',
        "  fix: Set securityContext.allowPrivilegeEscalation to false in every container.",
        '- [pss-privileged] spec.containers[0].securityContext.privileged: container "app" must not set securityContext.privileged=true',
        "  fix: Remove securityContext.privileged or set it to false.",
      ].join("\n"),
    );

    const good = await create(pod("good"));
    expect(good.status, good.body).toBe(201);
    expect(good.warnings).toEqual([]);

    const noSa = pod("no-sa");
    delete (noSa.spec as Record<string, unknown>).serviceAccountName;
    const warned = await create(noSa);
    expect(warned.status, warned.body).toBe(201);
    expect(warned.warnings).toEqual([
      '[default-service-account] Pod "no-sa" runs as the "default" service account (serviceAccountName is unset or "default")',
    ]);

    const lines = decisions.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({
      operation: "CREATE",
      namespace,
      name: "no-sa",
      verdict: "warn",
      dryRun: true,
      user: "belay-admin",
    });
    expect(lines.some((l) => l.verdict === "deny" && l.name === "bad")).toBe(true);
  });
});
