/**
 * `/mutate` safe defaults: the exact JSON Patch per kind, never overriding a set value,
 * skipping what the API server would reject; and the endpoint over HTTPS.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { patchedFields, safeDefaultsPatch } from "../../src/admission/mutate.ts";
import { createWebhookServer, type WebhookServer } from "../../src/admission/server.ts";
import { lines, makeCert, review, send } from "./support.ts";

const bare = (extra: Record<string, unknown> = {}) => ({
  containers: [{ name: "app", image: "app" }],
  ...extra,
});

describe("safeDefaultsPatch", () => {
  it("adds the pod seccomp profile and allowPrivilegeEscalation=false where unset", () => {
    const ops = safeDefaultsPatch({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: bare({
        initContainers: [{ name: "init", image: "i", securityContext: { runAsUser: 1000 } }],
      }),
    });
    expect(ops).toEqual([
      { op: "add", path: "/spec/securityContext", value: { seccompProfile: { type: "RuntimeDefault" } } },
      { op: "add", path: "/spec/initContainers/0/securityContext/allowPrivilegeEscalation", value: false },
      { op: "add", path: "/spec/containers/0/securityContext", value: { allowPrivilegeEscalation: false } },
    ]);
    expect(patchedFields(ops)).toEqual([
      "spec.securityContext.seccompProfile",
      "spec.initContainers[0].securityContext.allowPrivilegeEscalation",
      "spec.containers[0].securityContext.allowPrivilegeEscalation",
    ]);
  });

  it("never changes a value the user set", () => {
    expect(
      safeDefaultsPatch({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        spec: {
          securityContext: { seccompProfile: { type: "Unconfined" } },
          containers: [{ name: "a", image: "a", securityContext: { allowPrivilegeEscalation: true } }],
        },
      }),
    ).toEqual([]);
  });

  it("skips what the API server would reject: privileged or SYS_ADMIN containers, Windows pods", () => {
    const ops = safeDefaultsPatch({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        securityContext: {},
        containers: [
          { name: "priv", image: "a", securityContext: { privileged: true } },
          { name: "admin", image: "a", securityContext: { capabilities: { add: ["SYS_ADMIN"] } } },
        ],
      },
    });
    expect(ops).toEqual([
      { op: "add", path: "/spec/securityContext/seccompProfile", value: { type: "RuntimeDefault" } },
    ]);
    expect(
      safeDefaultsPatch({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "w" },
        spec: bare({ os: { name: "windows" } }),
      }),
    ).toEqual([]);
  });

  it("leaves a pod with the deprecated seccomp annotation without a profile field", () => {
    const ops = safeDefaultsPatch({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", annotations: { "seccomp.security.alpha.kubernetes.io/pod": "localhost/x" } },
      spec: bare(),
    });
    expect(ops.map((o) => o.path)).toEqual(["/spec/containers/0/securityContext"]);
  });

  it("patches the pod template of workloads, including CronJobs", () => {
    const deployment = safeDefaultsPatch({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { template: { metadata: {}, spec: bare() } },
    });
    expect(deployment.map((o) => o.path)).toEqual([
      "/spec/template/spec/securityContext",
      "/spec/template/spec/containers/0/securityContext",
    ]);
    const cron = safeDefaultsPatch({
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "c" },
      spec: { jobTemplate: { spec: { template: { spec: bare() } } } },
    });
    expect(cron.map((o) => o.path)).toEqual([
      "/spec/jobTemplate/spec/template/spec/securityContext",
      "/spec/jobTemplate/spec/template/spec/containers/0/securityContext",
    ]);
  });

  it("ignores other kinds and malformed specs", () => {
    expect(
      safeDefaultsPatch({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: {} }),
    ).toEqual([]);
    expect(safeDefaultsPatch({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: "x" })).toEqual(
      [],
    );
    expect(safeDefaultsPatch({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } })).toEqual(
      [],
    );
    expect(
      safeDefaultsPatch({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        spec: { containers: [null, 3] },
      }),
    ).toEqual([
      { op: "add", path: "/spec/securityContext", value: { seccompProfile: { type: "RuntimeDefault" } } },
    ]);
  });
});

describe("POST /mutate", () => {
  const cert = makeCert();
  let server: WebhookServer;
  let port: number;
  const decisions = lines();
  beforeAll(async () => {
    const created = createWebhookServer({
      tlsCert: cert.cert,
      tlsKey: cert.key,
      port: 0,
      host: "127.0.0.1",
      mutate: true,
      decisionLog: decisions,
      log: { write: () => 0 },
    });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    server = created.value;
    ({ port } = await server.listen());
  });
  afterAll(async () => {
    await server.close();
    rmSync(cert.dir, { recursive: true, force: true });
  });
  const mutate = async (body: unknown) =>
    JSON.parse((await send(port, cert.cert, "POST", "/mutate", JSON.stringify(body))).body).response;
  const p = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: bare() };

  it("answers a base64 JSON Patch on CREATE", async () => {
    const response = await mutate(review("CREATE", p));
    expect(response.uid).toBe("uid-create-1");
    expect(response.allowed).toBe(true);
    expect(response.patchType).toBe("JSONPatch");
    expect(JSON.parse(Buffer.from(response.patch, "base64").toString("utf8"))).toEqual(safeDefaultsPatch(p));
    expect(decisions.last()).toMatchObject({ endpoint: "mutate", verdict: "allow", name: "p" });
  });

  it("does not patch a pod UPDATE, a subresource, or an exempt namespace", async () => {
    expect(await mutate(review("UPDATE", p, { oldObject: p }))).toEqual({
      uid: "uid-update-1",
      allowed: true,
    });
    expect(await mutate(review("CREATE", p, { subResource: "status" }))).toEqual({
      uid: "uid-create-1",
      allowed: true,
    });
    expect(await mutate(review("CREATE", p, { namespace: "kube-system" }))).toEqual({
      uid: "uid-create-1",
      allowed: true,
    });
  });

  it("counts mutations", async () => {
    expect(await server.metrics.metrics()).toContain(
      'belay_webhook_mutations_total{kind="Pod",result="patched"}',
    );
  });

  it("is not served unless enabled", async () => {
    const created = createWebhookServer({
      tlsCert: cert.cert,
      tlsKey: cert.key,
      port: 0,
      host: "127.0.0.1",
      decisionLog: { write: () => 0 },
      log: { write: () => 0 },
    });
    if (!created.ok) throw new Error("invalid");
    const { port: other } = await created.value.listen();
    try {
      const reply = await send(other, cert.cert, "POST", "/mutate", JSON.stringify(review("CREATE", p)));
      expect(reply.status).toBe(404);
      expect(JSON.parse(reply.body)).toEqual({ error: "no route POST /mutate" });
    } finally {
      await created.value.close();
    }
  });
});
