/**
 * A small JSON client for the API server of one kubeconfig context. It speaks plain paths
 * (`/api/v1/namespaces/x/pods?limit=500`) so listed objects stay exactly the JSON the API
 * server sent (the typed clients turn timestamps into Dates and drop unknown fields), and it
 * authenticates through `@kubernetes/client-node`'s KubeConfig (certificates, tokens, exec
 * plugins). This is an edge module: the core never imports it.
 */
import type { IncomingMessage } from "node:http";
import { Agent, request } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { appError, err, ok, type Result } from "../result.ts";

/** A response: status and parsed JSON body (undefined when the body is not JSON). */
export interface KubeResponse {
  status: number;
  body: unknown;
}

/** Talks to one cluster. `send` resolves with any HTTP status; transport failures are errors. */
export interface KubeClient {
  /** The kubeconfig context's name, for messages. */
  readonly context: string;
  /** The API server URL. */
  readonly server: string;
  /**
   * `method path` with an optional body, sent as JSON (`contentType` names the patch flavour,
   * e.g. `application/apply-patch+yaml`, of which JSON is a valid form). Never throws.
   */
  send(method: string, path: string, body?: unknown, contentType?: string): Promise<Result<KubeResponse>>;
  /**
   * `GET path` on a connection of its own (not the pooled keep-alive ones, which long-lived
   * watches would starve), resolving once the response headers arrive. The body is the
   * response stream: read it to its end or abort `signal`, which destroys the connection.
   * Transport failures are errors. Never throws. Optional so that test doubles of
   * request/response clients need not implement it; {@link makeKubeClient}'s has it.
   */
  stream?(path: string, signal: AbortSignal): Promise<Result<KubeStreamResponse>>;
  /** Close kept-alive connections. */
  close(): void;
}

/** A streamed response (see {@link KubeClient.stream}). */
export interface KubeStreamResponse {
  status: number;
  body: AsyncIterable<Buffer>;
}

/** The kubeconfig as kubectl finds it, no context selected. Never rejects: unreadable is a `usage` error. */
async function readKubeConfig(env: NodeJS.ProcessEnv): Promise<Result<KubeConfig>> {
  // Loaded on use: the client library costs ~60 MB and startup time that scan never needs.
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  try {
    const path = env.KUBECONFIG?.split(":").find((p) => p !== "");
    if (path !== undefined) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (e) {
    return err(appError("usage", `cannot load kubeconfig: ${e instanceof Error ? e.message : String(e)}`));
  }
  return ok(kc);
}

/** The names of every context in the kubeconfig, sorted. Never rejects. */
export async function listKubeContexts(env: NodeJS.ProcessEnv): Promise<Result<string[]>> {
  const read = await readKubeConfig(env);
  if (!read.ok) return read;
  return ok(
    read.value
      .getContexts()
      .map((c) => c.name)
      .sort(),
  );
}

/**
 * Load the kubeconfig the way kubectl does (`$KUBECONFIG`'s first file, else ~/.kube/config
 * or in-cluster) and select `context` (default: the current one). Never rejects: an unreadable
 * kubeconfig or an unknown context is a `usage` error.
 */
export async function loadKubeConfig(env: NodeJS.ProcessEnv, context?: string): Promise<Result<KubeConfig>> {
  const read = await readKubeConfig(env);
  if (!read.ok) return read;
  const kc = read.value;
  if (context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === context))
      return err(appError("usage", `unknown context "${context}" in the kubeconfig`));
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentContext() || kc.getCurrentCluster() === null)
    return err(appError("usage", "the kubeconfig has no current context; give --context NAME"));
  return ok(kc);
}

const MAX_429_RETRIES = 5;

/** Delay before retrying a 429: the `Retry-After` seconds (capped at 10), else 0.5 s doubling. */
export function retryDelayMs(retryAfter: string | undefined, attempt: number): number {
  const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (seconds !== undefined) return Math.min(Math.max(seconds, 0.1), 10) * 1000;
  return Math.min(500 * 2 ** (attempt - 1), 8000);
}

/** A client for the kubeconfig's current context. Never throws; retries 429 answers (at most 5 times). */
export function makeKubeClient(kc: KubeConfig, options: { maxSockets?: number } = {}): KubeClient {
  const cluster = kc.getCurrentCluster();
  const server = cluster?.server ?? "";
  const context = kc.getCurrentContext();
  let agent: Agent | undefined;
  let agentKey = "";
  const tlsOptions = async () => {
    const opts: {
      ca?: string | Buffer;
      cert?: string | Buffer;
      key?: string | Buffer;
      rejectUnauthorized?: boolean;
      headers?: Record<string, string>;
    } = {};
    await kc.applyToHTTPSOptions(opts);
    return opts;
  };
  return {
    context,
    server,
    async send(method, path, body, contentType) {
      try {
        // Per request: tokens from exec plugins and auth providers may be refreshed.
        const opts = await tlsOptions();
        const key = `${String(opts.ca)}|${String(opts.cert)}|${String(opts.key)}|${opts.rejectUnauthorized}`;
        if (!agent || key !== agentKey) {
          agent?.destroy();
          agent = new Agent({
            keepAlive: true,
            maxSockets: options.maxSockets ?? 8,
            ...(opts.ca === undefined ? {} : { ca: opts.ca }),
            ...(opts.cert === undefined ? {} : { cert: opts.cert }),
            ...(opts.key === undefined ? {} : { key: opts.key }),
            ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
          });
          agentKey = key;
        }
        const text = body === undefined ? undefined : JSON.stringify(body);
        const headers: Record<string, string> = { ...(opts.headers ?? {}), accept: "application/json" };
        if (text !== undefined) {
          headers["content-type"] = contentType ?? "application/json";
          headers["content-length"] = String(Buffer.byteLength(text));
        }
        const url = new URL(path, server);
        const transport = url.protocol === "http:" ? (await import("node:http")).request : request;
        const once = () =>
          new Promise<{ status: number; text: string; retryAfter: string | undefined }>((resolve, reject) => {
            const req = transport(
              url,
              { method, headers, ...(url.protocol === "http:" ? {} : { agent }) },
              (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (chunk: Buffer) => chunks.push(chunk));
                res.on("error", reject);
                res.on("end", () =>
                  resolve({
                    status: res.statusCode ?? 0,
                    text: Buffer.concat(chunks).toString("utf8"),
                    retryAfter: res.headers["retry-after"],
                  }),
                );
              },
            );
            req.setTimeout(60_000, () => req.destroy(new Error("no response within 60s")));
            req.on("error", reject);
            req.end(text);
          });
        let response = await once();
        // 429 means the API server did not process the request (priority and fairness, or
        // storage still initialising right after a CRD is established): retry after the
        // delay it asks for, as client-go does, a bounded number of times.
        for (let attempt = 1; response.status === 429 && attempt <= MAX_429_RETRIES; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs(response.retryAfter, attempt)));
          response = await once();
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(response.text);
        } catch {
          parsed = undefined;
        }
        return ok({ status: response.status, body: parsed });
      } catch (e) {
        return err(
          appError(
            "input",
            `cannot reach the API server of context "${context}" (${server}): ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
      }
    },
    async stream(path, signal) {
      try {
        const opts = await tlsOptions();
        const url = new URL(path, server);
        const secure = url.protocol !== "http:";
        const transport = secure ? request : (await import("node:http")).request;
        const headers: Record<string, string> = { ...(opts.headers ?? {}), accept: "application/json" };
        const response = await new Promise<IncomingMessage>((resolve, reject) => {
          const req = transport(
            url,
            {
              method: "GET",
              headers,
              signal,
              ...(secure
                ? {
                    agent: false,
                    ...(opts.ca === undefined ? {} : { ca: opts.ca }),
                    ...(opts.cert === undefined ? {} : { cert: opts.cert }),
                    ...(opts.key === undefined ? {} : { key: opts.key }),
                    ...(opts.rejectUnauthorized === undefined
                      ? {}
                      : { rejectUnauthorized: opts.rejectUnauthorized }),
                  }
                : {}),
            },
            (res) => {
              // Headers arrived: from now on the caller's idle timer decides.
              req.setTimeout(0);
              resolve(res);
            },
          );
          // A dead peer (network partition) is noticed through TCP keepalive probes.
          req.on("socket", (socket) => socket.setKeepAlive(true, 30_000));
          req.setTimeout(30_000, () => req.destroy(new Error("no response within 30s")));
          req.on("error", reject);
          req.end();
        });
        return ok({ status: response.statusCode ?? 0, body: response });
      } catch (e) {
        return err(
          appError(
            "input",
            `cannot reach the API server of context "${context}" (${server}): ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
      }
    },
    close() {
      agent?.destroy();
      agent = undefined;
    },
  };
}

/** The `message` of a Kubernetes Status body, or `HTTP <status>`. */
export function statusMessage(response: KubeResponse): string {
  const body = response.body;
  if (
    body !== null &&
    typeof body === "object" &&
    typeof (body as { message?: unknown }).message === "string"
  )
    return `${(body as { message: string }).message} (HTTP ${response.status})`;
  return `HTTP ${response.status}`;
}
