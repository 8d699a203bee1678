/**
 * User policies that use CEL's `authorizer` in the webhook. The live authorizer is the real
 * one (src/kube/sar.ts: SubjectAccessReviews, cache, rounds); only its API server is
 * in-process: a client that answers each SubjectAccessReview with belay's offline RBAC engine
 * over a few Roles and bindings. That proves the plumbing (the request's user, uid, groups
 * and extra reach the review, answers decide, the cache spares reviews, the deadline holds);
 * the answers themselves are compared with kube-apiserver in
 * test/cluster/webhook-authz.test.ts and test/cluster/vap-authz-fidelity.test.ts.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { parseReview } from "../../src/admission/review.ts";
import { createReviewer, resolveWebhookOptions, type WebhookOptions } from "../../src/admission/reviewer.ts";
import { createWebhookServer, type WebhookServer } from "../../src/admission/server.ts";
import type { AuthzAttributes } from "../../src/cel/index.ts";
import { registerWebhook } from "../../src/cli/webhook.ts";
import { loadPolicySet, offlineAuthorizer, type PolicySet } from "../../src/engine/policies.ts";
import type { KubeClient, KubeResponse } from "../../src/kube/client.ts";
import { makeSarAuthorizer } from "../../src/kube/sar.ts";
import { parseStream } from "../../src/resources/parse.ts";
import { ok, type Result } from "../../src/result.ts";
import { makeCert, pod, review, startWebhookCommand } from "./support.ts";

const POLICY = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: host-network-grant}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  validations:
    - expression: >-
        !object.spec.?hostNetwork.orValue(false) ||
        authorizer.group('belay.dev').resource('hostnetworks').namespace(request.namespace).check('use').allowed()
      message: hostNetwork needs the use verb on hostnetworks.belay.dev in the namespace
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: host-network-grant}
spec: {policyName: host-network-grant, validationActions: [Deny]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: sa-no-secrets}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  validations:
    - expression: >-
        !authorizer.serviceAccount(request.namespace, object.spec.serviceAccountName)
        .group('').resource('secrets').namespace(request.namespace).check('list').allowed()
      messageExpression: "'service account ' + object.spec.serviceAccountName + ' must not list secrets'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: sa-no-secrets}
spec: {policyName: sa-no-secrets, validationActions: [Deny]}
`;

const PLAIN = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: owner-label}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  validations:
    - expression: "object.metadata.?labels.?owner.hasValue()"
      message: pods need an owner label
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: owner-label}
spec: {policyName: owner-label, validationActions: [Deny]}
`;

const RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: host-network, namespace: team-a}
rules: [{apiGroups: [belay.dev], resources: [hostnetworks], verbs: [use]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: host-network, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: host-network}
subjects: [{kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secret-reader, namespace: team-a}
rules: [{apiGroups: [""], resources: [secrets], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: secret-reader, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}
subjects: [{kind: ServiceAccount, name: reader, namespace: team-a}]
`;

const policySet = (text: string): PolicySet => {
  const loaded = loadPolicySet(parseStream(text, "policies.yaml").resources);
  expect(loaded.errors).toEqual([]);
  return loaded.set;
};

/** The attributes of a SubjectAccessReview body (the inverse of `subjectAccessReview`). */
function attributesOf(body: { spec: Record<string, unknown> }): AuthzAttributes {
  const spec = body.spec as {
    user: string;
    groups: string[];
    uid?: string;
    extra?: Record<string, string[]>;
    resourceAttributes?: Record<string, string>;
    nonResourceAttributes?: { path: string; verb: string };
  };
  const user = {
    name: spec.user,
    groups: spec.groups,
    ...(spec.uid ? { uid: spec.uid } : {}),
    ...(spec.extra ? { extra: spec.extra } : {}),
  };
  if (spec.nonResourceAttributes) return { user, ...spec.nonResourceAttributes };
  const r = spec.resourceAttributes ?? {};
  return {
    user,
    verb: r.verb ?? "",
    group: r.group ?? "",
    resource: r.resource ?? "",
    subresource: r.subresource ?? "",
    namespace: r.namespace ?? "",
    name: r.name ?? "",
  };
}

/**
 * A KubeClient whose API server answers SubjectAccessReviews with belay's RBAC engine over
 * {@link RBAC}; `hold` keeps answers back (to pass a deadline), `status` fails them.
 */
function rbacApiServer(options: { hold?: boolean; status?: number } = {}) {
  const authorizer = offlineAuthorizer(parseStream(RBAC, "rbac.yaml").resources).authorizer;
  const reviews: { spec: Record<string, unknown> }[] = [];
  const client: KubeClient = {
    context: "in-process",
    server: "https://rbac.invalid",
    async send(method, path, body): Promise<Result<KubeResponse>> {
      expect(`${method} ${path}`).toBe("POST /apis/authorization.k8s.io/v1/subjectaccessreviews");
      const review = body as { spec: Record<string, unknown> };
      reviews.push(review);
      if (options.hold) await new Promise(() => {});
      if (options.status !== undefined)
        return ok({ status: options.status, body: { message: "subjectaccessreviews is forbidden" } });
      const d = authorizer.authorize(attributesOf(review));
      return ok({
        status: 201,
        body: { ...review, status: { allowed: d.decision === "allow", reason: d.reason } },
      });
    },
    close() {},
  };
  return { client, reviews };
}

const cert = makeCert();
const quiet = { write: () => 0 };

function server(options: Partial<WebhookOptions>, lines: string[] = []): WebhookServer {
  const created = createWebhookServer({
    tlsCert: cert.cert,
    tlsKey: cert.key,
    port: 0,
    host: "127.0.0.1",
    profiles: ["pss-baseline"],
    // The policies decide about hostNetwork here, not the built-in rule.
    skipRules: ["pss-host-namespaces"],
    decisionLog: { write: (l: string) => lines.push(l) },
    log: quiet,
    ...options,
  });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  return created.value;
}

async function validate(s: WebhookServer, body: unknown, query = "") {
  const reply = await s.inject({
    method: "POST",
    url: `/validate${query}`,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(reply.status, reply.body).toBe(200);
  return JSON.parse(reply.body).response as {
    allowed: boolean;
    status?: { code: number; message: string };
    warnings?: string[];
  };
}

/** alice (granted hostnetworks) or bob (not), with a uid and extra as the API server sends them. */
const as = (username: string) => ({
  userInfo: {
    username,
    uid: `uid-${username}`,
    groups: ["dev", "system:authenticated"],
    extra: { "authentication.kubernetes.io/credential-id": [`X509SHA256=${username}`] },
  },
});

const hostPod = (name: string) => pod(name, {}, { hostNetwork: true });

afterAll(() => rmSync(cert.dir, { recursive: true, force: true }));

describe("webhook policies with CEL authorizer (live SubjectAccessReview authorizer)", () => {
  it("asks as the request's user (uid, groups, extra) and decides by the answer", async () => {
    const api = rbacApiServer();
    const s = server({ policies: policySet(POLICY), authorizer: makeSarAuthorizer(api.client) });
    expect(await validate(s, review("CREATE", hostPod("net"), as("alice")))).toEqual({
      uid: "uid-create-1",
      allowed: true,
    });
    const denied = await validate(s, review("CREATE", hostPod("net"), as("bob")));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toBe(
      [
        "belay denied Pod team-a/net: 1 violation of 1 rule (host-network-grant)",
        "- [host-network-grant] hostNetwork needs the use verb on hostnetworks.belay.dev in the namespace (binding host-network-grant, validation 0)",
        "  fix: Change the object so that the policy's validations hold, or ask the policy's owner for an exception.",
      ].join("\n"),
    );
    const bobs = api.reviews.find((r) => r.spec.user === "bob" && r.spec.resourceAttributes !== undefined);
    expect(bobs?.spec).toEqual({
      user: "bob",
      uid: "uid-bob",
      groups: ["dev", "system:authenticated"],
      extra: { "authentication.kubernetes.io/credential-id": ["X509SHA256=bob"] },
      resourceAttributes: {
        namespace: "team-a",
        verb: "use",
        group: "belay.dev",
        version: "*",
        resource: "hostnetworks",
        subresource: "",
        name: "",
      },
    });
  });

  it("checks as a service account with authorizer.serviceAccount", async () => {
    const api = rbacApiServer();
    const s = server({ policies: policySet(POLICY), authorizer: makeSarAuthorizer(api.client) });
    const reader = pod("r", {}, { serviceAccountName: "reader" });
    const denied = await validate(s, review("CREATE", reader, as("alice")));
    expect(denied.status?.message).toContain(
      "- [sa-no-secrets] service account reader must not list secrets (binding sa-no-secrets, validation 0)",
    );
    expect((await validate(s, review("CREATE", pod("app"), as("alice")))).allowed).toBe(true);
    expect(api.reviews.map((r) => r.spec.user)).toContain("system:serviceaccount:team-a:reader");
    expect(
      api.reviews.find((r) => r.spec.user === "system:serviceaccount:team-a:reader")?.spec.groups,
    ).toEqual(["system:serviceaccounts", "system:serviceaccounts:team-a"]);
  });

  it("answers repeated checks from the cache and counts reviews and cache hits", async () => {
    const api = rbacApiServer();
    const sar = makeSarAuthorizer(api.client);
    const s = server({ policies: policySet(POLICY), authorizer: sar });
    await validate(s, review("CREATE", hostPod("net"), as("bob")));
    const sent = api.reviews.length;
    // host-network-grant asks as bob, sa-no-secrets as the pod's service account "app".
    expect(sent).toBe(2);
    const again = await validate(s, review("CREATE", hostPod("net"), as("bob")));
    expect(again.allowed).toBe(false);
    expect(api.reviews.length).toBe(sent);
    const text = await s.metrics.metrics();
    expect(text).toContain("belay_webhook_subjectaccessreviews_total 2");
    expect(text).toContain("belay_webhook_subjectaccessreview_failures_total 0");
    expect(text).toContain("belay_webhook_authorizer_cache_hits_total 2");
    // Counters mirror the authorizer: a second scrape does not count twice.
    expect(await s.metrics.metrics()).toContain("belay_webhook_subjectaccessreviews_total 2");
  });

  it("stays synchronous when the policies do not use authorizer, and waits only when they do", async () => {
    const api = rbacApiServer();
    const resolve = (policies: PolicySet) => {
      const resolved = resolveWebhookOptions({
        tlsCert: cert.cert,
        tlsKey: cert.key,
        profiles: ["pss-baseline"],
        policies,
        authorizer: makeSarAuthorizer(api.client),
        decisionLog: quiet,
        log: quiet,
      });
      if (!resolved.ok) throw new Error(JSON.stringify(resolved.error));
      return createReviewer(resolved.value, { log: () => {}, policyTime: () => {}, mutation: () => {} });
    };
    const request = parseReview(review("CREATE", pod("p"), as("alice")));
    const plain = resolve(policySet(PLAIN)).validate(request, Number.POSITIVE_INFINITY);
    expect(plain).not.toBeInstanceOf(Promise);
    expect(api.reviews).toHaveLength(0);
    const pending = resolve(policySet(POLICY)).validate(request, Number.POSITIVE_INFINITY);
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).verdict).toBe("allow");
    // No hostNetwork: only sa-no-secrets asks, as the pod's service account.
    expect(api.reviews.map((r) => r.spec.user)).toEqual(["system:serviceaccount:team-a:app"]);
  });

  it("counts review waits against the request's deadline; the failure mode answers", async () => {
    const api = rbacApiServer({ hold: true });
    const policies = policySet(POLICY);
    const denying = server({ policies, authorizer: makeSarAuthorizer(api.client) });
    expect(await validate(denying, review("CREATE", hostPod("net"), as("bob")), "?timeout=200ms")).toEqual({
      uid: "uid-create-1",
      allowed: false,
      status: {
        code: 503,
        reason: "ServiceUnavailable",
        message:
          "belay could not evaluate this request within its timeout (200 ms); denied because the failure mode is deny. Retry the request.",
      },
    });
    expect(await denying.metrics.metrics()).toContain("belay_webhook_timeouts_total 1");
    const allowing = server({ policies, authorizer: makeSarAuthorizer(api.client), failureMode: "allow" });
    const admitted = await validate(allowing, review("CREATE", hostPod("net"), as("bob")), "?timeout=200ms");
    expect(admitted.allowed).toBe(true);
    expect(admitted.warnings).toEqual([
      "[belay] belay could not evaluate this request within its timeout (200 ms); admitted because the failure mode is allow",
    ]);
  });

  it("a failed review is an errored check: allowed() is false, so the policy denies (as kube-apiserver)", async () => {
    const api = rbacApiServer({ status: 403 });
    const sar = makeSarAuthorizer(api.client);
    const s = server({ policies: policySet(POLICY), authorizer: sar });
    const denied = await validate(s, review("CREATE", hostPod("net"), as("alice")));
    expect(denied.status?.message).toContain("- [host-network-grant] hostNetwork needs the use verb");
    expect(await s.metrics.metrics()).toContain("belay_webhook_subjectaccessreview_failures_total 2");
  });

  it("keeps the decision log free of authorization details and Secret data", async () => {
    const api = rbacApiServer();
    const lines: string[] = [];
    const s = server(
      { policies: policySet(POLICY), authorizer: makeSarAuthorizer(api.client), includeObjects: true },
      lines,
    );
    await validate(s, review("CREATE", hostPod("net"), as("bob")));
    const line = JSON.parse(lines.at(-1) as string);
    expect(line).toMatchObject({
      user: "bob",
      verdict: "deny",
      rules: ["host-network-grant"],
      errors: [],
    });
    expect(lines.join("")).not.toContain("RBAC:");
  });

  it("without a live authorizer, authorizer checks are errors decided by the failurePolicy, and the log says so once", async () => {
    const log: string[] = [];
    const s = server({ policies: policySet(POLICY), log: { write: (l: string) => log.push(l) } });
    const denied = await validate(s, review("CREATE", hostPod("net"), as("alice")));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toContain("- [host-network-grant] ");
    const warnings = log
      .map((l) => JSON.parse(l))
      .filter((l) => l.event.startsWith("policies use authorizer"));
    expect(warnings).toEqual([
      expect.objectContaining({
        level: "warn",
        event: "policies use authorizer, but no authorizer is configured",
        policies: ["host-network-grant", "sa-no-secrets"],
      }),
    ]);
  });
});

describe("belay webhook --authorizer", () => {
  const io = (env: Record<string, string>) => ({
    stdout: quiet,
    stderr: quiet,
    readStdin: async () => "",
    isTTY: false,
    env,
    cwd: process.cwd(),
  });
  const policyFile = join(cert.dir, "authz-policies.yaml");
  writeFileSync(policyFile, POLICY);
  const run = (env: Record<string, string>, extra: string[] = []) => {
    const program = new Command("belay").exitOverride();
    registerWebhook(program, io(env), { exitCode: 0 });
    return program.parseAsync(
      [
        "webhook",
        "--tls-cert",
        cert.certFile,
        "--tls-key",
        cert.keyFile,
        "--port",
        "0",
        "--policy",
        policyFile,
        ...extra,
      ],
      { from: "user" },
    );
  };

  it("refuses to start when policies need it and no cluster is configured, naming them", async () => {
    const missing = join(cert.dir, "no-kubeconfig");
    await expect(run({ KUBECONFIG: missing })).rejects.toThrow(
      new RegExp(
        `^webhook not started:\\n  authorizer: policies "host-network-grant", "sa-no-secrets" use CEL's authorizer, which the webhook answers with SubjectAccessReviews, but cannot load kubeconfig: .*${missing}.*; give --context NAME or run belay in the cluster, or set --authorizer none \\(those checks then fail and each policy's failurePolicy decides\\)$`,
      ),
    );
  });

  it("refuses to start when the cluster cannot answer a SubjectAccessReview", async () => {
    const kubeconfig = join(cert.dir, "unreachable.kubeconfig");
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: gone, context: {cluster: c, user: u}}]
current-context: gone
`,
    );
    await expect(run({ KUBECONFIG: kubeconfig })).rejects.toThrow(
      /^webhook not started:\n {2}authorizer: policies "host-network-grant", "sa-no-secrets" use CEL's authorizer, which the webhook answers with SubjectAccessReviews, but a test SubjectAccessReview failed: cannot reach the API server of context "gone" \(https:\/\/127\.0\.0\.1:1\): .*ECONNREFUSED.*; the webhook's identity needs to reach the API server and create subjectaccessreviews\.authorization\.k8s\.io, or give --context NAME/,
    );
  });

  it("--authorizer none starts without a cluster and says which policies cannot be answered", async () => {
    const webhook = await startWebhookCommand(
      [
        ...["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--port", "0", "--host", "127.0.0.1"],
        ...["--policy", policyFile, "--authorizer", "none"],
      ],
      { env: { KUBECONFIG: join(cert.dir, "no-kubeconfig") } },
    );
    const { stderr } = webhook;
    expect(await webhook.stop()).toBe(0);
    expect(stderr.map((l) => JSON.parse(l)).find((l) => l.level === "warn")).toMatchObject({
      event: "policies use authorizer, but no authorizer is configured",
      policies: ["host-network-grant", "sa-no-secrets"],
      effect: "their authorizer checks are evaluation errors; each policy's failurePolicy decides",
    });
  });

  it("rejects an unknown mode", async () => {
    await expect(run({}, ["--authorizer", "rbac"])).rejects.toThrow(
      'webhook not started:\n  --authorizer: must be sar or none, got "rbac"',
    );
  });
});
