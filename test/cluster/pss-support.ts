/**
 * Shared pieces of the fidelity suites that hold belay's offline Pod Security verdicts
 * against a real kube-apiserver (pss-fidelity.test.ts, yaml-fidelity.test.ts):
 *
 * - belay's side: the PSS rules of a level at a version, selected exactly as the offline
 *   oracle over upstream's fixtures selects them (test/pss-upstream.test.ts), and their
 *   findings on a parsed object;
 * - the server's side: raw HTTPS requests with the admin client certificate (keep-alive,
 *   any content type, the body and warnings as sent back), the classification of a
 *   create's outcome, and a bounded-concurrency map to send thousands of them.
 */

import { Agent, request } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { makeRuleContext } from "../../src/engine/context.ts";
import type { PssLevel } from "../../src/findings/finding.ts";
import { parseStream } from "../../src/resources/parse.ts";
import { formatPath } from "../../src/resources/path.ts";
import type { Resource } from "../../src/resources/types.ts";
import { PSS_RULES } from "../../src/rules/pss/index.ts";
import type { PssVersion, Rule } from "../../src/rules/rule.ts";

// ---------------------------------------------------------------------------------------
// belay's verdict

/**
 * The rules upstream pod-security-admission runs for `level` at `version`: baseline rules
 * for baseline, baseline and restricted rules for restricted; only rules that exist at
 * `version`; minus the baseline rules a selected restricted rule supersedes there.
 */
export function pssRulesFor(level: PssLevel, version: PssVersion): Rule[] {
  const selected = PSS_RULES.filter(
    (rule) =>
      (level === "restricted" || rule.meta.frameworks.pss?.level === "baseline") &&
      (rule.appliesAt?.(version) ?? true),
  );
  const superseded = new Set(selected.flatMap((rule) => rule.supersedes?.(version) ?? []));
  return selected.filter((rule) => !superseded.has(rule.meta.id));
}

/** One violation belay reports: the rule, the field and the message. */
export interface PssFinding {
  ruleId: string;
  path: string;
  message: string;
}

/** Runs `rules` at `version` on `resource` (evaluated alone, as admission sees it). */
export function pssFindings(resource: Resource, rules: readonly Rule[], version: PssVersion): PssFinding[] {
  const context = makeRuleContext([resource], version);
  return rules.flatMap((rule) =>
    rule
      .check(resource, context)
      .map((v) => ({ ruleId: rule.meta.id, path: formatPath(v.path), message: v.message })),
  );
}

/** Parses `text` (one object, as belay reads files); throws unless it is exactly one object. */
export function parseOne(text: string, file: string): Resource {
  const { resources, errors } = parseStream(text, file);
  const [resource] = resources;
  if (errors.length > 0 || resources.length !== 1 || resource === undefined) {
    throw new Error(
      `${file}: expected one object, got ${resources.length} and errors ${JSON.stringify(errors)}`,
    );
  }
  return resource;
}

/** Renders findings one per line, indented, for failure reports. */
export function formatFindings(findings: readonly PssFinding[]): string {
  return findings.length === 0
    ? "    (none)"
    : findings.map((f) => `    ${f.ruleId} ${f.path}: ${f.message}`).join("\n");
}

// ---------------------------------------------------------------------------------------
// The server's verdict

/** A response to a raw request: status, body (text) and `Warning` headers. */
export interface RawResponse {
  status: number;
  body: string;
  warnings: string[];
}

/** Sends raw HTTPS requests to an API server as the kubeconfig's user. */
export interface RawClient {
  /** `method path` with `body` of `contentType`; resolves with any status (never throws on 4xx/5xx). */
  send(method: string, path: string, body?: string, contentType?: string): Promise<RawResponse>;
  /** Closes the kept-alive connections. */
  close(): void;
}

/**
 * A raw client for the kubeconfig's current cluster and user (client certificate or
 * token), with keep-alive connections: thousands of small requests reuse a few sockets.
 */
export async function rawClient(kc: KubeConfig, maxSockets = 32): Promise<RawClient> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new Error("the kubeconfig has no current cluster");
  const options: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; headers?: object } =
    {};
  await kc.applyToHTTPSOptions(options);
  const agent = new Agent({
    keepAlive: true,
    maxSockets,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.cert === undefined ? {} : { cert: options.cert }),
    ...(options.key === undefined ? {} : { key: options.key }),
  });
  const baseHeaders = (options.headers ?? {}) as Record<string, string>;
  return {
    send(method, path, body, contentType = "application/json") {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { ...baseHeaders, accept: "application/json" };
        if (body !== undefined) {
          headers["content-type"] = contentType;
          headers["content-length"] = String(Buffer.byteLength(body));
        }
        const req = request(new URL(path, server), { method, agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const warning = res.headers.warning;
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString("utf8"),
              warnings: warning === undefined ? [] : warningTexts(warning),
            });
          });
        });
        req.on("error", reject);
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/** The texts of `Warning: 299 - "text"` headers (RFC 7234 format, as the API server sends them). */
function warningTexts(header: string | string[]): string[] {
  const texts: string[] = [];
  for (const match of [header]
    .flat()
    .join(", ")
    .matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)) {
    texts.push((match[1] ?? "").replace(/\\(.)/g, "$1"));
  }
  return texts;
}

/**
 * What the API server did with a create:
 * - `admitted`: 2xx;
 * - `podsecurity`: 403 Forbidden whose message says `violates PodSecurity`;
 * - `invalid`: anything else (400 Bad Request when the body cannot be decoded as the type,
 *   422 Invalid when validation rejects it, or any other error).
 */
export type ServerVerdict = "admitted" | "podsecurity" | "invalid";

/** A classified response: the verdict, the status and the server's message (if any). */
export interface ServerOutcome {
  verdict: ServerVerdict;
  status: number;
  message: string;
  warnings: string[];
}

/** Classifies a create response (see {@link ServerVerdict}). */
export function classify(response: RawResponse): ServerOutcome {
  const { status, warnings } = response;
  if (status >= 200 && status < 300) return { verdict: "admitted", status, message: "", warnings };
  let message = response.body;
  try {
    const parsed = JSON.parse(response.body) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // Not a Status object; keep the raw body.
  }
  const verdict = status === 403 && message.includes("violates PodSecurity") ? "podsecurity" : "invalid";
  return { verdict, status, message, warnings };
}

/** The API path of the pods of `namespace`, with server-side dry-run. */
export function dryRunPodsPath(namespace: string, query = ""): string {
  return `/api/v1/namespaces/${namespace}/pods?dryRun=All${query}`;
}

// ---------------------------------------------------------------------------------------
// Concurrency

/** Maps `items` through `fn` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
