/**
 * `belay install` in-process: what --print writes (and that belay's own manifests pass its
 * restricted profile and hardening rules), flag errors, --check on files and stdin, --cert-dir.
 */
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAll } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWebhookConfig } from "../../src/admission/config.ts";
import { CRD_FILES } from "../../src/install/crds.ts";
import { generateWebhookCerts } from "../../src/install/pki.ts";
import { runCli } from "../helpers.ts";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects from YAML; tests index them freely.
type Obj = Record<string, any>;

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "belay-install-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function find(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

describe("belay install --print", () => {
  let printed: string;
  let objects: Obj[];

  beforeAll(async () => {
    const result = await runCli(["install", "--print"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    printed = result.stdout;
    objects = loadAll(printed) as Obj[];
  });

  it("says at the top that the output holds a private key", () => {
    expect(printed.split("\n").slice(0, 2)).toEqual([
      "# belay 0.1.0: belay install --print",
      "# Contains the webhook's TLS private key (Secret belay-webhook-tls): keep this output as you keep Secrets.",
    ]);
    expect(printed).not.toMatch(/&a\d|\*a\d/); // no YAML anchors or aliases
  });

  it("creates the CRDs first and registers the webhook last", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "CustomResourceDefinition/policyreports.wgpolicyk8s.io",
      "CustomResourceDefinition/clusterpolicyreports.wgpolicyk8s.io",
      "CustomResourceDefinition/reports.openreports.io",
      "CustomResourceDefinition/clusterreports.openreports.io",
      "Namespace/belay-system",
      "ServiceAccount/belay-webhook",
      "ServiceAccount/belay-controller",
      "ClusterRole/belay-webhook",
      "ClusterRole/belay-controller",
      "ClusterRoleBinding/belay-webhook",
      "ClusterRoleBinding/belay-controller",
      "Role/belay-controller",
      "RoleBinding/belay-controller",
      "ConfigMap/belay-webhook-config",
      "Secret/belay-webhook-tls",
      "Service/belay-webhook",
      "NetworkPolicy/belay-default-deny",
      "NetworkPolicy/belay-webhook",
      "NetworkPolicy/belay-controller",
      "Deployment/belay-webhook",
      "Deployment/belay-controller",
      "PodDisruptionBudget/belay-webhook",
      "ValidatingWebhookConfiguration/belay",
    ]);
  });

  it("passes belay's own pss-restricted profile with zero findings", async () => {
    const scan = await runCli(["scan", "--profile", "pss-restricted", "-o", "json", "-"], { stdin: printed });
    const report = JSON.parse(scan.stdout);
    expect(report.errors).toEqual([]);
    expect(report.findings).toEqual([]);
    expect(scan.code).toBe(0);
  });

  it("passes every other rule except the documented one: the default image has no digest", async () => {
    const scan = await runCli(["scan", "-o", "json", "-"], { stdin: printed });
    const report = JSON.parse(scan.stdout);
    expect(report.errors).toEqual([]);
    expect(report.findings.map((f: Obj) => `${f.ruleId} ${f.status} ${f.resource.name}`)).toEqual([
      "image-no-digest warn belay-webhook",
      "image-no-digest warn belay-controller",
    ]);
    // With a digest (as docs/install.md recommends) nothing is left.
    const pinned = await runCli([
      "install",
      "--print",
      "--image",
      `ghcr.io/belay-dev/belay:0.1.0@sha256:${"a".repeat(64)}`,
    ]);
    const clean = await runCli(["scan", "-o", "json", "-"], { stdin: pinned.stdout });
    expect(JSON.parse(clean.stdout).findings).toEqual([]);
  });

  it("labels the namespace Pod Security restricted", () => {
    expect(find(objects, "Namespace", "belay-system").metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "latest",
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
    });
  });

  it("writes the webhook config file H2's reader expects", () => {
    expect(find(objects, "ConfigMap", "belay-webhook-config").data["config.yaml"]).toBe(
      [
        "apiVersion: belay.dev/v1alpha1",
        "kind: WebhookConfig",
        "profiles: [all]",
        "pssVersion: latest",
        "policies: []",
        "clusterPolicies: true",
        "exemptNamespaces: [kube-system, belay-system]",
        "failureMode: deny",
        "",
      ].join("\n"),
    );
  });

  it("writes a config the webhook accepts", () => {
    const text = find(objects, "ConfigMap", "belay-webhook-config").data["config.yaml"];
    expect(parseWebhookConfig(text, "/etc/belay/config.yaml")).toEqual({
      ok: true,
      value: {
        profiles: ["all"],
        pssVersion: "latest",
        policies: [],
        clusterPolicies: true,
        exemptNamespaces: ["kube-system", "belay-system"],
        failureMode: "deny",
      },
    });
  });

  it("runs the webhook with its config and certificate, probes on HTTPS 8443, two replicas spread out", () => {
    const d = find(objects, "Deployment", "belay-webhook");
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.spec.replicas).toBe(2);
    expect(c.args).toEqual([
      "webhook",
      "--config",
      "/etc/belay/config.yaml",
      "--tls-cert",
      "/etc/belay/tls/tls.crt",
      "--tls-key",
      "/etc/belay/tls/tls.key",
    ]);
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "https", scheme: "HTTPS" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "https", scheme: "HTTPS" });
    expect(c.ports).toEqual([{ name: "https", containerPort: 8443, protocol: "TCP" }]);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm
        .topologyKey,
    ).toBe("kubernetes.io/hostname");
    expect(pod.topologySpreadConstraints[0].topologyKey).toBe("topology.kubernetes.io/zone");
    expect(find(objects, "Service", "belay-webhook").spec.ports).toEqual([
      { name: "https", port: 443, targetPort: "https", protocol: "TCP" },
    ]);
    expect(find(objects, "PodDisruptionBudget", "belay-webhook").spec.minAvailable).toBe(1);
  });

  it("runs the controller with leader election in belay's namespace and both report APIs", () => {
    const d = find(objects, "Deployment", "belay-controller");
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.containers[0].args).toEqual([
      "controller",
      "--report-api",
      "both",
      "--lease-namespace",
      "belay-system",
      "--metrics-port",
      "8080",
      "--metrics-host",
      "0.0.0.0",
    ]);
    const role = find(objects, "Role", "belay-controller");
    expect(role.metadata.namespace).toBe("belay-system");
    expect(role.rules[1]).toEqual({
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["belay-controller"],
      verbs: ["get", "update", "watch"],
    });
  });

  it("gives the controller read access to what the audit lists, never Secrets", () => {
    const rules = find(objects, "ClusterRole", "belay-controller").rules as Obj[];
    const resources = rules.flatMap((r) => r.resources as string[]);
    expect(resources).not.toContain("secrets");
    expect(resources).toEqual(
      expect.arrayContaining(["pods", "deployments", "roles", "validatingadmissionpolicies"]),
    );
    const webhookResources = (find(objects, "ClusterRole", "belay-webhook").rules as Obj[]).flatMap(
      (r) => r.resources,
    );
    expect(webhookResources).not.toContain("secrets");
  });

  it("puts a certificate for the Service in the Secret and its CA in the caBundle", () => {
    const secret = find(objects, "Secret", "belay-webhook-tls");
    expect(secret.type).toBe("kubernetes.io/tls");
    const pem = (key: string) => Buffer.from(secret.data[key], "base64").toString("utf8");
    const leaf = new X509Certificate(pem("tls.crt"));
    expect(leaf.subjectAltName).toBe(
      "DNS:belay-webhook.belay-system.svc, DNS:belay-webhook.belay-system.svc.cluster.local",
    );
    const vwc = find(objects, "ValidatingWebhookConfiguration", "belay");
    for (const w of vwc.webhooks) expect(w.clientConfig.caBundle).toBe(secret.data["ca.crt"]);
    expect(leaf.verify(new X509Certificate(pem("ca.crt")).publicKey)).toBe(true);
  });

  it("registers an enforcing webhook and a log-only one for DELETE and CONNECT", () => {
    const [validate, log] = find(objects, "ValidatingWebhookConfiguration", "belay").webhooks;
    expect(validate).toMatchObject({
      name: "validate.belay.dev",
      failurePolicy: "Fail",
      timeoutSeconds: 3,
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
      clientConfig: {
        service: { namespace: "belay-system", name: "belay-webhook", path: "/validate", port: 443 },
      },
      namespaceSelector: {
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "belay-system"] },
        ],
      },
    });
    expect(new Set(validate.rules.flatMap((r: Obj) => r.operations))).toEqual(new Set(["CREATE", "UPDATE"]));
    expect(validate.matchConditions.map((c: Obj) => c.name)).toEqual([
      "skip-high-churn-kinds",
      "skip-kubelet-updates",
      "skip-belay-own-rbac",
      "secrets-only-service-account-tokens",
    ]);
    expect(log).toMatchObject({ name: "log.belay.dev", failurePolicy: "Ignore" });
    expect(log.rules.at(-1)).toEqual({
      apiGroups: [""],
      apiVersions: ["v1"],
      operations: ["CONNECT"],
      resources: ["pods/attach", "pods/exec", "pods/portforward"],
      scope: "Namespaced",
    });
  });
});

describe("belay install flags", () => {
  it("applies --namespace, --replicas, --image, --failure-policy, --timeout-seconds and --without-controller", async () => {
    const result = await runCli([
      "install",
      "--print",
      "-n",
      "guard",
      "--replicas",
      "3",
      "--image",
      "registry.example/belay:1",
      "--failure-policy",
      "Ignore",
      "--timeout-seconds",
      "5",
      "--without-controller",
    ]);
    expect(result.code).toBe(0);
    const objects = loadAll(result.stdout) as Obj[];
    expect(
      objects.some((o) => o.kind === "CustomResourceDefinition" || o.metadata.name === "belay-controller"),
    ).toBe(false);
    const d = find(objects, "Deployment", "belay-webhook");
    expect(d.metadata.namespace).toBe("guard");
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec.containers[0].image).toBe("registry.example/belay:1");
    const validate = find(objects, "ValidatingWebhookConfiguration", "belay").webhooks[0];
    expect(validate.failurePolicy).toBe("Ignore");
    expect(validate.timeoutSeconds).toBe(5);
    expect(validate.namespaceSelector.matchExpressions[0].values).toEqual(["kube-system", "guard"]);
    expect(find(objects, "ConfigMap", "belay-webhook-config").data["config.yaml"]).toContain(
      "exemptNamespaces: [kube-system, guard]\nfailureMode: allow\n",
    );
  });

  it("gives the webhook pod one worker per CPU of --webhook-cpus, with the limits to match", async () => {
    const defaults = await runCli(["install", "--print"]);
    const one = find(loadAll(defaults.stdout) as Obj[], "Deployment", "belay-webhook").spec.template.spec
      .containers[0];
    expect(one.resources.limits).toEqual({ cpu: "1", memory: "512Mi" });
    expect(one.args).not.toContain("--workers");
    const result = await runCli(["install", "--print", "--webhook-cpus", "3"]);
    expect(result.code).toBe(0);
    const c = find(loadAll(result.stdout) as Obj[], "Deployment", "belay-webhook").spec.template.spec
      .containers[0];
    expect(c.args.slice(-2)).toEqual(["--workers", "3"]);
    expect(c.resources).toEqual({
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "3", memory: "1536Mi" },
    });
  });

  it("lists every bad flag and exits 2", async () => {
    const result = await runCli([
      "install",
      "--print",
      "-n",
      "kube-system",
      "--replicas",
      "1",
      "--webhook-cpus",
      "0",
      "--failure-policy",
      "fail",
      "--timeout-seconds",
      "10",
      "--image",
      "",
      "--wait",
      "soon",
    ]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      [
        "belay: install:",
        `  --namespace: "kube-system" is not belay's own; belay labels its namespace Pod Security restricted and excludes it from its webhook, so give it one of its own (default belay-system)`,
        `  --replicas: "1" must be a number of 2 or more; with one replica every rollout or node drain is an outage of admission`,
        `  --webhook-cpus: "0" must be a whole number from 1 to 16; each CPU runs one webhook worker process`,
        `  --image: "" is not an image reference`,
        `  --failure-policy: "fail" must be Fail or Ignore`,
        `  --timeout-seconds: "10" must be 1 to 5; the API server waits this long on every matched request when belay is slow`,
        `  --wait: "soon" is not a duration (e.g. 90s, 2m, 0)`,
        "",
      ].join("\n"),
    );
  });

  it("rejects an invalid namespace name", async () => {
    const result = await runCli(["install", "--print", "-n", "Belay_System"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `belay: install:\n  --namespace: "Belay_System" is not a valid namespace name (lowercase letters, digits and "-", at most 63)\n`,
    );
  });

  it("needs something to do, and one thing at a time", async () => {
    expect(await runCli(["install"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "belay: install: say what to do: --print, --apply, or --check [FILE]\n",
    });
    expect(await runCli(["install", "--print", "--apply"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "belay: install: --print and --apply cannot be combined\n",
    });
  });

  it("uses the certificate in --cert-dir, and refuses one for another Service", async () => {
    const dir = tempDir();
    const certs = await generateWebhookCerts("belay-webhook", "guard");
    writeFileSync(join(dir, "ca.crt"), certs.caCert);
    writeFileSync(join(dir, "tls.crt"), certs.tlsCert);
    writeFileSync(join(dir, "tls.key"), certs.tlsKey);
    const result = await runCli(["install", "--print", "-n", "guard", "--cert-dir", dir]);
    expect(result.code).toBe(0);
    const secret = find(loadAll(result.stdout) as Obj[], "Secret", "belay-webhook-tls");
    expect(Buffer.from(secret.data["tls.key"], "base64").toString("utf8")).toBe(certs.tlsKey);
    const wrong = await runCli(["install", "--print", "--cert-dir", dir]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe(
      [
        `belay: install: --cert-dir ${dir}: unusable certificates:`,
        `  ${dir}/tls.crt: no subjectAltName DNS:belay-webhook.belay-system.svc`,
        `  ${dir}/tls.crt: no subjectAltName DNS:belay-webhook.belay-system.svc.cluster.local`,
        "",
      ].join("\n"),
    );
  });
});

describe("belay install --check", () => {
  const unsafe = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: everything
webhooks:
  - name: all.example.com
    clientConfig: { url: "https://example.com/validate" }
    rules:
      - { apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*/*"] }
    sideEffects: None
    admissionReviewVersions: [v1]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: unrelated }
`;

  it("checks belay's own configuration and says it is safe", async () => {
    expect(await runCli(["install", "--check"])).toEqual({
      code: 0,
      stdout: 'belay install: ValidatingWebhookConfiguration "belay": safe (2 webhooks checked)\n',
      stderr: "",
    });
  });

  it("explains every problem of a user's configuration and exits 1", async () => {
    const dir = tempDir();
    const file = join(dir, "webhook.yaml");
    writeFileSync(file, unsafe);
    const result = await runCli(["install", "--check", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("");
    const at = `${file}: ValidatingWebhookConfiguration "everything": webhooks[0]`;
    expect(result.stdout.split("\n")).toEqual([
      `${at}.rules[0]: matches leases (coordination.k8s.io); leader election and node heartbeats renew leases every few seconds, so a slow or unreachable webhook makes controllers lose leadership and nodes turn NotReady. List the resources the webhook needs instead of "*", without leases.`,
      `${at}.namespaceSelector: does not exclude kube-system; with failurePolicy Fail (the default) an outage of the webhook would block the control plane. Add {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, belay-system]} to its matchExpressions.`,
      `${at}.namespaceSelector: does not exclude belay-system, belay's own namespace; with failurePolicy Fail (the default) belay's pods could not be recreated while it is down, so it could never recover. Add {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, belay-system]} to its matchExpressions.`,
      `${at}.timeoutSeconds: not set, so the API server waits up to 10 s for every request the webhook matches when it is slow or unreachable. Set timeoutSeconds to 5 or less (belay's default is 3).`,
      "",
    ]);
  });

  it("reads stdin with -, and accepts belay's own printed output", async () => {
    const printed = await runCli(["install", "--print"]);
    expect(await runCli(["install", "--check", "-"], { stdin: printed.stdout })).toEqual({
      code: 0,
      stdout: '<stdin>: ValidatingWebhookConfiguration "belay": safe (2 webhooks checked)\n',
      stderr: "",
    });
  });

  it("refuses input without a webhook configuration, and unreadable files, with exit 2", async () => {
    expect(
      await runCli(["install", "--check", "-"], {
        stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
      }),
    ).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "belay: install --check: no ValidatingWebhookConfiguration or MutatingWebhookConfiguration (admissionregistration.k8s.io) in <stdin>\n",
    });
    const missing = await runCli(["install", "--check", "/nonexistent/x.yaml"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^belay: install --check: \/nonexistent\/x\.yaml: /);
  });

  it("cannot be combined with --print or --apply when given a file", async () => {
    expect((await runCli(["install", "--apply", "--check", "x.yaml"])).stderr).toBe(
      "belay: install: --apply and --check FILE cannot be combined\n",
    );
  });
});

describe("the report CRDs", () => {
  it("are in deploy/crds and the Helm chart's crds/ is a link to them (one copy)", () => {
    expect(readlinkSync(new URL("../../deploy/helm/belay/crds", import.meta.url))).toBe("../../crds");
    for (const file of CRD_FILES) {
      const crd = loadAll(
        readFileSync(new URL(`../../deploy/crds/${file}`, import.meta.url), "utf8"),
      )[0] as Obj;
      expect(crd.kind).toBe("CustomResourceDefinition");
      expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${crd.spec.group}`);
      expect(`${crd.spec.group}_${crd.spec.names.plural}.yaml`).toBe(file);
      expect(crd.spec.versions.map((v: Obj) => v.name)).toEqual([
        crd.spec.group === "openreports.io" ? "v1alpha1" : "v1alpha2",
      ]);
    }
  });
});
