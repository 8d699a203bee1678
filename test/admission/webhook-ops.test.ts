/**
 * Operations: certificate hot reload through the real command (files rotated on disk, a new
 * TLS connection sees the new certificate; a bad pair keeps the old one), and robustness of
 * the HTTP edge (invalid UTF-8, deep nesting, slow bodies, missing objects), each with its
 * status, body and log line.
 */
import { X509Certificate } from "node:crypto";
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:https";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_NESTING_DEPTH, mayNestDeeperThan, nestingDepth } from "../../src/admission/review.ts";
import {
  createWebhookServer,
  KEEP_ALIVE_TIMEOUT_MS,
  type WebhookServer,
} from "../../src/admission/server.ts";
import { lines, makeCert, pod, type RunningWebhook, review, send, startWebhookCommand } from "./support.ts";

/** SHA-256 fingerprint of the certificate a fresh TLS connection is served. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false, servername: "localhost" },
      () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? "");
        socket.end();
      },
    );
    socket.on("error", reject);
  });
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("certificate hot reload", () => {
  const first = makeCert();
  const second = makeCert(undefined, "second");
  const third = makeCert(undefined, "third");
  let stderr: string[] = [];
  let port = 0;
  let webhook: RunningWebhook | undefined;

  beforeAll(async () => {
    webhook = await startWebhookCommand(
      ["--tls-cert", first.certFile, "--tls-key", first.keyFile, "--port", "0", "--host", "127.0.0.1"],
      { certPollMs: 300 },
    );
    ({ port, stderr } = webhook);
  });
  afterAll(async () => {
    await webhook?.stop();
    for (const c of [first, second, third]) rmSync(c.dir, { recursive: true, force: true });
  });

  it("serves a rotated certificate to new connections without a restart", async () => {
    expect(await servedFingerprint(port)).toBe(fingerprint(first.cert));
    copyFileSync(second.keyFile, first.keyFile);
    copyFileSync(second.certFile, first.certFile);
    await until(async () => (await servedFingerprint(port)) === fingerprint(second.cert));
    expect(stderr.some((l) => l.includes('"event":"certificate reloaded"'))).toBe(true);
    // Still answers reviews, trusting the new certificate.
    const reply = await send(
      port,
      second.cert,
      "POST",
      "/validate",
      JSON.stringify(review("CREATE", pod("web"))),
    );
    expect(JSON.parse(reply.body).response).toEqual({ uid: "uid-create-1", allowed: true });
  });

  it("keeps the current certificate when the new pair does not match, and says so", async () => {
    writeFileSync(first.certFile, third.cert); // the key stays second's: not a pair
    await until(async () => stderr.some((l) => l.includes('"event":"certificate reload failed"')));
    const failure = JSON.parse(stderr.find((l) => l.includes("certificate reload failed")) as string);
    expect(failure.level).toBe("error");
    expect(failure.error).toMatch(
      /^tls-cert\/tls-key: not a usable certificate and key pair: .*; still serving the previous certificate$/,
    );
    expect(await servedFingerprint(port)).toBe(fingerprint(second.cert));
    // Completing the rotation (the matching key arrives) is picked up.
    copyFileSync(third.keyFile, first.keyFile);
    await until(async () => (await servedFingerprint(port)) === fingerprint(third.cert));
  });
});

describe("robustness of the HTTP edge", () => {
  const cert = makeCert();
  let server: WebhookServer;
  let port: number;
  const log = lines();
  beforeAll(async () => {
    const created = createWebhookServer({
      tlsCert: cert.cert,
      tlsKey: cert.key,
      port: 0,
      host: "127.0.0.1",
      requestTimeoutMs: 500,
      decisionLog: { write: () => 0 },
      log,
    });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    server = created.value;
    ({ port } = await server.listen());
  });
  afterAll(async () => {
    await server.close();
    rmSync(cert.dir, { recursive: true, force: true });
  });

  it("rejects invalid UTF-8 with 400", async () => {
    const body = Buffer.concat([
      Buffer.from('{"apiVersion":"admission.k8s.io/v1","x":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const reply = await send(port, cert.cert, "POST", "/validate", body);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({ error: "request body is not valid UTF-8" });
    expect(log.last()).toMatchObject({
      event: "request rejected",
      status: 400,
      error: "request body is not valid UTF-8",
    });
  });

  it("rejects objects nested deeper than the limit with 400, and evaluates deep but legal ones", async () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < MAX_NESTING_DEPTH + 5; i++) deep = { a: deep };
    const p = pod("deep");
    (p.metadata as Record<string, unknown>).annotations = {};
    const tooDeep = review("CREATE", { ...p, spec: { ...p.spec, overhead: deep } });
    const reply = await send(port, cert.cert, "POST", "/validate", JSON.stringify(tooDeep));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({
      error: `request body nests deeper than ${MAX_NESTING_DEPTH} levels`,
    });
    let legal: unknown = "leaf";
    for (let i = 0; i < MAX_NESTING_DEPTH - 20; i++) legal = [legal];
    const ok = await send(
      port,
      cert.cert,
      "POST",
      "/validate",
      JSON.stringify(review("CREATE", { ...p, spec: { ...p.spec, overhead: { x: legal } } })),
    );
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).response.uid).toBe("uid-create-1");
    expect(nestingDepth({ a: [1, { b: 2 }] })).toBe(3);
  });

  it("skips the depth walk only when the text has too few opening brackets to nest that deep", () => {
    expect(mayNestDeeperThan('{"a":[1,{"b":2}]}', 3)).toBe(false);
    expect(mayNestDeeperThan('{"a":[1,{"b":[2]}]}', 3)).toBe(true);
    // Brackets inside strings count too: an upper bound, so the walk decides.
    const inStrings = JSON.stringify({ text: "[".repeat(MAX_NESTING_DEPTH + 1) });
    expect(mayNestDeeperThan(inStrings, MAX_NESTING_DEPTH)).toBe(true);
    expect(nestingDepth(JSON.parse(inStrings))).toBe(1);
    expect(mayNestDeeperThan(JSON.stringify(review("CREATE", pod("p"))), MAX_NESTING_DEPTH)).toBe(false);
  });

  it("answers 408 to a body that does not arrive in time, and keeps serving", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, ca: cert.cert, servername: "localhost" }, () => {
        socket.write(
          'POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":',
        );
      });
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString("utf8")));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
    expect(answer.endsWith('{"error":"request not received within 500 ms"}')).toBe(true);
    expect(log.lines.some((l) => l.includes('"status":408'))).toBe(true);
    expect((await send(port, cert.cert, "GET", "/healthz")).status).toBe(200);
  });

  it("keeps an idle connection open longer than the API server's client does (90 s)", async () => {
    // The client must be the one to close an idle connection: a server that closes first can
    // race a request the client is just sending on it. Node announces its idle timeout.
    const reply = await send(
      port,
      cert.cert,
      "GET",
      "/healthz",
      undefined,
      "application/json",
      new Agent({ keepAlive: true }),
    );
    expect(reply.headers["keep-alive"]).toBe(`timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}`);
    expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(90_000);
  });

  it("rejects a CREATE without an object with 400", async () => {
    const reply = await send(port, cert.cert, "POST", "/validate", JSON.stringify(review("CREATE", null)));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toEqual({
      error: "invalid AdmissionReview: request.object is missing for CREATE",
    });
  });

  it("answers a huge but legal object", async () => {
    const p = pod("big");
    (p.metadata as Record<string, unknown>).annotations = Object.fromEntries(
      Array.from({ length: 20_000 }, (_, i) => [`example.com/k${i}`, "v".repeat(100)]),
    );
    const body = JSON.stringify(review("CREATE", p));
    expect(body.length).toBeGreaterThan(2_000_000);
    const reply = await send(port, cert.cert, "POST", "/validate", body);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).response).toEqual({ uid: "uid-create-1", allowed: true });
  });
});
