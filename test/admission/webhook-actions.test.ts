/**
 * The action table, audit annotations, exceptions, policies on DELETE and CONNECT, and the
 * decision log's objects — through the real server over HTTPS.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActionTable } from "../../src/admission/config.ts";
import { createWebhookServer, loggableObject } from "../../src/admission/server.ts";
import { loadPolicySet } from "../../src/engine/policies.ts";
import { parseStream } from "../../src/resources/parse.ts";
import { lines, makeCert, pod, review, send } from "./support.ts";

const POLICIES = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: team-label}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["pods"]}
  validations:
    - expression: "object.metadata.?labels.?team.hasValue()"
      message: "pods should have a team label"
  auditAnnotations:
    - key: containers
      valueExpression: "string(size(object.spec.containers))"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: team-label-audit}
spec:
  policyName: team-label
  validationActions: [Audit, Warn]
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: audited}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: keep-prod}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["DELETE"], resources: ["pods"]}
  validations:
    - expression: "oldObject.metadata.?labels.?env.orValue('') != 'prod'"
      message: "prod pods are not deleted by hand"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: keep-prod}
spec:
  policyName: keep-prod
  validationActions: [Deny]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-exec-for-mallory}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["CONNECT"], resources: ["pods/exec"]}
  validations:
    - expression: "request.userInfo.username != 'mallory'"
      messageExpression: "'exec into ' + request.name + ' is not for ' + request.userInfo.username"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-exec-for-mallory}
spec:
  policyName: no-exec-for-mallory
  validationActions: [Deny]
`;

const cert = makeCert();

async function startServer(actions?: ActionTable, extra: Record<string, unknown> = {}) {
  const decisions = lines();
  const log = lines();
  const policies = loadPolicySet(parseStream(POLICIES, "policies.yaml").resources);
  expect(policies.errors).toEqual([]);
  const created = createWebhookServer({
    tlsCert: cert.cert,
    tlsKey: cert.key,
    port: 0,
    host: "127.0.0.1",
    policies: policies.set,
    ...(actions ? { actions } : {}),
    decisionLog: decisions,
    log,
    ...extra,
  });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  const server = created.value;
  const { port } = await server.listen();
  const validate = async (body: unknown) => {
    const reply = await send(port, cert.cert, "POST", "/validate", JSON.stringify(body));
    expect(reply.status, reply.body).toBe(200);
    return (JSON.parse(reply.body) as { response: Record<string, unknown> }).response;
  };
  return { server, port, validate, decisions, log };
}

afterAll(() => rmSync(cert.dir, { recursive: true, force: true }));

describe("actions", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer({
      "liveness-probe": "audit",
      "readiness-probe": "off",
      "default-service-account": "deny",
      pss: "warn",
    });
  });
  afterAll(() => s.server.close());

  it("does not run a rule whose action is off", () => {
    expect(s.server.ruleIds).not.toContain("readiness-probe");
    expect(s.server.ruleIds).toContain("liveness-probe");
  });

  it("denies, warns and audits per the table", async () => {
    const p = pod("p", { livenessProbe: undefined, readinessProbe: undefined });
    delete (p.spec as Record<string, unknown>).serviceAccountName;
    const response = await s.validate(review("CREATE", p));
    expect(response).toEqual({
      uid: "uid-create-1",
      allowed: false,
      status: {
        code: 403,
        reason: "Forbidden",
        message: [
          "belay denied Pod team-a/p: 1 violation of 1 rule (default-service-account)",
          '- [default-service-account] spec.serviceAccountName: Pod "p" runs as the "default" service account (serviceAccountName is unset or "default")',
          "  fix: Create a ServiceAccount for the workload and set serviceAccountName to it.",
        ].join("\n"),
      },
      auditAnnotations: {
        rule_failure: JSON.stringify([
          {
            rule: "liveness-probe",
            severity: "low",
            path: "spec.containers[0].livenessProbe",
            message: 'container "app" has no livenessProbe',
          },
        ]),
      },
    });
    expect(s.decisions.last()).toMatchObject({
      verdict: "deny",
      rules: ["default-service-account"],
      audit: ["liveness-probe"],
    });
  });

  it("turns Pod Security denials into warnings under pss: warn", async () => {
    const privileged = pod("root", {
      securityContext: {
        privileged: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      },
    });
    const response = await s.validate(review("CREATE", privileged));
    expect(response.allowed).toBe(true);
    expect(response.warnings).toEqual([
      '[pss-privileged] container "app" must not set securityContext.privileged=true',
    ]);
  });
});

describe("user policies on the real request", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.server.close());

  it("records Audit failures as the API server does and returns the policy's auditAnnotations", async () => {
    const response = await s.validate(review("CREATE", pod("web"), { namespace: "audited" }));
    expect(response).toEqual({
      uid: "uid-create-1",
      allowed: true,
      warnings: ["[team-label] pods should have a team label (binding team-label-audit, validation 0)"],
      auditAnnotations: {
        validation_failure: JSON.stringify([
          {
            message: "pods should have a team label",
            policy: "team-label",
            binding: "team-label-audit",
            expressionIndex: 0,
            validationActions: ["Audit", "Warn"],
          },
        ]),
        "team-label.containers": "1",
      },
    });
    expect(s.decisions.last()).toMatchObject({
      verdict: "warn",
      warnings: ["team-label"],
      audit: ["team-label"],
    });
    // Outside the binding's namespaces, nothing.
    expect(await s.validate(review("CREATE", pod("web")))).toEqual({ uid: "uid-create-1", allowed: true });
  });

  it("enforces a policy that matches DELETE, and logs who deleted what", async () => {
    const prod = { ...pod("db"), metadata: { name: "db", labels: { env: "prod" } } };
    const denied = await s.validate(review("DELETE", prod));
    expect(denied.allowed).toBe(false);
    // Only a policy denies: its validation's reason (Invalid by default) and code, as the API server answers.
    expect(denied.status).toMatchObject({ code: 422, reason: "Invalid" });
    expect((denied.status as { message: string }).message).toBe(
      [
        "belay denied Pod team-a/db: 1 violation of 1 rule (keep-prod)",
        "- [keep-prod] prod pods are not deleted by hand (binding keep-prod, validation 0)",
        "  fix: Change the object so that the policy's validations hold, or ask the policy's owner for an exception.",
      ].join("\n"),
    );
    expect(s.decisions.last()).toMatchObject({
      operation: "DELETE",
      user: "alice",
      namespace: "team-a",
      name: "db",
      verdict: "deny",
      rules: ["keep-prod"],
    });
    const dev = await s.validate(review("DELETE", pod("scratch")));
    expect(dev).toEqual({ uid: "uid-delete-1", allowed: true });
  });

  it("enforces a policy on CONNECT (exec) with the real user", async () => {
    const exec = (username: string) =>
      review(
        "CONNECT",
        { apiVersion: "v1", kind: "PodExecOptions", command: ["sh"], stdin: true, tty: true },
        {
          name: "web",
          subResource: "exec",
          kind: { group: "", version: "v1", kind: "PodExecOptions" },
          userInfo: { username, groups: ["system:authenticated"] },
        },
      );
    const denied = await s.validate(exec("mallory"));
    expect(denied.allowed).toBe(false);
    expect((denied.status as { message: string }).message).toContain(
      "- [no-exec-for-mallory] exec into web is not for mallory (binding no-exec-for-mallory, validation 0)",
    );
    expect(s.decisions.last()).toMatchObject({
      operation: "CONNECT",
      resource: "v1/pods/exec",
      user: "mallory",
      name: "web",
      verdict: "deny",
    });
    expect(await s.validate(exec("alice"))).toEqual({ uid: "uid-connect-1", allowed: true });
    expect(s.decisions.last()).toMatchObject({
      operation: "CONNECT",
      user: "alice",
      verdict: "allow",
      reason: "connect is logged; only policies evaluate it",
    });
  });

  it("measures each policy's evaluation time", async () => {
    const text = await s.server.metrics.metrics();
    expect(text).toContain('belay_webhook_policy_evaluation_seconds_count{policy="team-label"}');
    expect(text).toContain('belay_webhook_policy_evaluation_seconds_count{policy="belay-rules"}');
    expect(text).toContain('belay_webhook_audits_total{rule="team-label"}');
  });
});

describe("policy overrides and exceptions", () => {
  it("policy:<name> overrides a binding's actions and `off` silences it", async () => {
    const s = await startServer({ "policy:keep-prod": "warn", "policy:team-label": "off" });
    try {
      const prod = { ...pod("db"), metadata: { name: "db", labels: { env: "prod" } } };
      const response = await s.validate(review("DELETE", prod));
      expect(response).toMatchObject({
        allowed: true,
        warnings: ["[keep-prod] prod pods are not deleted by hand (binding keep-prod, validation 0)"],
      });
      const audited = await s.validate(review("CREATE", pod("web"), { namespace: "audited" }));
      // The policy's own auditAnnotations still come back: `off` drops its validations only.
      expect(audited).toEqual({
        uid: "uid-create-1",
        allowed: true,
        auditAnnotations: { "team-label.containers": "1" },
      });
    } finally {
      await s.server.close();
    }
  });

  it("exceptions suppress a rule for the resources they select", async () => {
    const s = await startServer(undefined, {
      exceptions: [
        {
          index: 0,
          ruleIds: ["pss-privileged"],
          resource: { namespace: "team-a", name: "node-agent" },
          reason: "needs the host",
          owner: "platform",
          expires: "2999-01-01",
        },
      ],
    });
    try {
      const agent = pod("node-agent", {
        securityContext: {
          privileged: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        },
      });
      expect((await s.validate(review("CREATE", agent))).allowed).toBe(true);
      const other = { ...agent, metadata: { name: "other" } };
      expect((await s.validate(review("CREATE", other))).allowed).toBe(false);
    } finally {
      await s.server.close();
    }
  });
});

describe("decision log objects", () => {
  it("includes objects only when asked, and never a Secret's values", async () => {
    const s = await startServer(undefined, { includeObjects: true });
    try {
      const secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "db",
          annotations: {
            "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"password":"aHVudGVyMg=="}}',
          },
        },
        data: { password: "aHVudGVyMg==" },
        stringData: { token: "hunter2" },
      };
      await s.validate(
        review("CREATE", secret, {
          kind: { group: "", version: "v1", kind: "Secret" },
          resource: { group: "", version: "v1", resource: "secrets" },
        }),
      );
      const line = s.decisions.lines.at(-1) as string;
      expect(line).not.toContain("aHVudGVyMg==");
      expect(line).not.toContain("hunter2");
      expect(s.decisions.last().object).toEqual({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "db",
          annotations: { "kubectl.kubernetes.io/last-applied-configuration": "(redacted)" },
        },
        data: { password: "(redacted)" },
        stringData: { token: "(redacted)" },
      });
      await s.validate(review("CREATE", pod("web")));
      expect((s.decisions.last().object as { metadata: unknown }).metadata).toEqual({ name: "web" });
    } finally {
      await s.server.close();
    }
    expect(loggableObject(null)).toBeNull();
  });

  it("leaves objects out by default", async () => {
    const s = await startServer();
    try {
      await s.validate(review("CREATE", pod("web")));
      expect(s.decisions.last()).not.toHaveProperty("object");
    } finally {
      await s.server.close();
    }
  });
});
