/**
 * The webhook's decisions without the network: `resolveWebhookOptions` validates the
 * options once, `createReviewer` answers parsed AdmissionReviews (validate, mutate, the
 * failure-mode answer). The HTTP server (server.ts) and the benchmarks' compute-only
 * measurement both call this module, so they cannot drift. It loads neither fastify nor
 * prom-client; metrics and logs go through {@link ReviewerHooks}. Pure apart from the clock
 * and the injected {@link LiveAuthorizer} (SubjectAccessReviews for policies that use CEL's
 * `authorizer`: the only case where a decision is asynchronous).
 */
import { X509Certificate } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createSecureContext } from "node:tls";
import type { CelAuthorizer } from "../cel/index.ts";
import { evaluate } from "../engine/evaluate.ts";
import type { PolicySet } from "../engine/policies.ts";
import type { Finding } from "../findings/finding.ts";
import type { RuleException } from "../policy/exceptions.ts";
import { type AdmissionRequest, reasonToCode } from "../policy/vap/index.ts";
import { makeResource } from "../resources/parse.ts";
import type { KubeObject, Resource } from "../resources/types.ts";
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
import {
  type ActionTable,
  DEFAULT_EXEMPT_NAMESPACES,
  FAILURE_MODES,
  type FailureMode,
  ruleAction,
  ruleIsOff,
  validateActions,
} from "./config.ts";
import { type Decision, denialMessage, findingKey, warningText } from "./decide.ts";
import { HttpError } from "./http-error.ts";
import { patchedFields, safeDefaultsPatch } from "./mutate.ts";
import {
  evaluatePolicies,
  type PolicyHit,
  type PolicyOutcome,
  type PreparedPolicies,
  policiesUsingAuthorizer,
  preparePolicies,
  syntheticNamespace,
} from "./policies.ts";
import type { ReviewRequest, ReviewResponse } from "./review.ts";

export { DEFAULT_EXEMPT_NAMESPACES, FAILURE_MODES, type FailureMode } from "./config.ts";

/** Where log lines go (one JSON object per line). */
export interface LineWriter {
  write(line: string): unknown;
}

/** The request body limit: 3 MiB, as the API server's own limit for an object. */
export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024;

/** Time a client has to send a whole request (headers and body), against slow-body clients. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/**
 * How long an idle kept-alive connection stays open. Longer than the API server's webhook
 * client keeps one (client-go's transport: Go's default IdleConnTimeout, 90 s), so the client
 * always closes first: a server that closes first can race a request the client is just
 * sending on that connection, and that request fails (a POST is not retried) and falls to the
 * webhook's failurePolicy. fastify's default, 72 s, was shorter.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

/** At most this many entries per audit annotation value (the API server keeps 50 too). */
const MAX_AUDIT_ENTRIES = 50;

/**
 * Rules that relate several objects (a workload and the NetworkPolicies of its namespace, a
 * namespace and its policies). One admission request shows one object, so they would report
 * every workload; they belong to `belay scan` and the audit.
 */
export const CONTEXT_RULES: ReadonlySet<string> = new Set([
  "workload-no-networkpolicy",
  "namespace-no-default-deny",
]);

/**
 * Answers CEL's `authorizer` checks live for policies that use it (`makeSarAuthorizer` in
 * src/kube/sar.ts: SubjectAccessReviews with a shared TTL cache). `evaluate` runs a
 * synchronous evaluation in rounds until every check it asked has an answer; the counters
 * feed the server's metrics.
 */
export interface LiveAuthorizer {
  /** Run `run` with checks answered from the cache and fetched reviews. Rejects only if `run` throws. */
  evaluate<T>(run: (authorizer: CelAuthorizer) => T): Promise<T>;
  /** SubjectAccessReviews sent so far. */
  readonly reviews: number;
  /** Of those, the ones that got no decision. */
  readonly failedReviews: number;
  /** Checks answered from the cache. */
  readonly cacheHits: number;
}

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
  /** Run only these rule ids / leave these out (as `scan --rules` / `--skip-rules`). */
  rules?: readonly string[];
  skipRules?: readonly string[];
  /** Exceptions (see `parseExceptions`), applied as in `scan`. */
  exceptions?: readonly RuleException[];
  /** Compiled user ValidatingAdmissionPolicies (see `loadPolicySet`); replace later with `setPolicies`. */
  policies?: PolicySet;
  /** What each finding does (see {@link ActionTable}); default: the built-in deny/warn split. */
  actions?: ActionTable;
  /** The live Namespace object of a request's namespace (for policies' namespaceSelector and `namespaceObject`). */
  namespaceObject?: (name: string) => KubeObject | undefined;
  /**
   * Answers `authorizer` checks of user policies as the request's user. Only requests
   * evaluated under a policy set that uses `authorizer` wait for it; without it those
   * expressions are evaluation errors (or the set's offline authorizer answers).
   */
  authorizer?: LiveAuthorizer;
  /** Serve `POST /mutate` (safe defaults). Default false. */
  mutate?: boolean;
  /** Put the request's object and old object in the decision log (Secret data never). Default false. */
  includeObjects?: boolean;
  /** Namespaces admitted without evaluation (default {@link DEFAULT_EXEMPT_NAMESPACES}). */
  exemptNamespaces?: readonly string[];
  /** When a request's deadline passes before its decision: deny (default, fail closed) or allow. */
  failureMode?: string;
  /** Deadline when the API server sends no `timeout` parameter (default 10 000 ms, its own default). */
  defaultTimeoutMs?: number;
  /** Default {@link DEFAULT_BODY_LIMIT}. */
  bodyLimit?: number;
  /** Time to receive a whole request; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** One JSON line per decision. */
  decisionLog: LineWriter;
  /** Operational log: bad requests, evaluation errors, lifecycle (JSON lines). */
  log: LineWriter;
}

/** Validated options. */
export interface Resolved {
  cert: string;
  key: string;
  port: number;
  host: string;
  rules: Rule[];
  pssVersion: PssVersion;
  exceptions: readonly RuleException[];
  policies: PolicySet | undefined;
  actions: ActionTable;
  exempt: ReadonlySet<string>;
  failureMode: FailureMode;
  defaultTimeoutMs: number;
  bodyLimit: number;
  requestTimeoutMs: number;
  mutate: boolean;
  includeObjects: boolean;
  authorizer: LiveAuthorizer | undefined;
}

/**
 * Why a certificate and key cannot serve, or undefined. Checks that they form a pair usable
 * with TLS 1.2+ and that the leaf is valid at `now`.
 */
export function certificateProblem(cert: string, key: string, now: Date = new Date()): string | undefined {
  try {
    createSecureContext({ cert, key, minVersion: "TLSv1.2" });
    const leaf = new X509Certificate(cert);
    if (new Date(leaf.validTo) < now) return `tls-cert: the certificate expired on ${leaf.validTo}`;
    if (new Date(leaf.validFrom) > now)
      return `tls-cert: the certificate is not valid before ${leaf.validFrom}`;
    return undefined;
  } catch (e) {
    return `tls-cert/tls-key: not a usable certificate and key pair: ${(e as Error).message}`;
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Validate every option; all problems are reported together. */
export function resolveWebhookOptions(options: WebhookOptions, now: Date = new Date()): Result<Resolved> {
  const problems: string[] = [];
  if (!options.tlsCert) problems.push("tls-cert: a PEM certificate is required");
  if (!options.tlsKey) problems.push("tls-key: a PEM private key is required");
  if (options.tlsCert && options.tlsKey) {
    const problem = certificateProblem(options.tlsCert, options.tlsKey, now);
    if (problem !== undefined) problems.push(problem);
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
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!(requestTimeoutMs > 0)) problems.push("request timeout: must be positive");
  let actions: ActionTable = {};
  if (options.actions !== undefined) {
    const validated = validateActions(options.actions);
    if (validated.ok) actions = validated.value;
    else problems.push(...validated.error);
  }
  let rules: Rule[] = [];
  if (badProfiles.length === 0 && pssVersion !== undefined) {
    const only = options.rules && options.rules.length > 0 ? [...options.rules] : undefined;
    const selected = selectRules({
      profiles: profiles as Profile[],
      ...(only ? { only } : {}),
      skip: [...(options.skipRules ?? [])],
      pssVersion,
    });
    if (selected.ok)
      // A rule whose every finding would be `off` is not run at all.
      rules = selected.value.filter(
        (rule) => !CONTEXT_RULES.has(rule.meta.id) && !ruleIsOff(rule.meta, actions),
      );
    else problems.push(`rules: ${selected.error.message}`);
  }
  if (problems.length > 0) return err(appError("config", "invalid webhook configuration", problems));
  return ok({
    cert: options.tlsCert,
    key: options.tlsKey,
    port,
    host: options.host ?? "0.0.0.0",
    rules,
    pssVersion: pssVersion as PssVersion,
    exceptions: options.exceptions ?? [],
    policies: options.policies,
    actions,
    exempt: new Set(exempt),
    failureMode: failureMode as FailureMode,
    defaultTimeoutMs,
    bodyLimit,
    requestTimeoutMs,
    mutate: options.mutate === true,
    includeObjects: options.includeObjects === true,
    authorizer: options.authorizer,
  });
}

/** The verdict of a decision, as logged and counted. */
export type Verdict = "allow" | "warn" | "deny" | "exempt";

/** The outcome of one review, before it is written anywhere. */
export interface Outcome {
  response: ReviewResponse;
  verdict: Verdict;
  decision: Decision;
  /** Findings recorded as audit (annotations, and DELETE's findings on the old object). */
  audit: Finding[];
  reason?: string;
  /** `/mutate`: the fields set. */
  mutated?: string[];
}

/** Thrown by `validate` (or its promise rejects with it) when the deadline passes between stages. */
export class DeadlineExceeded extends Error {}

/** No findings. */
export const NO_DECISION: Decision = { deny: [], warn: [], error: [] };

/** What the reviewer reports to its host (the server's metrics and log). */
export interface ReviewerHooks {
  log(event: string, fields?: Record<string, unknown>): void;
  /** Evaluation time of one user policy (or `belay-rules`) on one request. */
  policyTime(policy: string, seconds: number): void;
  mutation(kind: string, result: "patched" | "unchanged"): void;
  /** The live Namespace of a request's namespace, when known. */
  namespaceObject?: (name: string) => KubeObject | undefined;
}

/** Answers parsed AdmissionReviews. */
export interface Reviewer {
  /**
   * The `/validate` answer. Synchronous unless the policy set uses `authorizer` and a live
   * authorizer is configured: then a promise, which waits for SubjectAccessReviews. Throws
   * (or rejects with) DeadlineExceeded past `deadline` (performance.now() ms), HttpError 400
   * for a CREATE/UPDATE without object.
   */
  validate(review: ReviewRequest, deadline: number): Outcome | Promise<Outcome>;
  /** The `/mutate` answer (safe defaults); never denies. Never throws. */
  mutate(review: ReviewRequest): Outcome;
  /** The failure-mode answer when the deadline passed. */
  timeout(review: ReviewRequest, timeoutMs: number): Outcome;
  /** Replace the user policies; reviews in progress keep the old set. */
  setPolicies(policies: PolicySet | undefined): void;
  /** How many user policies are loaded. */
  policyCount(): number;
}

/** Build a reviewer for validated options. */
export function createReviewer(cfg: Resolved, hooks: ReviewerHooks): Reviewer {
  /** Policies using `authorizer` with nothing to answer it: say so once per load, not per request. */
  const prepare = (set: PolicySet | undefined): PreparedPolicies | undefined => {
    if (set === undefined) return undefined;
    if (set.usesAuthorizer && cfg.authorizer === undefined && set.authorizer === undefined)
      hooks.log("policies use authorizer, but no authorizer is configured", {
        level: "warn",
        policies: policiesUsingAuthorizer(set),
        effect: "their authorizer checks are evaluation errors; each policy's failurePolicy decides",
      });
    return preparePolicies(set);
  };
  let prepared = prepare(cfg.policies);
  const seconds = () => performance.now() / 1000;

  function checkDeadline(deadline: number): void {
    if (performance.now() > deadline) throw new DeadlineExceeded();
  }

  const allowOutcome = (review: ReviewRequest, verdict: Verdict, reason?: string): Outcome => ({
    response: { uid: review.uid, allowed: true },
    verdict,
    decision: NO_DECISION,
    audit: [],
    ...(reason ? { reason } : {}),
  });

  /**
   * Safe defaults: CREATE of pods and workloads, UPDATE of workloads (a pod's security
   * context cannot change after creation). Never denies.
   */
  function mutate(review: ReviewRequest): Outcome {
    if (review.namespace !== "" && cfg.exempt.has(review.namespace))
      return allowOutcome(review, "exempt", "exempt namespace");
    const object = review.object;
    const kind = typeof object?.kind === "string" ? object.kind : review.kind.kind;
    const applies =
      object !== null &&
      review.subResource === "" &&
      (review.operation === "CREATE" || (review.operation === "UPDATE" && kind !== "Pod"));
    const ops = applies ? safeDefaultsPatch(object) : [];
    if (applies) hooks.mutation(kind, ops.length > 0 ? "patched" : "unchanged");
    if (ops.length === 0) return allowOutcome(review, "allow");
    return {
      response: {
        uid: review.uid,
        allowed: true,
        patchType: "JSONPatch",
        patch: Buffer.from(JSON.stringify(ops)).toString("base64"),
      },
      verdict: "allow",
      decision: NO_DECISION,
      audit: [],
      mutated: patchedFields(ops),
    };
  }

  /** Evaluate a request. Throws DeadlineExceeded when the deadline passes between stages. */
  function validate(review: ReviewRequest, deadline: number): Outcome | Promise<Outcome> {
    if (review.namespace !== "" && cfg.exempt.has(review.namespace))
      return allowOutcome(review, "exempt", "exempt namespace");
    const object = review.operation === "DELETE" ? review.oldObject : review.object;
    if (object === null && (review.operation === "CREATE" || review.operation === "UPDATE"))
      throw new HttpError(400, `invalid AdmissionReview: request.object is missing for ${review.operation}`);
    const resource = makeResource(withNamespace(withName(object ?? {}, review), review.namespace));
    checkDeadline(deadline);

    // Built-in rules: on CREATE and UPDATE they act; on DELETE they are recorded only
    // (removing a non-compliant object only makes things better); CONNECT has no object to check.
    const deny: Finding[] = [];
    const warn: Finding[] = [];
    const audit: Finding[] = [];
    const error: Finding[] = [];
    let reason: string | undefined;
    if (review.operation !== "CONNECT" && object !== null && cfg.rules.length > 0) {
      const started = seconds();
      const findings = evaluateRules(resource);
      hooks.policyTime("belay-rules", seconds() - started);
      checkDeadline(deadline);
      if (review.operation === "DELETE") {
        audit.push(...findings.filter((f) => f.status === "fail" || f.status === "warn"));
        reason = "delete is logged, not enforced";
      } else {
        let ruleDeny: Finding[] = [];
        for (const finding of findings) {
          if (finding.status === "error") error.push(finding);
          if (finding.status !== "fail" && finding.status !== "warn") continue;
          const action = ruleAction(finding, cfg.actions);
          if (action === "deny") ruleDeny.push(finding);
          else if (action === "warn") warn.push(finding);
          else if (action === "audit") audit.push(finding);
        }
        if (review.operation === "UPDATE" && review.oldObject !== null && ruleDeny.length > 0) {
          // A violation the old object already had warns instead: relabelling, scaling or removing
          // a finalizer of an object that predates the webhook is never blocked.
          // Only the denying rules can matter: run just those on the old object.
          const denying = new Set(ruleDeny.map((f) => f.ruleId));
          const old = makeResource(withNamespace(review.oldObject, review.namespace));
          const before = new Set(
            evaluateRules(
              old,
              cfg.rules.filter((rule) => denying.has(rule.meta.id)),
            )
              .filter((f) => f.status === "fail")
              .map(findingKey),
          );
          checkDeadline(deadline);
          warn.push(...ruleDeny.filter((f) => before.has(findingKey(f))));
          ruleDeny = ruleDeny.filter((f) => !before.has(findingKey(f)));
        }
        deny.push(...ruleDeny);
      }
    } else if (review.operation === "CONNECT") reason = "connect is logged; only policies evaluate it";

    // User policies see every operation: their own match rules decide (DELETE and CONNECT too).
    const policies = prepared;
    const partial: RuleFindings = { deny, warn, audit, error, ...(reason ? { reason } : {}) };
    if (policies === undefined || policies.units.length === 0) return finish(review, partial, undefined);
    const request: AdmissionRequest = {
      operation: review.operation,
      resource: { ...review.resource, subresource: review.subResource },
      kind: review.kind,
      namespace: review.namespace,
      name: review.name,
      object: review.object,
      oldObject: review.oldObject,
      namespaceObject:
        review.namespace === ""
          ? null
          : (hooks.namespaceObject?.(review.namespace) ?? syntheticNamespace(review.namespace)),
    };
    const run = (authorizer?: CelAuthorizer) =>
      evaluatePolicies(
        policies,
        request,
        resource,
        review.userInfo,
        review.dryRun,
        cfg.actions,
        seconds,
        authorizer,
      );
    const live = cfg.authorizer;
    if (live === undefined || !policies.set.usesAuthorizer) {
      const outcome = run();
      for (const t of outcome.timings) hooks.policyTime(t.policy, t.seconds);
      checkDeadline(deadline);
      return finish(review, partial, outcome);
    }
    // The one asynchronous path: SubjectAccessReviews count against the request's deadline.
    // Rounds re-run the synchronous evaluation, so only the last one's timings are reported.
    return withDeadline(
      live.evaluate((authorizer) => run(authorizer)),
      deadline,
    ).then((outcome) => {
      for (const t of outcome.timings) hooks.policyTime(t.policy, t.seconds);
      checkDeadline(deadline);
      return finish(review, partial, outcome);
    });
  }

  /** The outcome from the built-in rules' findings and the policies' outcome. */
  function finish(
    review: ReviewRequest,
    partial: RuleFindings,
    policyOutcome: PolicyOutcome | undefined,
  ): Outcome {
    const { deny, warn, audit, error, reason } = partial;
    const hits: PolicyHit[] = [];
    const annotations = policyOutcome?.annotations ?? {};
    for (const hit of policyOutcome?.hits ?? []) {
      hits.push(hit);
      if (hit.finding.status === "error") error.push(hit.finding);
      if (hit.actions.includes("deny")) deny.push(hit.finding);
      if (hit.actions.includes("warn")) warn.push(hit.finding);
      if (hit.actions.includes("audit")) audit.push(hit.finding);
    }

    const decision: Decision = { deny, warn, error };
    const auditAnnotations = buildAuditAnnotations(
      audit.filter((f) => !hits.some((h) => h.finding === f)),
      hits.filter((h) => h.actions.includes("audit")),
      annotations,
      review.operation !== "DELETE",
    );
    const warnings = [...new Set(warn.map(warningText))];
    const extra = {
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(Object.keys(auditAnnotations).length > 0 ? { auditAnnotations } : {}),
    };
    if (deny.length > 0) {
      return {
        response: {
          uid: review.uid,
          allowed: false,
          status: denialStatus(deny, hits, denialMessage(deny)),
          ...extra,
        },
        verdict: "deny",
        decision,
        audit,
        ...(reason ? { reason } : {}),
      };
    }
    return {
      response: { uid: review.uid, allowed: true, ...extra },
      verdict: warnings.length > 0 ? "warn" : "allow",
      decision,
      audit,
      ...(reason ? { reason } : {}),
    };
  }

  /**
   * Audit annotation keys carry no slash: the API server prefixes `<webhook name>/`. Rules
   * under `rule_failure`, policies' Audit failures under `validation_failure` (the API
   * server's own record of VAP Audit failures, same JSON), policies' auditAnnotations as
   * `<policy>.<key>`. DELETE's recorded rule findings stay in the decision log only.
   */
  function buildAuditAnnotations(
    rules: readonly Finding[],
    policyHits: readonly PolicyHit[],
    policyAnnotations: Record<string, string>,
    includeRules: boolean,
  ): Record<string, string> {
    const out: Record<string, string> = {};
    if (includeRules && rules.length > 0)
      out.rule_failure = JSON.stringify(
        rules.slice(0, MAX_AUDIT_ENTRIES).map((f) => ({
          rule: f.ruleId,
          severity: f.severity,
          path: f.path,
          message: f.message,
        })),
      );
    if (policyHits.length > 0)
      out.validation_failure = JSON.stringify(policyHits.slice(0, MAX_AUDIT_ENTRIES).map((h) => h.failure));
    for (const [key, value] of Object.entries(policyAnnotations)) {
      const flat = key.replace("/", ".");
      if (QUALIFIED_NAME.test(flat)) out[flat] = value;
      else
        hooks.log("audit annotation dropped", {
          level: "warn",
          key,
          why: "not a valid annotation name (63 characters at most)",
        });
    }
    return out;
  }

  function evaluateRules(resource: Resource, rules: readonly Rule[] = cfg.rules): Finding[] {
    return evaluate([resource], {
      rules,
      pssVersion: cfg.pssVersion,
      knownRuleIds: RULE_IDS,
      exceptions: cfg.exceptions,
    });
  }

  function timeoutOutcome(review: ReviewRequest, timeoutMs: number): Outcome {
    const text = `belay could not evaluate this request within its timeout (${timeoutMs} ms)`;
    if (cfg.failureMode === "allow") {
      return {
        response: {
          uid: review.uid,
          allowed: true,
          warnings: [`[belay] ${text}; admitted because the failure mode is allow`],
        },
        verdict: "warn",
        decision: NO_DECISION,
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
      decision: NO_DECISION,
      audit: [],
      reason: "timeout",
    };
  }

  return {
    validate,
    mutate,
    timeout: timeoutOutcome,
    setPolicies(policies) {
      prepared = prepare(policies);
    },
    policyCount: () => prepared?.set.policies.length ?? 0,
  };
}

/** Findings of one request before the user policies are added (the built-in rules' part). */
interface RuleFindings {
  deny: Finding[];
  warn: Finding[];
  audit: Finding[];
  error: Finding[];
  reason?: string;
}

/**
 * `promise`, or a rejection with DeadlineExceeded once `deadline` (performance.now() ms)
 * passes first. The work behind `promise` goes on (its reviews still fill the cache).
 */
function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  const left = deadline - performance.now();
  if (left <= 0) return Promise.reject(new DeadlineExceeded());
  if (!Number.isFinite(left)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded()), left);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** A qualified name's name part (what may follow `<webhook name>/`). */
const QUALIFIED_NAME = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const REDACTED = "(redacted)";

/**
 * An object as the decision log may show it: a Secret's `data` and `stringData` values (and
 * kubectl's last-applied-configuration copy of them) are replaced by a marker; the keys stay
 * so that the log still says what changed.
 */
export function loggableObject(object: KubeObject | null): KubeObject | null {
  if (object === null || object.kind !== "Secret") return object;
  const redact = (value: unknown) =>
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]))
      : value === undefined
        ? undefined
        : REDACTED;
  const copy: KubeObject = { ...object };
  for (const field of ["data", "stringData"]) if (field in copy) copy[field] = redact(copy[field]);
  const metadata = copy.metadata as Record<string, unknown> | undefined;
  const annotations = metadata?.annotations as Record<string, unknown> | undefined;
  if (annotations && "kubectl.kubernetes.io/last-applied-configuration" in annotations)
    copy.metadata = {
      ...metadata,
      annotations: { ...annotations, "kubectl.kubernetes.io/last-applied-configuration": REDACTED },
    };
  return copy;
}

/** The object with the request's name when it carries none (CONNECT options, DELETE without a body). */
function withName(object: KubeObject, review: ReviewRequest): KubeObject {
  const metadata = (
    typeof object.metadata === "object" && object.metadata !== null ? object.metadata : {}
  ) as Record<string, unknown>;
  const kind = typeof object.kind === "string" && object.kind !== "" ? object.kind : review.kind.kind;
  const apiVersion =
    typeof object.apiVersion === "string" && object.apiVersion !== ""
      ? object.apiVersion
      : review.kind.group === ""
        ? review.kind.version
        : `${review.kind.group}/${review.kind.version}`;
  if (
    kind === object.kind &&
    apiVersion === object.apiVersion &&
    (metadata.name || metadata.generateName || !review.name)
  )
    return object;
  return {
    ...object,
    apiVersion,
    kind,
    metadata:
      metadata.name || metadata.generateName || !review.name ? metadata : { ...metadata, name: review.name },
  };
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

/** The object's name, or `generateName*`, or "". */
export function nameOf(object: KubeObject | null): string {
  const metadata = object?.metadata as Record<string, unknown> | undefined;
  if (typeof metadata?.name === "string" && metadata.name !== "") return metadata.name;
  if (typeof metadata?.generateName === "string") return `${metadata.generateName}*`;
  return "";
}

/**
 * The HTTP status of a denial. When only user policies deny, the first one's reason and its
 * code, as the API server answers for the same ValidatingAdmissionPolicy (422 Invalid unless
 * the validation names Forbidden, Unauthorized or RequestEntityTooLarge); when a built-in rule
 * denies, 403 Forbidden.
 */
function denialStatus(
  deny: readonly Finding[],
  hits: readonly PolicyHit[],
  message: string,
): { code: number; reason: string; message: string } {
  const byFinding = new Map(hits.map((h) => [h.finding, h]));
  const first = byFinding.get(deny[0] as Finding);
  if (first === undefined || !deny.every((f) => byFinding.has(f)))
    return { code: 403, reason: "Forbidden", message };
  return { code: reasonToCode(first.reason), reason: first.reason, message };
}
