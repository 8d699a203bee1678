/**
 * A small JSON client for the API server of one kubeconfig context. It speaks plain paths
 * (`/api/v1/namespaces/x/pods?limit=500`) so listed objects stay exactly the JSON the API
 * server sent (the typed clients turn timestamps into Dates and drop unknown fields), and it
 * authenticates through `@kubernetes/client-node`'s KubeConfig (certificates, tokens, exec
 * plugins). This is an edge module: the core never imports it.
 */
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
  /** `method path` with an optional JSON body. Never throws. */
  send(method: string, path: string, body?: unknown): Promise<Result<KubeResponse>>;
  /** Close kept-alive connections. */
  close(): void;
}

/**
 * Load the kubeconfig the way kubectl does (`$KUBECONFIG`'s first file, else ~/.kube/config
 * or in-cluster) and select `context` (default: the current one). Never rejects: an unreadable
 * kubeconfig or an unknown context is a `usage` error.
 */
export async function loadKubeConfig(env: NodeJS.ProcessEnv, context?: string): Promise<Result<KubeConfig>> {
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
  if (context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === context))
      return err(appError("usage", `unknown context "${context}" in the kubeconfig`));
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentContext() || kc.getCurrentCluster() === null)
    return err(appError("usage", "the kubeconfig has no current context; give --context NAME"));
  return ok(kc);
}

/** A client for the kubeconfig's current context. Never throws. */
export function makeKubeClient(kc: KubeConfig, options: { maxSockets?: number } = {}): KubeClient {
  const cluster = kc.getCurrentCluster();
  const server = cluster?.server ?? "";
  const context = kc.getCurrentContext();
  let agent: Agent | undefined;
  let agentKey = "";
  return {
    context,
    server,
    async send(method, path, body) {
      try {
        const opts: {
          ca?: string | Buffer;
          cert?: string | Buffer;
          key?: string | Buffer;
          rejectUnauthorized?: boolean;
          headers?: Record<string, string>;
        } = {};
        // Per request: tokens from exec plugins and auth providers may be refreshed.
        await kc.applyToHTTPSOptions(opts);
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
          headers["content-type"] = "application/json";
          headers["content-length"] = String(Buffer.byteLength(text));
        }
        const url = new URL(path, server);
        const transport = url.protocol === "http:" ? (await import("node:http")).request : request;
        const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = transport(
            url,
            { method, headers, ...(url.protocol === "http:" ? {} : { agent }) },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (chunk: Buffer) => chunks.push(chunk));
              res.on("error", reject);
              res.on("end", () =>
                resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
              );
            },
          );
          req.setTimeout(60_000, () => req.destroy(new Error("no response within 60s")));
          req.on("error", reject);
          req.end(text);
        });
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
