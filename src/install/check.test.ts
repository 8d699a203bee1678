import { describe, expect, it } from "vitest";
import {
  checkWebhookConfiguration,
  formatProblem,
  isWebhookConfiguration,
  selectorExcludes,
} from "./check.ts";
import { installObjects } from "./manifests.ts";

const NAME = { "kubernetes.io/metadata.name": "kube-system" };

describe("selectorExcludes", () => {
  it("an absent or empty selector excludes nothing", () => {
    expect(selectorExcludes(undefined, NAME)).toBe(false);
    expect(selectorExcludes({}, NAME)).toBe(false);
  });
  it("NotIn / In / DoesNotExist on a known label decide; Exists and unknown labels never do", () => {
    const expr = (operator: string, values: string[] = [], key = "kubernetes.io/metadata.name") => ({
      matchExpressions: [{ key, operator, values }],
    });
    expect(selectorExcludes(expr("NotIn", ["kube-system"]), NAME)).toBe(true);
    expect(selectorExcludes(expr("NotIn", ["other"]), NAME)).toBe(false);
    expect(selectorExcludes(expr("In", ["team-a"]), NAME)).toBe(true);
    expect(selectorExcludes(expr("In", ["kube-system", "team-a"]), NAME)).toBe(false);
    expect(selectorExcludes(expr("DoesNotExist"), NAME)).toBe(true);
    expect(selectorExcludes(expr("Exists"), NAME)).toBe(false);
    // Someone could label kube-system team=a: an opt-in label proves nothing.
    expect(selectorExcludes({ matchLabels: { team: "a" } }, NAME)).toBe(false);
    expect(selectorExcludes({ matchLabels: { "kubernetes.io/metadata.name": "team-a" } }, NAME)).toBe(true);
  });
});

function vwc(webhook: Record<string, unknown>) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: "policy" },
    webhooks: [
      {
        name: "validate.example.com",
        rules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "*" },
        ],
        failurePolicy: "Fail",
        timeoutSeconds: 3,
        namespaceSelector: {
          matchExpressions: [
            {
              key: "kubernetes.io/metadata.name",
              operator: "NotIn",
              values: ["kube-system", "belay-system"],
            },
          ],
        },
        ...webhook,
      },
    ],
  };
}

const messages = (object: Record<string, unknown>, ns = "belay-system") =>
  checkWebhookConfiguration(object, ns).map(formatProblem);

describe("checkWebhookConfiguration", () => {
  it("accepts a configuration that excludes both namespaces, lists its resources and waits 3 s", () => {
    expect(messages(vwc({}))).toEqual([]);
  });

  it("accepts belay's own configuration for every failure policy and timeout", () => {
    for (const failurePolicy of ["Fail", "Ignore"] as const)
      for (const timeoutSeconds of [1, 5]) {
        const objects = installObjects(
          {
            namespace: "sec",
            replicas: 2,
            webhookCpus: 1,
            image: "x",
            failurePolicy,
            timeoutSeconds,
            controller: true,
            version: "0",
          },
          { caCert: "", tlsCert: "", tlsKey: "" },
          [],
        );
        const own = objects.filter(isWebhookConfiguration);
        expect(own).toHaveLength(1);
        expect(checkWebhookConfiguration(own[0] as Record<string, unknown>, "sec")).toEqual([]);
      }
  });

  it("refuses a Fail webhook whose namespaceSelector does not exclude kube-system and belay's namespace", () => {
    expect(messages(vwc({ namespaceSelector: undefined }))).toEqual([
      'ValidatingWebhookConfiguration "policy": webhooks[0].namespaceSelector: does not exclude kube-system; with failurePolicy Fail an outage of the webhook would block the control plane. Add {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, belay-system]} to its matchExpressions.',
      `ValidatingWebhookConfiguration "policy": webhooks[0].namespaceSelector: does not exclude belay-system, belay's own namespace; with failurePolicy Fail belay's pods could not be recreated while it is down, so it could never recover. Add {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, belay-system]} to its matchExpressions.`,
    ]);
  });

  it("names the default when failurePolicy is unset, and uses the --namespace given", () => {
    const object = vwc({
      failurePolicy: undefined,
      namespaceSelector: {
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] },
        ],
      },
    });
    expect(messages(object, "guard")).toEqual([
      `ValidatingWebhookConfiguration "policy": webhooks[0].namespaceSelector: does not exclude guard, belay's own namespace; with failurePolicy Fail (the default) belay's pods could not be recreated while it is down, so it could never recover. Add {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, guard]} to its matchExpressions.`,
    ]);
  });

  it("lets Ignore webhooks and cluster-scoped rules match every namespace", () => {
    expect(messages(vwc({ namespaceSelector: {}, failurePolicy: "Ignore" }))).toEqual([]);
    expect(
      messages(
        vwc({
          namespaceSelector: {},
          rules: [{ apiGroups: [""], operations: ["CREATE"], resources: ["namespaces"], scope: "Cluster" }],
        }),
      ),
    ).toEqual([]);
  });

  it("refuses rules that match leases, even with failurePolicy Ignore", () => {
    const lease =
      'matches leases (coordination.k8s.io); leader election and node heartbeats renew leases every few seconds, so a slow or unreachable webhook makes controllers lose leadership and nodes turn NotReady. List the resources the webhook needs instead of "*", without leases.';
    expect(
      messages(
        vwc({
          failurePolicy: "Ignore",
          rules: [
            { apiGroups: ["apps"], operations: ["CREATE"], resources: ["deployments"] },
            { apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"] },
            { apiGroups: ["coordination.k8s.io"], operations: ["UPDATE"], resources: ["leases"] },
            // DELETE of a lease, or a cluster-scoped-only rule, is not on the renewal path.
            { apiGroups: ["coordination.k8s.io"], operations: ["DELETE"], resources: ["leases"] },
            { apiGroups: ["*"], operations: ["*"], resources: ["*"], scope: "Cluster" },
          ],
        }),
      ),
    ).toEqual([
      `ValidatingWebhookConfiguration "policy": webhooks[0].rules[1]: ${lease}`,
      `ValidatingWebhookConfiguration "policy": webhooks[0].rules[2]: ${lease}`,
    ]);
  });

  it("refuses timeoutSeconds over 5, and an unset one (the API server's default is 10)", () => {
    expect(messages(vwc({ timeoutSeconds: 10 }))).toEqual([
      `ValidatingWebhookConfiguration "policy": webhooks[0].timeoutSeconds: 10 is more than 5; every request the webhook matches waits that long when it is slow or unreachable. Set timeoutSeconds to 5 or less (belay's default is 3).`,
    ]);
    expect(messages(vwc({ timeoutSeconds: undefined }))).toEqual([
      `ValidatingWebhookConfiguration "policy": webhooks[0].timeoutSeconds: not set, so the API server waits up to 10 s for every request the webhook matches when it is slow or unreachable. Set timeoutSeconds to 5 or less (belay's default is 3).`,
    ]);
    expect(messages(vwc({ timeoutSeconds: 5 }))).toEqual([]);
  });

  it("checks every webhook of a MutatingWebhookConfiguration too, and survives malformed shapes", () => {
    const object = {
      ...vwc({}),
      kind: "MutatingWebhookConfiguration",
      webhooks: [null, { rules: "x", timeoutSeconds: "3" }],
    };
    expect(isWebhookConfiguration(object)).toBe(true);
    expect(messages(object)).toEqual([
      `MutatingWebhookConfiguration "policy": webhooks[0].timeoutSeconds: not set, so the API server waits up to 10 s for every request the webhook matches when it is slow or unreachable. Set timeoutSeconds to 5 or less (belay's default is 3).`,
      `MutatingWebhookConfiguration "policy": webhooks[1].timeoutSeconds: "3" is not a number. Set timeoutSeconds to 5 or less (belay's default is 3).`,
    ]);
  });
});
