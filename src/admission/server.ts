/**
 * `createWebhookServer(options)`: the admission webhook over HTTPS. Everything it needs is
 * validated here, once; requests then run the same `evaluate()` as `belay scan` for the
 * built-in rules and the same VAP evaluation for user policies, and the action table
 * (config.ts) decides what each finding does: deny, warn, audit annotation, or nothing.
 *
 * Endpoints: `POST /validate` (AdmissionReview admission.k8s.io/v1), `POST /mutate` (when
 * enabled: safe defaults as a JSON Patch), `GET /healthz`, `GET /readyz`, `GET /metrics`
 * (Prometheus text format). Decisions are the reviewer's (reviewer.ts); this module adds
 * HTTP, metrics and the decision log. It loads fastify and prom-client: import it lazily.
 */
import { performance } from "node:perf_hooks";
import Fastify from "fastify";
import { Counter, Histogram, Registry } from "prom-client";
import type { PolicySet } from "../engine/policies.ts";
import type { Finding } from "../findings/finding.ts";
import { ObjectMemo } from "../object-memo.ts";
import { ok, type Result } from "../result.ts";
import { HttpError } from "./http-error.ts";
import { OneLabelHistogram } from "./policy-histogram.ts";
import {
  MAX_NESTING_DEPTH,
  mayNestDeeperThan,
  nestingDepth,
  type Operation,
  parseGoDuration,
  parseReview,
  type ReviewRequest,
  reviewResponse,
} from "./review.ts";
import {
  certificateProblem,
  createReviewer,
  DeadlineExceeded,
  KEEP_ALIVE_TIMEOUT_MS,
  type LiveAuthorizer,
  loggableObject,
  nameOf,
  type Outcome,
  resolveWebhookOptions,
  type WebhookOptions,
} from "./reviewer.ts";

export { DEFAULT_EXEMPT_NAMESPACES, FAILURE_MODES, type FailureMode } from "./config.ts";
export {
  CONTEXT_RULES,
  certificateProblem,
  DEFAULT_BODY_LIMIT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  type LineWriter,
  type LiveAuthorizer,
  loggableObject,
  resolveWebhookOptions,
  type WebhookOptions,
} from "./reviewer.ts";

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

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
  /** Replace the user policies (a cluster refresh); requests in flight keep the old set. */
  setPolicies(policies: PolicySet | undefined): void;
  /**
   * Serve a new certificate and key from now on (hot reload). Returns the problem and keeps
   * the current pair when the new one is unusable. Existing connections keep their session.
   */
  setCertificate(cert: string, key: string): string | undefined;
  /** Write an operational log line (for the command's reloaders). */
  log(event: string, fields?: Record<string, unknown>): void;
  /**
   * Send one request through the whole handler chain (body parsing, limits, routes, the
   * error handler) without a socket: for fuzzing and tests. Never rejects for a bad request;
   * its answer is the status and body a client would get.
   */
  inject(request: {
    method: "GET" | "POST";
    url: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }): Promise<{ status: number; body: string; headers: Record<string, unknown> }>;
}

/** Metrics of one server, in its own registry; the authorizer's counters are read at scrape time. */
function makeMetrics(authorizer: LiveAuthorizer | undefined) {
  const registry = new Registry();
  // Counters that mirror the live authorizer's own monotonic counts when scraped.
  const mirrored = (read: (a: LiveAuthorizer) => number) => {
    let seen = 0;
    return function (this: Counter) {
      if (authorizer === undefined) return;
      const now = read(authorizer);
      if (now > seen) this.inc(now - seen);
      seen = now;
    };
  };
  return {
    subjectAccessReviews: new Counter({
      name: "belay_webhook_subjectaccessreviews_total",
      help: "SubjectAccessReviews sent to answer policies' `authorizer` checks.",
      registers: [registry],
      collect: mirrored((a) => a.reviews),
    }),
    subjectAccessReviewFailures: new Counter({
      name: "belay_webhook_subjectaccessreview_failures_total",
      help: "SubjectAccessReviews that got no decision (transport error, error status, timeout); the check is then an evaluation error.",
      registers: [registry],
      collect: mirrored((a) => a.failedReviews),
    }),
    authorizerCacheHits: new Counter({
      name: "belay_webhook_authorizer_cache_hits_total",
      help: "Policies' `authorizer` checks answered from the decision cache without a SubjectAccessReview.",
      registers: [registry],
      collect: mirrored((a) => a.cacheHits),
    }),
    registry,
    duration: new Histogram({
      name: "belay_webhook_request_duration_seconds",
      help: "Time from receiving an AdmissionReview to answering it.",
      labelNames: ["operation", "verdict"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    // Observed dozens of times per request: a histogram without per-observation label hashing.
    policyDuration: registered(
      registry,
      new OneLabelHistogram({
        name: "belay_webhook_policy_evaluation_seconds",
        help: "Evaluation time per user policy (and `belay-rules` for all built-in rules together) per request it was evaluated on: one the policy matched (built-in rules: every evaluated request).",
        labelName: "policy",
        buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1],
      }),
    ),
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
    audits: new Counter({
      name: "belay_webhook_audits_total",
      help: "Findings recorded as audit annotations only, by rule or policy id.",
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
    mutations: new Counter({
      name: "belay_webhook_mutations_total",
      help: "Objects /mutate changed (patched) or left alone (unchanged), by kind.",
      labelNames: ["kind", "result"],
      registers: [registry],
    }),
    reloads: new Counter({
      name: "belay_webhook_reloads_total",
      help: "Certificate and policy reloads by what was reloaded and the result (ok, error).",
      labelNames: ["what", "result"],
      registers: [registry],
    }),
  };
}

/** `metric`, registered in `registry` (for metrics that are not prom-client's own classes). */
function registered<T extends { name: string }>(registry: Registry, metric: T): T {
  registry.registerMetric(metric as never);
  return metric;
}

/** A body decoder that rejects invalid UTF-8 instead of replacing it. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Construct the server. Invalid options are a config error listing every problem; nothing
 * is bound until `listen()`.
 */
export function createWebhookServer(
  options: WebhookOptions & {
    /** The `/metrics` body when set (e.g. every worker's metrics summed); default: this server's registry. */
    metricsText?: () => Promise<string>;
  },
): Result<WebhookServer> {
  const resolved = resolveWebhookOptions(options);
  if (!resolved.ok) return resolved;
  const cfg = resolved.value;
  const metrics = makeMetrics(cfg.authorizer);
  const log = (event: string, fields: Record<string, unknown> = {}) =>
    options.log.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: fields.level ?? "info", event, ...fields })}\n`,
    );
  let listening = false;
  let closing: Promise<void> | undefined;
  const receivedAt = new ObjectMemo<object, number>("receivedAt");
  const reviewer = createReviewer(cfg, {
    log,
    policyTime: (policy, seconds) => metrics.policyDuration.observe(policy, seconds),
    mutation: (kind, result) => metrics.mutations.inc({ kind, result }),
    ...(options.namespaceObject ? { namespaceObject: options.namespaceObject } : {}),
  });

  const app = Fastify({
    https: {
      cert: cfg.cert,
      key: cfg.key,
      minVersion: "TLSv1.2",
      headersTimeout: cfg.requestTimeoutMs,
      requestTimeout: cfg.requestTimeoutMs,
      // Node checks these timeouts on this period (30 s by default, longer than the API server waits).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, cfg.requestTimeoutMs / 4)),
    } as object,
    bodyLimit: cfg.bodyLimit,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    requestTimeout: cfg.requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Requests that fail before routing (a body too slow, malformed HTTP, huge headers):
    // the same JSON error body as every other rejection, and a log line.
    clientErrorHandler(error: NodeJS.ErrnoException, socket) {
      if (error.code === "ECONNRESET" || socket.destroyed) return;
      const [status, message] =
        error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, `request not received within ${cfg.requestTimeoutMs} ms`]
          : error.code === "HPE_HEADER_OVERFLOW"
            ? [431, "request headers too large"]
            : [400, "malformed HTTP request"];
      metrics.badRequests.inc({ status: String(status) });
      log("request rejected", { level: "warn", status, error: message, code: error.code ?? "" });
      const body = JSON.stringify({ error: message });
      if (socket.writable)
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
        );
      socket.destroy();
    },
  });

  // A callback hook, not an async one: no promise per request on the hot path.
  app.addHook("onRequest", (request, _reply, done) => {
    receivedAt.set(request.raw, performance.now());
    done();
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      done(new HttpError(400, "request body is not valid UTF-8"), undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      done(new HttpError(400, "request body is not valid JSON", (e as Error).message), undefined);
      return;
    }
    // Nesting needs an opening bracket per level: most bodies have too few to walk them.
    if (mayNestDeeperThan(text, MAX_NESTING_DEPTH) && nestingDepth(parsed) > MAX_NESTING_DEPTH) {
      done(new HttpError(400, `request body nests deeper than ${MAX_NESTING_DEPTH} levels`), undefined);
      return;
    }
    done(null, parsed);
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

  app.server.on("tlsClientError", (error: NodeJS.ErrnoException) => {
    log("tls handshake failed", { level: "warn", error: error.code ?? error.message });
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    if (listening && closing === undefined) return { status: "ok" };
    return reply.code(503).send({ status: closing ? "shutting down" : "not ready" });
  });
  app.get("/metrics", async (_request, reply) => {
    void reply.type(metrics.registry.contentType);
    return options.metricsText ? options.metricsText() : metrics.registry.metrics();
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
      const result = reviewer.validate(review, deadline);
      // Only policies using `authorizer` make it a promise: the rest stays synchronous.
      outcome = result instanceof Promise ? await result : result;
    } catch (e) {
      if (!(e instanceof DeadlineExceeded)) throw e;
      metrics.timeouts.inc();
      outcome = reviewer.timeout(review, timeoutMs);
    }
    const latencySeconds = (performance.now() - start) / 1000;
    record(review, outcome, latencySeconds, "validate");
    return reviewResponse(outcome.response);
  });

  if (cfg.mutate) {
    app.post("/mutate", async (request) => {
      const start = receivedAt.get(request.raw) ?? performance.now();
      const review = parseReview(request.body);
      const outcome = reviewer.mutate(review);
      record(review, outcome, (performance.now() - start) / 1000, "mutate");
      return reviewResponse(outcome.response);
    });
  }

  const perPair = new Map<string, { duration: { observe(v: number): void }; decisions: { inc(): void } }>();
  type Children = Map<string, { inc(): void }>;
  const denials: Children = new Map();
  const warnings: Children = new Map();
  const errors: Children = new Map();
  const audits: Children = new Map();
  /** The counter's child for a rule id, kept in `cache` (rule ids are bounded by the loaded sets). */
  function byRule(cache: Children, counter: Counter, rule: string) {
    let child = cache.get(rule);
    if (child === undefined) {
      child = counter.labels({ rule });
      cache.set(rule, child);
    }
    return child;
  }

  function record(
    review: ReviewRequest,
    outcome: Outcome,
    latencySeconds: number,
    endpoint: "validate" | "mutate",
  ): void {
    const ids = (findings: readonly Finding[]) => [...new Set(findings.map((f) => f.ruleId))].sort();
    const operation: Operation = review.operation;
    const denied = ids(outcome.decision.deny);
    const warned = ids(outcome.decision.warn);
    const failed = ids(outcome.decision.error);
    const audited = outcome.audit.length > 0 ? ids(outcome.audit) : [];
    if (endpoint === "validate") {
      // Labelled children are kept (a handful of operation/verdict pairs, one per rule id):
      // no label hashing per request.
      const pair = `${operation}/${outcome.verdict}`;
      let byPair = perPair.get(pair);
      if (byPair === undefined) {
        byPair = {
          duration: metrics.duration.labels({ operation, verdict: outcome.verdict }),
          decisions: metrics.decisions.labels({ verdict: outcome.verdict, operation }),
        };
        perPair.set(pair, byPair);
      }
      byPair.duration.observe(latencySeconds);
      byPair.decisions.inc();
      for (const id of denied) byRule(denials, metrics.denials, id).inc();
      for (const id of warned) byRule(warnings, metrics.warnings, id).inc();
      for (const id of failed) byRule(errors, metrics.errors, id).inc();
      for (const id of audited) byRule(audits, metrics.audits, id).inc();
    }
    const r = review.resource;
    const resource = `${r.group === "" ? "" : `${r.group}/`}${r.version}/${r.resource}${review.subResource ? `/${review.subResource}` : ""}`;
    const name = review.name !== "" ? review.name : nameOf(review.object);
    const line = {
      time: new Date().toISOString(),
      ...(endpoint === "mutate" ? { endpoint } : {}),
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
      rules: denied,
      warnings: warned,
      errors: failed,
      ...(audited.length > 0 ? { audit: audited } : {}),
      ...(outcome.mutated ? { mutated: outcome.mutated } : {}),
      latencyUs: Math.round(latencySeconds * 1e6),
      ...(cfg.includeObjects
        ? {
            object: loggableObject(review.object),
            oldObject: loggableObject(review.oldObject),
          }
        : {}),
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
    log,
    setPolicies(policies: PolicySet | undefined) {
      reviewer.setPolicies(policies);
    },
    async inject(request) {
      const reply = await app.inject({
        method: request.method,
        url: request.url,
        ...(request.headers ? { headers: request.headers } : {}),
        ...(request.body !== undefined ? { payload: request.body } : {}),
      });
      return { status: reply.statusCode, body: reply.body, headers: reply.headers };
    },
    setCertificate(cert, key) {
      const problem = certificateProblem(cert, key);
      if (problem !== undefined) {
        metrics.reloads.inc({ what: "certificate", result: "error" });
        return problem;
      }
      (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({
        cert,
        key,
        minVersion: "TLSv1.2",
      });
      metrics.reloads.inc({ what: "certificate", result: "ok" });
      return undefined;
    },
    async listen() {
      await app.listen({ port: cfg.port, host: cfg.host });
      listening = true;
      const address = app.server.address();
      const port = typeof address === "object" && address !== null ? address.port : cfg.port;
      log("listening", {
        host: cfg.host,
        port,
        rules: cfg.rules.length,
        policies: reviewer.policyCount(),
        mutate: cfg.mutate,
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
