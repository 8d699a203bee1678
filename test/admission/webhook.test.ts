/**
 * The admission webhook in-process over real HTTPS: a self-signed certificate made with
 * openssl, requests with node:https trusting it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseGoDuration } from "../../src/admission/review.ts";
import { createWebhookServer, type WebhookServer } from "../../src/admission/server.ts";
import { registerWebhook } from "../../src/cli/webhook.ts";
import { loadPolicySet } from "../../src/engine/policies.ts";
import { parseStream } from "../../src/resources/parse.ts";
import { makeCert, pod, review, send as sendTo, startWebhookCommand } from "./support.ts";

let dir: string;
let cert: string;
let key: string;

/** The suite's certificate (support.ts makes it). */
function useCert(): void {
  ({ dir, cert, key } = makeCert(mkdtempSync(join(tmpdir(), "belay-webhook-"))));
}

/** A request to the server under test, trusting its certificate. */
function send(port: number, method: string, path: string, body?: string | Buffer, contentType?: string) {
  return sendTo(port, cert, method, path, body, contentType);
}

const POLICY = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: require-team-label
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods"]
  validations:
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      message: "pods must have a team label"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: require-team-label
spec:
  policyName: require-team-label
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: policed
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: team-label-is-immutable
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["pods"]}
  validations:
    - expression: "oldObject.metadata.?labels.?team == object.metadata.?labels.?team || 'system:masters' in request.userInfo.groups"
      messageExpression: "'only admins may change the team label; ' + request.userInfo.username + ' may not'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: team-label-is-immutable
spec:
  policyName: team-label-is-immutable
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: policed
`;

describe("belay webhook", () => {
  let server: WebhookServer;
  let port: number;
  const decisions: string[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    useCert();
    const policies = loadPolicySet(parseStream(POLICY, "policy.yaml").resources);
    expect(policies.errors).toEqual([]);
    const created = createWebhookServer({
      tlsCert: cert,
      tlsKey: key,
      port: 0,
      host: "127.0.0.1",
      policies: policies.set,
      decisionLog: { write: (l: string) => decisions.push(l) },
      log: { write: (l: string) => logs.push(l) },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    server = created.value;
    ({ port } = await server.listen());
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const validate = async (body: unknown, query = "") => {
    const reply = await send(port, "POST", `/validate${query}`, JSON.stringify(body));
    expect(reply.status).toBe(200);
    return JSON.parse(reply.body) as { apiVersion: string; kind: string; response: Record<string, unknown> };
  };

  it("denies a privileged pod with an actionable message", async () => {
    const bad = pod("bad", { securityContext: { privileged: true, readOnlyRootFilesystem: true } });
    const answer = await validate(review("CREATE", bad));
    expect(answer.apiVersion).toBe("admission.k8s.io/v1");
    expect(answer.kind).toBe("AdmissionReview");
    expect(answer.response).toEqual({
      uid: "uid-create-1",
      allowed: false,
      status: {
        code: 403,
        reason: "Forbidden",
        message: [
          "belay denied Pod team-a/bad: 3 violations of 3 rules (pss-allow-privilege-escalation, pss-capabilities-restricted, pss-privileged)",
          '- [pss-allow-privilege-escalation] spec.containers[0].securityContext.allowPrivilegeEscalation: container "app" must set securityContext.allowPrivilegeEscalation=false',
          "  fix: Set securityContext.allowPrivilegeEscalation to false in every container.",
          '- [pss-capabilities-restricted] spec.containers[0].securityContext.capabilities.drop: container "app" must set securityContext.capabilities.drop=["ALL"]',
          '  fix: Set securityContext.capabilities.drop to ["ALL"] and add back at most NET_BIND_SERVICE.',
          '- [pss-privileged] spec.containers[0].securityContext.privileged: container "app" must not set securityContext.privileged=true',
          "  fix: Remove securityContext.privileged or set it to false.",
        ].join("\n"),
      },
    });
    const line = JSON.parse(decisions.at(-1) as string);
    expect(line).toMatchObject({
      uid: "uid-create-1",
      user: "alice",
      groups: ["dev", "system:authenticated"],
      operation: "CREATE",
      resource: "v1/pods",
      kind: "Pod",
      namespace: "team-a",
      name: "bad",
      verdict: "deny",
      rules: ["pss-allow-privilege-escalation", "pss-capabilities-restricted", "pss-privileged"],
    });
    expect(line.latencyUs).toBeGreaterThan(0);
    expect(decisions.at(-1)).not.toContain("registry.example.com");
  });

  it("allows a good pod and echoes the uid", async () => {
    const answer = await validate(review("CREATE", pod("good")));
    expect(answer.response).toEqual({ uid: "uid-create-1", allowed: true });
    expect(JSON.parse(decisions.at(-1) as string)).toMatchObject({
      verdict: "allow",
      rules: [],
      warnings: [],
    });
  });

  it("allows a pod with only low findings, with warnings", async () => {
    const p = pod("no-sa");
    delete (p.spec as Record<string, unknown>).serviceAccountName;
    const answer = await validate(review("CREATE", p));
    expect(answer.response).toEqual({
      uid: "uid-create-1",
      allowed: true,
      warnings: [
        '[default-service-account] Pod "no-sa" runs as the "default" service account (serviceAccountName is unset or "default")',
      ],
    });
    expect(JSON.parse(decisions.at(-1) as string)).toMatchObject({
      verdict: "warn",
      warnings: ["default-service-account"],
    });
  });

  it("admits anything in an exempt namespace without evaluating", async () => {
    const bad = pod("bad", { securityContext: { privileged: true } });
    const answer = await validate(review("CREATE", bad, { namespace: "kube-system" }));
    expect(answer.response).toEqual({ uid: "uid-create-1", allowed: true });
    expect(JSON.parse(decisions.at(-1) as string)).toMatchObject({
      verdict: "exempt",
      namespace: "kube-system",
    });
  });

  it("enforces user ValidatingAdmissionPolicies with Deny", async () => {
    const answer = await validate(review("CREATE", pod("unlabelled"), { namespace: "policed" }));
    expect(answer.response.allowed).toBe(false);
    expect((answer.response.status as { message: string }).message).toContain("[require-team-label]");
    expect((answer.response.status as { message: string }).message).toContain("pods must have a team label");
  });

  it("gives user policies the real request: operation, old object and user", async () => {
    const labelled = (team: string) => ({
      ...pod("web"),
      metadata: { name: "web", namespace: "policed", labels: { team } },
    });
    const change = review("UPDATE", labelled("b"), { namespace: "policed", oldObject: labelled("a") });
    const answer = await validate(change);
    expect(answer.response.allowed).toBe(false);
    expect((answer.response.status as { message: string }).message).toContain(
      "only admins may change the team label; alice may not",
    );
    const admin = await validate({
      ...change,
      request: { ...change.request, userInfo: { username: "root", groups: ["system:masters"] } },
    });
    expect(admin.response.allowed).toBe(true);
    const same = await validate(
      review("UPDATE", labelled("a"), { namespace: "policed", oldObject: labelled("a") }),
    );
    expect(same.response.allowed).toBe(true);
  });

  it("logs DELETE (with the old object's findings) and CONNECT without blocking", async () => {
    const bad = pod("bad", { securityContext: { privileged: true } });
    const del = await validate(review("DELETE", bad));
    expect(del.response).toEqual({ uid: "uid-delete-1", allowed: true });
    expect(JSON.parse(decisions.at(-1) as string)).toMatchObject({
      operation: "DELETE",
      verdict: "allow",
      name: "bad",
      reason: "delete is logged, not enforced",
    });
    expect(JSON.parse(decisions.at(-1) as string).audit).toContain("pss-privileged");
    const connect = await validate(
      review(
        "CONNECT",
        { apiVersion: "v1", kind: "PodExecOptions", command: ["sh"] },
        {
          name: "web",
          subResource: "exec",
          kind: { group: "", version: "v1", kind: "PodExecOptions" },
        },
      ),
    );
    expect(connect.response).toEqual({ uid: "uid-connect-1", allowed: true });
    expect(JSON.parse(decisions.at(-1) as string)).toMatchObject({
      operation: "CONNECT",
      resource: "v1/pods/exec",
      name: "web",
      verdict: "allow",
    });
  });

  it("on UPDATE, denies only violations the old object did not have", async () => {
    const bad = pod("bad", {
      securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    });
    const relabelled = { ...bad, metadata: { ...bad.metadata, labels: { app: "x" } } };
    const same = await validate(review("UPDATE", relabelled, { oldObject: bad }));
    expect(same.response.allowed).toBe(true);
    expect(same.response.warnings).toContain(
      '[pss-privileged] container "app" must not set securityContext.privileged=true',
    );
    const worse = await validate(review("UPDATE", bad, { oldObject: pod("bad") }));
    expect(worse.response.allowed).toBe(false);
  });

  it("answers per the failure mode when the deadline has passed", async () => {
    const answer = await validate(review("CREATE", pod("good")), "?timeout=1ns");
    expect(answer.response).toMatchObject({
      uid: "uid-create-1",
      allowed: false,
      status: { code: 503, reason: "ServiceUnavailable" },
    });
    expect(JSON.parse(decisions.at(-1) as string)).toMatchObject({ verdict: "deny", reason: "timeout" });
    const ok = await validate(review("CREATE", pod("good")), "?timeout=10s");
    expect(ok.response.allowed).toBe(true);
  });

  it("rejects malformed JSON with 400 and a log line", async () => {
    const reply = await send(port, "POST", "/validate", "{not json");
    expect(reply.status).toBe(400);
    expect(reply.body).toBe('{"error":"request body is not valid JSON"}');
    expect(logs.at(-1)).toContain('"status":400');
  });

  it("rejects a wrong apiVersion, kind or missing request with 400", async () => {
    const reply = await send(
      port,
      "POST",
      "/validate",
      JSON.stringify({ apiVersion: "admission.k8s.io/v1beta1", kind: "Pod" }),
    );
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({
      error:
        'invalid AdmissionReview: apiVersion must be "admission.k8s.io/v1", got "admission.k8s.io/v1beta1"; kind must be "AdmissionReview", got "Pod"; request is missing',
    });
    const noUid = await send(
      port,
      "POST",
      "/validate",
      JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: { operation: "PATCH" },
      }),
    );
    expect(JSON.parse(noUid.body)).toEqual({
      error:
        'invalid AdmissionReview: request.uid is missing; request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"',
    });
    const text = await send(port, "POST", "/validate", "hello", "text/plain");
    expect(text.status).toBe(415);
    expect(JSON.parse(text.body)).toEqual({ error: "content type must be application/json" });
  });

  it("rejects a body over 3 MiB with 413", async () => {
    const reply = await send(port, "POST", "/validate", Buffer.alloc(4 * 1024 * 1024, 0x20));
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toEqual({ error: "request body exceeds the limit of 3145728 bytes" });
    // still serving
    expect((await send(port, "GET", "/healthz")).status).toBe(200);
  });

  it("serves /healthz, /readyz and /metrics", async () => {
    expect(await send(port, "GET", "/healthz")).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect(await send(port, "GET", "/readyz")).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    const metrics = await send(port, "GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.headers["content-type"]).toContain("text/plain");
    expect(metrics.body).toContain('belay_webhook_decisions_total{verdict="deny",operation="CREATE"}');
    expect(metrics.body).toContain('belay_webhook_denials_total{rule="pss-privileged"}');
    expect(metrics.body).toContain("belay_webhook_request_duration_seconds_bucket");
    expect(metrics.body).toContain('belay_webhook_bad_requests_total{status="413"} 1');
    expect((await send(port, "GET", "/nope")).status).toBe(404);
  });

  it("refuses TLS 1.1 clients and accepts TLS 1.2", async () => {
    const handshake = (maxVersion: "TLSv1.1" | "TLSv1.2") =>
      new Promise<string>((resolve) => {
        const socket = connect({
          host: "127.0.0.1",
          port,
          ca: cert,
          minVersion: "TLSv1",
          maxVersion,
          ciphers: "DEFAULT@SECLEVEL=0",
        });
        socket.on("secureConnect", () => {
          resolve(socket.getProtocol() ?? "");
          socket.end();
        });
        socket.on("error", (e) => resolve(`error: ${(e as NodeJS.ErrnoException).code}`));
      });
    expect(await handshake("TLSv1.1")).toMatch(/^error: /);
    expect(await handshake("TLSv1.2")).toBe("TLSv1.2");
  });
});

describe("construction", () => {
  it("lists every invalid option", () => {
    const created = createWebhookServer({
      tlsCert: "not a cert",
      tlsKey: "not a key",
      port: 70000,
      profiles: ["strict"],
      exemptNamespaces: ["Kube_System"],
      failureMode: "maybe",
      pssVersion: "1.30",
      decisionLog: { write: () => 0 },
      log: { write: () => 0 },
    });
    expect(created.ok).toBe(false);
    if (created.ok) return;
    expect(created.error.details?.map((d) => d.split(":")[0])).toEqual([
      "tls-cert/tls-key",
      "port",
      "profile",
      "pss-version",
      "exempt-namespaces",
      "failure-mode",
    ]);
  });

  it("parses the API server's timeout parameter", () => {
    expect(parseGoDuration("10s")).toBe(10_000);
    expect(parseGoDuration("1m30s")).toBe(90_000);
    expect(parseGoDuration("250ms")).toBe(250);
    expect(parseGoDuration("ten")).toBeUndefined();
    expect(parseGoDuration(undefined)).toBeUndefined();
    // The last answer is kept for the next request's identical text, and only for that text.
    expect(parseGoDuration("ten")).toBeUndefined();
    expect(parseGoDuration("10s")).toBe(10_000);
    expect(parseGoDuration("10s")).toBe(10_000);
    expect(parseGoDuration("1h")).toBe(3_600_000);
    expect(parseGoDuration("10ss")).toBeUndefined();
  });

  it("the command refuses to start and lists every problem", async () => {
    let stderr = "";
    const io = {
      stdout: { write: () => 0 },
      stderr: { write: (t: string) => (stderr += t) },
      readStdin: async () => "",
      isTTY: false,
      env: {},
      cwd: process.cwd(),
    };
    const program = new Command("belay").exitOverride();
    const state = { exitCode: 0 };
    registerWebhook(program, io, state);
    const missing = join(tmpdir(), "belay-no-such-dir", "k.pem");
    await expect(
      program.parseAsync(
        [
          "webhook",
          "--tls-key",
          missing,
          "--port",
          "x",
          "--profile",
          "nope",
          "--decision-log",
          "/nonexistent-dir/d.log",
        ],
        { from: "user" },
      ),
    ).rejects.toThrow(
      [
        "webhook not started:",
        "  --tls-cert is required",
        `  --tls-key: cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'`,
        '  --port: "x" is not a port number',
        "  --decision-log: cannot open /nonexistent-dir/d.log: ENOENT: no such file or directory, open '/nonexistent-dir/d.log'",
        '  profile: unknown "nope"; use pss-baseline, pss-restricted, hardening, all',
      ].join("\n"),
    );
    expect(stderr).toBe("");
  });

  it("the command serves until stopped and drains", async () => {
    const d = mkdtempSync(join(tmpdir(), "belay-webhook-cli-"));
    writeFileSync(join(d, "tls.crt"), cert);
    writeFileSync(join(d, "tls.key"), key);
    const webhook = await startWebhookCommand([
      ...["--tls-cert", join(d, "tls.crt"), "--tls-key", join(d, "tls.key")],
      ...["--port", "0", "--host", "127.0.0.1", "--decision-log", join(d, "decisions.log")],
    ]);
    const boundPort = webhook.port;
    const reply = await send(boundPort, "POST", "/validate", JSON.stringify(review("CREATE", pod("good"))));
    expect(JSON.parse(reply.body).response).toEqual({ uid: "uid-create-1", allowed: true });
    await webhook.stop();
    const lines = readFileSync(join(d, "decisions.log"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ uid: "uid-create-1", verdict: "allow" });
    rmSync(d, { recursive: true, force: true });
  });
});
