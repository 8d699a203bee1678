/**
 * One shard of the webhook fuzz (webhook-fuzz.test.ts runs several in worker threads, each
 * with its own server, so the 100,000 requests use every core). Generates random and
 * mutated AdmissionReviews from a seed, sends them through the server's whole handler chain
 * (`inject`) and checks every answer. Run in a worker it reads `workerData` and posts its
 * {@link ShardResult}; an uncaught error ends the worker, which the test reports.
 */

import { rmSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { createWebhookServer } from "../../src/admission/server.ts";
import { loadPolicySet } from "../../src/engine/policies.ts";
import { parseStream } from "../../src/resources/parse.ts";
import { makeCert, pod, review } from "./support.ts";

/** mulberry32: small, fast, good enough to explore inputs, and replayable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POLICIES = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: labels}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}
  variables:
    - name: labels
      expression: "object.metadata.?labels.orValue({})"
  validations:
    - expression: "!('bad' in variables.labels)"
      messageExpression: "'label bad=' + string(variables.labels['bad'])"
    - expression: "object.?spec.?replicas.orValue(1) < 50"
      message: "too many replicas"
  auditAnnotations:
    - key: user
      valueExpression: "request.userInfo.username"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: labels}
spec:
  policyName: labels
  validationActions: [Deny, Audit]
`;

const SHAPES = [
  () => pod("good"),
  () => pod("bad", { securityContext: { privileged: true } }),
  () => {
    const p = pod("nosa");
    delete p.spec.serviceAccountName;
    return p;
  },
  () => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web" } },
    spec: { replicas: 3, template: { metadata: { labels: { app: "web" } }, spec: pod("x").spec } },
  }),
  () => ({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "cron" },
    spec: {
      schedule: "* * * * *",
      jobTemplate: { spec: { template: { spec: { containers: [{ name: "a", image: "a" }] } } } },
    },
  }),
  () => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: "dmFsdWU=" } }),
  () => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "ns", labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
  }),
  () => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "r" },
    rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
  }),
  () => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "svc" },
    spec: { type: "NodePort", ports: [{ port: 80 }] },
  }),
];

const STRINGS = [
  "",
  "a",
  "CREATE",
  "DELETE",
  "CONNECT",
  "UPDATE",
  "Pod",
  "v1",
  "💥",
  "\u0000",
  "x".repeat(300),
  "true",
  "-1",
  "{",
  "default",
  "kube-system",
];

function generator(random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const value = (depth: number): unknown => {
    switch (int(depth > 3 ? 6 : 9)) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return pick([0, -1, 1.5, 2 ** 53, 1e308, -0, 65536]);
      case 3:
      case 4:
        return pick(STRINGS);
      case 5:
        return String.fromCodePoint(...Array.from({ length: int(8) }, () => int(0x2ffff)));
      case 6:
        return Array.from({ length: int(4) }, () => value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = int(4); i > 0; i--)
          o[pick(["a", "metadata", "spec", "name", "labels", "containers", "kind"])] = value(depth + 1);
        return o;
      }
    }
  };
  /** Every path to a value in `node` (objects and arrays only). */
  const paths = (node: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) => {
    if (typeof node !== "object" || node === null || out.length > 400) return out;
    for (const [k, v] of Object.entries(node)) {
      const path = [...prefix, k];
      out.push(path);
      paths(v, path, out);
    }
    return out;
  };
  const mutate = (root: Record<string, unknown>): void => {
    const all = paths(root);
    if (all.length === 0) return;
    const path = pick(all);
    let parent: Record<string | number, unknown> = root;
    for (const segment of path.slice(0, -1)) {
      const child = parent[segment];
      if (typeof child !== "object" || child === null) return;
      parent = child as Record<string | number, unknown>;
    }
    const last = path.at(-1) as string | number;
    const roll = int(8);
    if (roll < 3) delete parent[last];
    else if (roll < 6) parent[last] = value(0);
    else if (roll === 6) parent[last] = structuredClone(root.request ?? null);
    else parent[pick(["extra", "metadata", "spec", "uid", "object", "operation"])] = value(1);
  };
  const reviewBody = (): Record<string, unknown> => {
    const operation = pick(["CREATE", "CREATE", "UPDATE", "DELETE", "CONNECT"]);
    const object = pick(SHAPES)();
    const body = review(operation, object, {
      uid: `uid-${int(1e9)}`,
      namespace: pick(["team-a", "kube-system", "", "policed"]),
      kind: { group: "", version: "v1", kind: object.kind },
      ...(operation === "UPDATE" ? { oldObject: pick(SHAPES)() } : {}),
      ...(operation === "CONNECT"
        ? { subResource: "exec", object: { kind: "PodExecOptions", command: ["sh"] } }
        : {}),
      dryRun: random() < 0.2,
    }) as Record<string, unknown>;
    for (let i = int(4); i > 0; i--) mutate(body);
    return body;
  };
  /** One request: body bytes, content type, path and query. */
  return (): { url: string; contentType: string; body: Buffer; uid: unknown } => {
    const kind = random();
    let json: unknown;
    if (kind < 0.75) json = reviewBody();
    else if (kind < 0.85) json = value(0);
    else json = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: value(0) };
    let text = JSON.stringify(json) ?? "null";
    let body = Buffer.from(text);
    const damage = random();
    if (damage < 0.04)
      body = body.subarray(0, int(body.length + 1)); // truncated
    else if (damage < 0.07) {
      body = Buffer.from(body);
      if (body.length > 0) body[int(body.length)] = int(256); // one byte flipped (maybe invalid UTF-8)
    } else if (damage < 0.08) {
      text = "[".repeat(1500 + int(500));
      body = Buffer.from(text);
    }
    let uid = (json as { request?: { uid?: unknown } } | null)?.request?.uid;
    if (damage < 0.08) {
      // The damage may have hit the uid: the server sees the damaged bytes.
      try {
        uid = (JSON.parse(body.toString("utf8")) as { request?: { uid?: unknown } } | null)?.request?.uid;
      } catch {
        uid = undefined;
      }
    }
    return {
      url: `${random() < 0.1 ? "/mutate" : "/validate"}${pick(["", "", "?timeout=10s", "?timeout=1ns", "?timeout=abc", "?timeout="])}`,
      contentType:
        random() < 0.02
          ? pick(["text/plain", "application/json; charset=utf-8", "application/yaml"])
          : "application/json",
      body,
      uid,
    };
  };
}

const QUALIFIED = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why an answer is not acceptable, or undefined. */
function problem(status: number, text: string, uid: unknown): string | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (status !== 200) {
    if (![400, 408, 413, 415].includes(status)) return `status ${status}: ${text.slice(0, 300)}`;
    return typeof body.error === "string" && Object.keys(body).length === 1
      ? undefined
      : `bad error body ${text}`;
  }
  if (body.apiVersion !== "admission.k8s.io/v1" || body.kind !== "AdmissionReview")
    return `not an AdmissionReview: ${text.slice(0, 200)}`;
  const r = body.response as Record<string, unknown> | undefined;
  if (!r || typeof r.allowed !== "boolean") return `no response.allowed: ${text.slice(0, 200)}`;
  if (r.uid !== uid) return `uid ${JSON.stringify(r.uid)} is not the request's ${JSON.stringify(uid)}`;
  if (!r.allowed) {
    const s = r.status as { code?: unknown; message?: unknown } | undefined;
    if (typeof s?.code !== "number" || typeof s.message !== "string" || s.message === "")
      return `denial without status: ${text.slice(0, 200)}`;
  }
  if (r.warnings !== undefined) {
    if (!Array.isArray(r.warnings) || r.warnings.some((w) => typeof w !== "string" || [...w].length > 256))
      return `bad warnings: ${JSON.stringify(r.warnings).slice(0, 300)}`;
  }
  if (r.auditAnnotations !== undefined) {
    for (const [k, v] of Object.entries(r.auditAnnotations as Record<string, unknown>))
      if (!QUALIFIED.test(k) || typeof v !== "string") return `bad audit annotation ${k}`;
  }
  if (r.patch !== undefined) {
    if (r.patchType !== "JSONPatch") return "patch without patchType JSONPatch";
    const ops = JSON.parse(Buffer.from(r.patch as string, "base64").toString("utf8")) as unknown;
    if (!Array.isArray(ops) || ops.length === 0) return "empty or non-array patch";
  }
  return undefined;
}

/** What one shard saw. */
export interface ShardResult {
  statuses: Record<number, number>;
  /** At most 10, each with the request number, the seed and the body's start. */
  failures: string[];
  /** Unhandled rejections and uncaught exceptions in the shard's thread. */
  unhandled: string[];
  /** Operational log lines at level error. */
  errorLogs: string[];
  healthz: number;
}

/** Send `count` generated requests (stream `shard` of `seed`) to a fresh server. */
export async function runShard(seed: number, shard: number, count: number): Promise<ShardResult> {
  const unhandled: string[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(String((e as Error)?.stack ?? e));
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
  const cert = makeCert();
  const logs: string[] = [];
  const policies = loadPolicySet(parseStream(POLICIES, "p.yaml").resources);
  if (policies.errors.length > 0) throw new Error(JSON.stringify(policies.errors));
  const created = createWebhookServer({
    tlsCert: cert.cert,
    tlsKey: cert.key,
    port: 0,
    host: "127.0.0.1",
    policies: policies.set,
    mutate: true,
    bodyLimit: 256 * 1024,
    actions: { "liveness-probe": "audit" },
    decisionLog: { write: () => 0 },
    log: { write: (l: string) => logs.push(l) },
  });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  const server = created.value;
  const next = generator(prng((seed + Math.imul(shard, 0x9e3779b1)) >>> 0));
  const statuses: Record<number, number> = {};
  const failures: string[] = [];
  const BATCH = 64;
  try {
    for (let sent = 0; sent < count; sent += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, count - sent) }, next);
      const replies = await Promise.all(
        batch.map((r) =>
          server.inject({
            method: "POST",
            url: r.url,
            headers: { "content-type": r.contentType },
            body: r.body,
          }),
        ),
      );
      replies.forEach((reply, i) => {
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
        const why = problem(reply.status, reply.body, batch[i]?.uid);
        if (why !== undefined && failures.length < 10)
          failures.push(
            `shard ${shard} request ${sent + i} (seed ${seed}): ${why}\n  body: ${batch[i]?.body.toString("utf8").slice(0, 300)}`,
          );
      });
    }
    const healthz = (await server.inject({ method: "GET", url: "/healthz" })).status;
    return {
      statuses,
      failures,
      unhandled,
      errorLogs: logs.filter((l) => l.includes('"level":"error"')),
      healthz,
    };
  } finally {
    await server.close();
    rmSync(cert.dir, { recursive: true, force: true });
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtException", onUnhandled);
  }
}

if (parentPort && workerData?.fuzzShard !== undefined) {
  const { seed, shard, count } = workerData as {
    seed: number;
    shard: number;
    count: number;
    fuzzShard: true;
  };
  parentPort.postMessage(await runShard(seed, shard, count));
}
