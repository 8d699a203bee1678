/**
 * `createWebhookServer(options)`: the validating admission webhook over HTTPS. Everything it
 * needs is validated here, once; requests then run the same `evaluate()` as `belay scan`.
 *
 * Endpoints: `POST /validate` (AdmissionReview admission.k8s.io/v1), `GET /healthz`,
 * `GET /readyz`, `GET /metrics` (Prometheus text format).
 */

import { X509Certificate } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createSecureContext } from "node:tls";
import Fastify from "fastify";
import { Counter, Histogram, Registry } from "prom-client";
import { evaluate } from "../engine/evaluate.ts";
import type { AdmissionContext, PolicySet } from "../engine/policies.ts";
import type { Finding } from "../findings/finding.ts";
import { makeResource } from "../resources/parse.ts";
import type { KubeObject } from "../resources/types.ts";
import { appError, err, ok, type Result } from "../result.ts";
import {
  PROFILES,
  type Profile,
  type PssVersion,
  parsePssVersion,
  RULE_IDS,
  type Rule,
  selectRules,
} from "../rules/index.ts";
import { classify, type Decision, denialMessage, ratchet, warningText } from "./decide.ts";
import { HttpError } from "./http-error.ts";
import {
  type Operation,
  parseGoDuration,
  parseReview,
  type ReviewRequest,
  reviewResponse,
} from "./review.ts";

/** Where log lines go (one JSON object per line). */
export interface LineWriter {
  write(line: string): unknown;
}

/** What to do when a request cannot be evaluated in time. */
export const FAILURE_MODES = ["deny", "allow"] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

/** Namespaces exempt by default: the control plane's and belay's own. */
export const DEFAULT_EXEMPT_NAMESPACES: readonly string[] = ["kube-system", "belay-system"];

/** The request body limit: 3 MiB, as the API server's own limit for an object. */
export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024;

/**
 * Rules that relate several objects (a workload and the NetworkPolicies of its namespace, a
 * namespace and its policies). One admission request shows one object, so they would report
 * every workload; they belong to `belay scan` and the audit.
 */
export const CONTEXT_RULES: ReadonlySet<string> = new Set([
  "workload-no-networkpolicy",
  "namespace-no-default-deny",
]);

/** Options of {@link createWebhookServer}. */
export interface WebhookOptions {
  /** PEM serving certificate (chain) and key. */
  tlsCert: string;
  tlsKey: string;
  /** Default 8443; 0 picks a free port. */
  port?: number;
  /** Default `0.0.0.0`. */
  host?: string;
  /** Built-in rule profiles (default `all`). */
  profiles?: readonly string[];
  /** Pod Security Standards version, `v1.N` or `latest` (default). */
  pssVersion?: string;
  /** Compiled user ValidatingAdmissionPolicies (see `loadPolicySet`). */
  policies?: PolicySet;
  /** Namespaces admitted without evaluation (default {@link DEFAULT_EXEMPT_NAMESPACES}). */
  exemptNamespaces?: readonly string[];
  /** When a request's deadline passes before its decision: deny (default, fail closed) or allow. */
  failureMode?: string;
  /** Deadline when the API server sends no `timeout` parameter (default 10 000 ms, its own default). */
  defaultTimeoutMs?: number;
  /** Default {@link DEFAULT_BODY_LIMIT}. */
  bodyLimit?: number;
  /** One JSON line per decision. */
  decisionLog: LineWriter;
  /** Operational log: bad requests, evaluation errors, lifecycle (JSON lines). */
  log: LineWriter;
}

/** A constructed webhook server. */
export interface WebhookServer {
  /** Start listening; resolves with the bound port. */
  listen(): Promise<{ port: number; host: string }>;
  /** Stop accepting, let in-flight requests finish, then close. Idempotent. */
  close(): Promise<void>;
  /** Whether `/readyz` answers 200. */
  isReady(): boolean;
  /** The Prometheus registry (for tests and embedding). */
  readonly metrics: Registry;
  /** The rule ids the server evaluates. */
  readonly ruleIds: readonly string[];
}

interface Resolved {
  cert: string;
  key: string;
  port: number;
  host: string;
  rules: Rule[];
  pssVersion: PssVersion;
  policies: PolicySet | undefined;
  policyIds: ReadonlySet<string>;
  exempt: ReadonlySet<string>;
  failureMode: FailureMode;
  defaultTimeoutMs: number;
  bodyLimit: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Validate every option; all problems are reported together. */
export function resolveWebhookOptions(options: WebhookOptions, now: Date = new Date()): Result<Resolved> {
  const problems: string[] = [];
  if (!options.tlsCert) problems.push("tls-cert: a PEM certificate is required");
  if (!options.tlsKey) problems.push("tls-key: a PEM private key is required");
  if (options.tlsCert && options.tlsKey) {
    try {
      createSecureContext({ cert: options.tlsCert, key: options.tlsKey, minVersion: "TLSv1.2" });
      const leaf = new X509Certificate(options.tlsCert);
      if (new Date(leaf.validTo) < now) problems.push(`tls-cert: the certificate expired on ${leaf.validTo}`);
      if (new Date(leaf.validFrom) > now)
        problems.push(`tls-cert: the certificate is not valid before ${leaf.validFrom}`);
    } catch (e) {
      problems.push(`tls-cert/tls-key: not a usable certificate and key pair: ${(e as Error).message}`);
    }
  }
  const port = options.port ?? 8443;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    problems.push(`port: must be an integer 0…65535, got ${port}`);
  const profiles = options.profiles && options.profiles.length > 0 ? options.profiles : ["all"];
  const badProfiles = profiles.filter((p) => !(PROFILES as readonly string[]).includes(p));
  if (badProfiles.length > 0)
    problems.push(
      `profile: unknown ${badProfiles.map((p) => `"${p}"`).join(", ")}; use ${PROFILES.join(", ")}`,
    );
  const pssVersion = parsePssVersion(options.pssVersion ?? "latest");
  if (pssVersion === undefined) problems.push(`pss-version: "${options.pssVersion}" is not v1.N or latest`);
  const exempt = options.exemptNamespaces ?? DEFAULT_EXEMPT_NAMESPACES;
  const badNamespaces = exempt.filter((n) => !DNS_LABEL.test(n));
  if (badNamespaces.length > 0)
    problems.push(
      `exempt-namespaces: ${badNamespaces.map((n) => `"${n}"`).join(", ")} ${badNamespaces.length === 1 ? "is" : "are"} not a valid namespace name`,
    );
  const failureMode = options.failureMode ?? "deny";
  if (!(FAILURE_MODES as readonly string[]).includes(failureMode))
    problems.push(`failure-mode: must be deny or allow, got "${failureMode}"`);
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  if (!(defaultTimeoutMs > 0)) problems.push("default timeout: must be positive");
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit <= 0) problems.push("body limit: must be a positive integer");
  let rules: Rule[] = [];
  if (badProfiles.length === 0 && pssVersion !== undefined) {
    const selected = selectRules({ profiles: profiles as Profile[], pssVersion });
    if (selected.ok) rules = selected.value.filter((rule) => !CONTEXT_RULES.has(rule.meta.id));
    else problems.push(selected.error.message);
  }
  if (problems.length > 0) return err(appError("config", "invalid webhook configuration", problems));
  return ok({
    cert: options.tlsCert,
    key: options.tlsKey,
    port,
    host: options.host ?? "0.0.0.0",
    rules,
    pssVersion: pssVersion as PssVersion,
    policies: options.policies,
    policyIds: new Set(options.policies ? options.policies.metas.keys() : []),
    exempt: new Set(exempt),
    failureMode: failureMode as FailureMode,
    defaultTimeoutMs,
    bodyLimit,
  });
}

/** Metrics of one server, in its own registry. */
function makeMetrics() {
  const registry = new Registry();
  return {
    registry,
    duration: new Histogram({
      name: "belay_webhook_request_duration_seconds",
      help: "Time from receiving an AdmissionReview to answering it.",
      labelNames: ["operation", "verdict"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    decisions: new Counter({
      name: "belay_webhook_decisions_total",
      help: "Admission decisions by verdict (allow, warn, deny, exempt) and operation.",
      labelNames: ["verdict", "operation"],
      registers: [registry],
    }),
    denials: new Counter({
      name: "belay_webhook_denials_total",
      help: "Denying findings by rule or policy id.",
      labelNames: ["rule"],
      registers: [registry],
    }),
    warnings: new Counter({
      name: "belay_webhook_warnings_total",
      help: "Warnings returned by rule or policy id.",
      labelNames: ["rule"],
      registers: [registry],
    }),
    errors: new Counter({
      name: "belay_webhook_evaluation_errors_total",
      help: "Rules or policies that could not be evaluated, by id.",
      labelNames: ["rule"],
      registers: [registry],
    }),
    timeouts: new Counter({
      name: "belay_webhook_timeouts_total",
      help: "Requests answered by the failure mode because their deadline passed.",
      registers: [registry],
    }),
    badRequests: new Counter({
      name: "belay_webhook_bad_requests_total",
      help: "Requests rejected before evaluation, by HTTP status.",
      labelNames: ["status"],
      registers: [registry],
    }),
  };
}

type Verdict = "allow" | "warn" | "deny" | "exempt";

/** The outcome of one review, before it is written anywhere. */
interface Outcome {
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason: string; message: string };
    warnings?: string[];
  };
  verdict: Verdict;
  decision: Decision;
  audit: Finding[];
  reason?: string;
}

class DeadlineExceeded extends Error {}

/**
 * Construct the server. Invalid options are a config error listing every problem; nothing
 * is bound until `listen()`.
 */
export function createWebhookServer(options: WebhookOptions): Result<WebhookServer> {
  const resolved = resolveWebhookOptions(options);
  if (!resolved.ok) return resolved;
  const cfg = resolved.value;
  const metrics = makeMetrics();
  const log = (event: string, fields: Record<string, unknown> = {}) =>
    options.log.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: fields.level ?? "info", event, ...fields })}\n`,
    );
  let listening = false;
  let closing: Promise<void> | undefined;
  const receivedAt = new WeakMap<object, number>();

  const app = Fastify({
    https: { cert: cfg.cert, key: cfg.key, minVersion: "TLSv1.2" },
    bodyLimit: cfg.bodyLimit,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });

  app.addHook("onRequest", async (request) => {
    receivedAt.set(request.raw, performance.now());
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(new HttpError(400, "request body is not valid JSON", (e as Error).message), undefined);
    }
  });

  /** The single error handler: every error becomes `{"error": message}` and a log line. Never throws. */
  app.setErrorHandler((error: unknown, request, reply) => {
    let status = 500;
    let message = "internal error";
    let detail: string | undefined;
    if (error instanceof HttpError) {
      status = error.status;
      message = error.message;
      detail = error.detail;
    } else {
      const e = error as { statusCode?: number; code?: string; message?: string; stack?: string };
      if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
        status = 413;
        message = `request body exceeds the limit of ${cfg.bodyLimit} bytes`;
      } else if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
        status = 415;
        message = "content type must be application/json";
      } else if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
        status = e.statusCode;
        message = e.message ?? "bad request";
      } else detail = e.stack ?? String(error);
    }
    if (status < 500) metrics.badRequests.inc({ status: String(status) });
    log("request rejected", {
      level: status >= 500 ? "error" : "warn",
      status,
      error: message,
      ...(detail !== undefined ? { detail } : {}),
      method: request.method,
      url: request.url,
      remote: request.ip,
    });
    void reply.code(status).type("application/json").send({ error: message });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type("application/json")
      .send({ error: `no route ${request.method} ${request.url.split("?")[0]}` });
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    if (listening && closing === undefined) return { status: "ok" };
    return reply.code(503).send({ status: closing ? "shutting down" : "not ready" });
  });
  app.get("/metrics", async (_request, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post("/validate", async (request) => {
    const start = receivedAt.get(request.raw) ?? performance.now();
    const review = parseReview(request.body);
    const query = request.query as Record<string, unknown>;
    const timeoutText = typeof query.timeout === "string" ? query.timeout : undefined;
    const timeoutMs = parseGoDuration(timeoutText) ?? cfg.defaultTimeoutMs;
    // Keep a tenth of the budget (at most one second) for the answer to travel back.
    const deadline = start + timeoutMs - Math.min(timeoutMs / 10, 1000);
    let outcome: Outcome;
    try {
      outcome = review_(review, deadline);
    } catch (e) {
      if (!(e instanceof DeadlineExceeded)) throw e;
      metrics.timeouts.inc();
      outcome = timeoutOutcome(review, timeoutMs);
    }
    const latencySeconds = (performance.now() - start) / 1000;
    record(review, outcome, latencySeconds);
    return reviewResponse(outcome.response);
  });

  function checkDeadline(deadline: number): void {
    if (performance.now() > deadline) throw new DeadlineExceeded();
  }

  /** Evaluate a request. Throws DeadlineExceeded when the deadline passes between stages. */
  function review_(review: ReviewRequest, deadline: number): Outcome {
    const none: Decision = { deny: [], warn: [], error: [] };
    const allow = (verdict: Verdict, reason?: string): Outcome => ({
      response: { uid: review.uid, allowed: true },
      verdict,
      decision: none,
      audit: [],
      ...(reason ? { reason } : {}),
    });
    if (review.namespace !== "" && cfg.exempt.has(review.namespace))
      return allow("exempt", "exempt namespace");
    if (review.operation === "CONNECT") return allow("allow", "connect is logged, not evaluated");
    const object = review.operation === "DELETE" ? review.oldObject : review.object;
    if (object === null) {
      if (review.operation === "DELETE") return allow("allow", "no oldObject to evaluate");
      throw new HttpError(400, `invalid AdmissionReview: request.object is missing for ${review.operation}`);
    }
    checkDeadline(deadline);
    const findings = evaluateObject(object, review.namespace, deadline, review);
    if (review.operation === "DELETE") {
      // Deleting a non-compliant object only makes things better: record, never block.
      return {
        ...allow("allow", "delete is logged, not enforced"),
        audit: findings.filter((f) => f.status === "fail" || f.status === "warn"),
      };
    }
    let decision = classify(findings, cfg.policyIds);
    if (review.operation === "UPDATE" && review.oldObject !== null && decision.deny.length > 0) {
      decision = ratchet(decision, evaluateObject(review.oldObject, review.namespace, deadline));
    }
    const warnings = decision.warn.map(warningText);
    const unique = [...new Set(warnings)];
    if (decision.deny.length > 0) {
      return {
        response: {
          uid: review.uid,
          allowed: false,
          status: { code: 403, reason: "Forbidden", message: denialMessage(decision.deny) },
          ...(unique.length > 0 ? { warnings: unique } : {}),
        },
        verdict: "deny",
        decision,
        audit: [],
      };
    }
    return {
      response: { uid: review.uid, allowed: true, ...(unique.length > 0 ? { warnings: unique } : {}) },
      verdict: unique.length > 0 ? "warn" : "allow",
      decision,
      audit: [],
    };
  }

  /** Run the engine on one object: built-in rules, then user policies, checking the deadline between. */
  function evaluateObject(
    object: KubeObject,
    namespace: string,
    deadline: number,
    review?: ReviewRequest,
  ): Finding[] {
    const resource = makeResource(withNamespace(object, namespace));
    const base = { pssVersion: cfg.pssVersion, knownRuleIds: RULE_IDS };
    const findings = evaluate([resource], { ...base, rules: cfg.rules });
    checkDeadline(deadline);
    if (cfg.policies && cfg.policies.policies.length > 0) {
      // User policies see the real request: operation, old object, user, subresource.
      const admission: AdmissionContext | undefined = review
        ? {
            operation: review.operation,
            oldObject: review.oldObject,
            user: review.userInfo,
            resource: { ...review.resource, subresource: review.subResource },
            dryRun: review.dryRun,
          }
        : undefined;
      findings.push(
        ...evaluate([resource], {
          ...base,
          rules: [],
          policies: cfg.policies,
          ...(admission ? { admission } : {}),
        }),
      );
      checkDeadline(deadline);
    }
    return findings;
  }

  function timeoutOutcome(review: ReviewRequest, timeoutMs: number): Outcome {
    const none: Decision = { deny: [], warn: [], error: [] };
    const text = `belay could not evaluate this request within its timeout (${timeoutMs} ms)`;
    if (cfg.failureMode === "allow") {
      return {
        response: {
          uid: review.uid,
          allowed: true,
          warnings: [`[belay] ${text}; admitted because the failure mode is allow`],
        },
        verdict: "warn",
        decision: none,
        audit: [],
        reason: "timeout",
      };
    }
    return {
      response: {
        uid: review.uid,
        allowed: false,
        status: {
          code: 503,
          reason: "ServiceUnavailable",
          message: `${text}; denied because the failure mode is deny. Retry the request.`,
        },
      },
      verdict: "deny",
      decision: none,
      audit: [],
      reason: "timeout",
    };
  }

  function record(review: ReviewRequest, outcome: Outcome, latencySeconds: number): void {
    const ids = (findings: readonly Finding[]) => [...new Set(findings.map((f) => f.ruleId))].sort();
    const operation: Operation = review.operation;
    metrics.duration.observe({ operation, verdict: outcome.verdict }, latencySeconds);
    metrics.decisions.inc({ verdict: outcome.verdict, operation });
    for (const id of ids(outcome.decision.deny)) metrics.denials.inc({ rule: id });
    for (const id of ids(outcome.decision.warn)) metrics.warnings.inc({ rule: id });
    for (const id of ids(outcome.decision.error)) metrics.errors.inc({ rule: id });
    const r = review.resource;
    const resource = `${r.group === "" ? "" : `${r.group}/`}${r.version}/${r.resource}${review.subResource ? `/${review.subResource}` : ""}`;
    const name = review.name !== "" ? review.name : nameOf(review.object);
    const line = {
      time: new Date().toISOString(),
      uid: review.uid,
      user: review.userInfo.username,
      groups: review.userInfo.groups,
      operation,
      resource,
      kind: review.kind.kind,
      namespace: review.namespace,
      name,
      dryRun: review.dryRun,
      verdict: outcome.verdict,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      rules: ids(outcome.decision.deny),
      warnings: ids(outcome.decision.warn),
      errors: ids(outcome.decision.error),
      ...(outcome.audit.length > 0 ? { audit: ids(outcome.audit) } : {}),
      latencyUs: Math.round(latencySeconds * 1e6),
    };
    options.decisionLog.write(`${JSON.stringify(line)}\n`);
    if (outcome.decision.error.length > 0) {
      // Rule ids and fields only: an error's message could quote the object.
      log("evaluation error", {
        level: "warn",
        uid: review.uid,
        resource,
        namespace: review.namespace,
        name,
        errors: outcome.decision.error.map((f) => ({ rule: f.ruleId, path: f.path })),
      });
    }
  }

  return ok({
    metrics: metrics.registry,
    ruleIds: cfg.rules.map((rule) => rule.meta.id),
    isReady: () => listening && closing === undefined,
    async listen() {
      await app.listen({ port: cfg.port, host: cfg.host });
      listening = true;
      const address = app.server.address();
      const port = typeof address === "object" && address !== null ? address.port : cfg.port;
      log("listening", {
        host: cfg.host,
        port,
        rules: cfg.rules.length,
        policies: cfg.policies?.policies.length ?? 0,
      });
      return { port, host: cfg.host };
    },
    close() {
      closing ??= (async () => {
        log("shutting down: draining in-flight requests");
        await app.close();
        listening = false;
        log("stopped");
      })();
      return closing;
    },
  });
}

/** The object with `metadata.namespace` set to the request's namespace when it has none (as the API server stores it). */
function withNamespace(object: KubeObject, namespace: string): KubeObject {
  const metadata = (
    typeof object.metadata === "object" && object.metadata !== null ? object.metadata : {}
  ) as Record<string, unknown>;
  if (
    namespace === "" ||
    object.kind === "Namespace" ||
    (typeof metadata.namespace === "string" && metadata.namespace !== "")
  )
    return object;
  return { ...object, metadata: { ...metadata, namespace } };
}

function nameOf(object: KubeObject | null): string {
  const metadata = object?.metadata as Record<string, unknown> | undefined;
  if (typeof metadata?.name === "string" && metadata.name !== "") return metadata.name;
  if (typeof metadata?.generateName === "string") return `${metadata.generateName}*`;
  return "";
}
