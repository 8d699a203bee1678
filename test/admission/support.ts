/**
 * Shared pieces of the webhook tests: certificates made with openssl, an HTTPS client that
 * trusts them, a compliant pod, and AdmissionReview bodies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { type Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { selfSignedCert } from "../../bench/lib/webhook-process.ts";
import { registerWebhook } from "../../src/cli/webhook.ts";

/** A self-signed P-256 certificate for 127.0.0.1/localhost, written to `dir` (a new temp dir by default). */
export function makeCert(dir = mkdtempSync(join(tmpdir(), "belay-wh-")), cn = "localhost") {
  const { certFile, keyFile, certPem } = selfSignedCert(dir, cn);
  return { dir, certFile, keyFile, cert: certPem, key: readFileSync(keyFile, "utf8") };
}

/** An HTTP reply. */
export interface Reply {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** One HTTPS request trusting `ca` (through `agent` when given, to control the connections). */
export function send(
  port: number,
  ca: string,
  method: string,
  path: string,
  body?: string | Buffer,
  contentType = "application/json",
  agent?: Agent,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        ca,
        headers: body !== undefined ? { "content-type": contentType } : {},
        ...(agent ? { agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const SHA = `sha256:${"a".repeat(64)}`;

/** A pod that passes every built-in rule, with `container` and `spec` merged in. */
export function pod(
  name: string,
  container: Record<string, unknown> = {},
  spec: Record<string, unknown> = {},
) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name } as Record<string, unknown>,
    spec: {
      serviceAccountName: "app",
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "app",
          image: `registry.example.com/app@${SHA}`,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
          resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
          livenessProbe: { httpGet: { path: "/", port: 8080 } },
          readinessProbe: { httpGet: { path: "/", port: 8080 } },
          ...container,
        },
      ],
      ...spec,
    } as Record<string, unknown>,
  };
}

/** An AdmissionReview for a pod request in `team-a` by alice. */
export function review(operation: string, object: unknown, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `uid-${operation.toLowerCase()}-1`,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      namespace: "team-a",
      name: (object as { metadata?: { name?: string } } | null)?.metadata?.name ?? "",
      operation,
      userInfo: { username: "alice", groups: ["dev", "system:authenticated"] },
      object: operation === "DELETE" ? null : object,
      oldObject: operation === "DELETE" ? object : null,
      dryRun: false,
      ...extra,
    },
  };
}

/** A LineWriter that keeps lines. */
export function lines(): { write(line: string): number; lines: string[]; last(): Record<string, unknown> } {
  const kept: string[] = [];
  return {
    lines: kept,
    write: (line: string) => kept.push(line),
    last: () => JSON.parse(kept.at(-1) ?? "null") as Record<string, unknown>,
  };
}

/** `belay webhook` started in this process by {@link startWebhookCommand}. */
export interface RunningWebhook {
  /** The bound port. */
  port: number;
  /** What the command wrote, one entry per write. */
  stdout: string[];
  stderr: string[];
  /** Send SIGTERM, wait for the command to end; resolves with its exit code. */
  stop(): Promise<number>;
}

/**
 * Run `belay webhook ARGS` in this process (no fork) until `stop()`; resolves once it listens,
 * rejects if it fails before. `env` is the command's environment (KUBECONFIG…).
 */
export async function startWebhookCommand(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; certPollMs?: number } = {},
): Promise<RunningWebhook> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let signal: (s: string) => void = () => {};
  const stopSignal = new Promise<string>((resolve) => (signal = resolve));
  const state = { exitCode: -1 };
  let port = 0;
  let ended: Promise<unknown> = Promise.resolve();
  await new Promise<void>((resolve, reject) => {
    const program = new Command("belay").exitOverride();
    registerWebhook(
      program,
      {
        stdout: { write: (t: string) => stdout.push(t) },
        stderr: { write: (t: string) => stderr.push(t) },
        readStdin: async () => "",
        isTTY: false,
        env: options.env ?? {},
        cwd: process.cwd(),
      },
      state,
      {
        stopSignal,
        ...(options.certPollMs !== undefined ? { certPollMs: options.certPollMs } : {}),
        onListening: (p) => {
          port = p;
          resolve();
        },
      },
    );
    ended = program.parseAsync(["webhook", ...args], { from: "user" }).catch(reject);
  });
  return {
    port,
    stdout,
    stderr,
    async stop() {
      signal("SIGTERM");
      await ended;
      return state.exitCode;
    },
  };
}
