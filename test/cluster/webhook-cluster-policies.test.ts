/**
 * `belay webhook --config` with `clusterPolicies: true` on the real API server: the
 * ValidatingAdmissionPolicy and binding stored in the cluster are enforced, the binding's
 * namespaceSelector is matched against the live Namespace's labels (which belay's offline
 * fallback would not have), and deleting the binding is seen through the watch (the
 * periodic reload is set to 10 minutes, so only the watch can explain it).
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  makeCert,
  pod,
  type RunningWebhook,
  review,
  send,
  startWebhookCommand,
} from "../admission/support.ts";
import { randomSuffix } from "./harness.ts";
import { type RawClient, rawClient } from "./pss-support.ts";
import { adminKubeConfig, createTestNamespace, describeCluster, sharedCluster } from "./shared.ts";

describeCluster("belay webhook with the cluster's policies", () => {
  const cert = makeCert();
  const suffix = randomSuffix();
  const policy = `belay-cp-${suffix}`;
  let stderr: string[] = [];
  let client: RawClient;
  let namespace: string;
  let port = 0;
  let webhook: RunningWebhook | undefined;

  const vap = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: policy },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] },
        ],
      },
      validations: [
        {
          expression: "object.metadata.?labels.?owner.hasValue()",
          messageExpression: "'pods in ' + namespaceObject.metadata.name + ' need an owner label'",
        },
      ],
    },
  };
  const binding = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: policy },
    spec: {
      policyName: policy,
      validationActions: ["Deny"],
      matchResources: { namespaceSelector: { matchLabels: { [`belay.dev/cp-${suffix}`]: "on" } } },
    },
  };

  beforeAll(async () => {
    const kc = await adminKubeConfig();
    client = await rawClient(kc, 4);
    namespace = await createTestNamespace(kc, "belay-cp", { [`belay.dev/cp-${suffix}`]: "on" });
    for (const [path, object] of [
      ["validatingadmissionpolicies", vap],
      ["validatingadmissionpolicybindings", binding],
    ] as const) {
      const res = await client.send(
        "POST",
        `/apis/admissionregistration.k8s.io/v1/${path}`,
        JSON.stringify(object),
      );
      expect(res.status, res.body).toBe(201);
    }
    writeFileSync(
      join(cert.dir, "config.yaml"),
      "apiVersion: belay.dev/v1alpha1\nkind: WebhookConfig\nclusterPolicies: true\nclusterPoliciesRefresh: 10m\nprofiles: [pss-baseline]\n",
    );
    webhook = await startWebhookCommand(
      [
        ...["--config", join(cert.dir, "config.yaml")],
        ...["--tls-cert", cert.certFile, "--tls-key", cert.keyFile],
        ...["--port", "0", "--host", "127.0.0.1"],
      ],
      { env: { KUBECONFIG: sharedCluster?.kubeconfigPath } },
    );
    ({ port, stderr } = webhook);
  }, 60_000);

  afterAll(async () => {
    await webhook?.stop();
    for (const path of ["validatingadmissionpolicybindings", "validatingadmissionpolicies"])
      await client?.send("DELETE", `/apis/admissionregistration.k8s.io/v1/${path}/${policy}`);
    client?.close();
    rmSync(cert.dir, { recursive: true, force: true });
  });

  const validate = async (ns: string) => {
    const reply = await send(
      port,
      cert.cert,
      "POST",
      "/validate",
      JSON.stringify(review("CREATE", pod("web"), { namespace: ns })),
    );
    expect(reply.status, reply.body).toBe(200);
    return JSON.parse(reply.body).response as { allowed: boolean; status?: { message: string } };
  };

  it("enforces the cluster's policy, matching the live namespace's labels", async () => {
    const loaded = stderr.map((l) => JSON.parse(l)).find((l) => l.event === "cluster policies loaded");
    expect(loaded?.policies).toBeGreaterThanOrEqual(1);
    const denied = await validate(namespace);
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toContain(
      `- [${policy}] pods in ${namespace} need an owner label (binding ${policy}, validation 0)`,
    );
    // Another namespace without the label: the binding does not select it.
    expect((await validate("default")).allowed).toBe(true);
  });

  it("sees a deleted binding through its watch, long before the periodic reload", async () => {
    const res = await client.send(
      "DELETE",
      `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${policy}`,
    );
    expect(res.status, res.body).toBe(200);
    const end = Date.now() + 20_000;
    let allowed = false;
    while (!allowed && Date.now() < end) {
      allowed = (await validate(namespace)).allowed;
      if (!allowed) await new Promise((r) => setTimeout(r, 200));
    }
    expect(allowed).toBe(true);
    expect(
      stderr.filter((l) => l.includes('"event":"cluster policies loaded"')).length,
    ).toBeGreaterThanOrEqual(2);
  });
});
