/**
 * CEL's `authorizer` answered live by the API server: each check is a SubjectAccessReview
 * (authorization.k8s.io/v1), made for the request's user (or the service account of
 * `authorizer.serviceAccount`). CEL evaluation is synchronous, so this is an
 * {@link AuthzSource}: `evaluateWithAuthorizer` evaluates against cached decisions, fetches
 * the missing ones concurrently and evaluates again (bounded rounds). Decisions are cached
 * with a TTL. Edge module: the webhook and the audit use it; the core never imports it.
 *
 * The caller's identity needs `create` on `subjectaccessreviews.authorization.k8s.io`.
 */
import type { AuthzAttributes, AuthzDecision, CelAuthorizer } from "../cel/index.ts";
import { mapLimit } from "../concurrency.ts";
import {
  type AuthzSource,
  authzKey,
  createDecisionCache,
  DEFAULT_AUTHZ_ROUNDS,
  type DecisionCacheOptions,
  evaluateWithAuthorizer,
} from "../policy/vap/authorizer.ts";
import type { KubeClient } from "./client.ts";
import { statusMessage } from "./client.ts";

/** Options of {@link makeSarAuthorizer}. */
export interface SarAuthorizerOptions extends DecisionCacheOptions {
  /** Most SubjectAccessReviews in flight at once. Default 8. */
  concurrency?: number;
  /** Give up on one review after this long (ms); the check is then errored. Default 5 s. */
  timeoutMs?: number;
  /** Bound on evaluation rounds per request. Default {@link DEFAULT_AUTHZ_ROUNDS}. */
  maxRounds?: number;
}

/** A live authorizer: an {@link AuthzSource} plus the round-trip helper. */
export interface SarAuthorizer extends AuthzSource {
  /**
   * Run a synchronous evaluation with a CelAuthorizer answered by SubjectAccessReviews (see
   * `evaluateWithAuthorizer`): e.g.
   * `await sar.evaluate((authorizer) => evaluate([resource], { ...opts, admission: { ...ctx, authorizer } }))`.
   * Rejects only if `run` throws.
   */
  evaluate<T>(run: (authorizer: CelAuthorizer) => T): Promise<T>;
  /** SubjectAccessReviews sent so far (for metrics and tests). */
  readonly reviews: number;
  /** Of those, the ones that got no decision (transport error, error status, timeout). */
  readonly failedReviews: number;
  /** Checks answered from the cache, counted once per distinct check per `evaluate`. */
  readonly cacheHits: number;
}

/** The SubjectAccessReview body for one check, as kube-apiserver's CEL authorizer builds the attributes. */
export function subjectAccessReview(attributes: AuthzAttributes): Record<string, unknown> {
  const { user } = attributes;
  const spec: Record<string, unknown> = {
    user: user.name,
    groups: [...user.groups],
    ...(user.uid ? { uid: user.uid } : {}),
    ...(user.extra ? { extra: user.extra } : {}),
  };
  if (attributes.path !== undefined) {
    spec.nonResourceAttributes = { path: attributes.path, verb: attributes.verb };
  } else {
    spec.resourceAttributes = {
      namespace: attributes.namespace ?? "",
      verb: attributes.verb,
      group: attributes.group ?? "",
      // The CEL library checks APIVersion "*" (library/authz.go).
      version: "*",
      resource: attributes.resource ?? "",
      subresource: attributes.subresource ?? "",
      name: attributes.name ?? "",
      ...(attributes.fieldSelector ? { fieldSelector: { rawSelector: attributes.fieldSelector } } : {}),
      ...(attributes.labelSelector ? { labelSelector: { rawSelector: attributes.labelSelector } } : {}),
    };
  }
  return { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec };
}

/** The decision in a SubjectAccessReview's status (`evaluationError` is the authorizer's error). */
export function decisionFromReview(body: unknown): AuthzDecision {
  const status = (body as { status?: Record<string, unknown> } | null)?.status ?? {};
  const reason = typeof status.reason === "string" ? status.reason : "";
  const error =
    typeof status.evaluationError === "string" && status.evaluationError !== ""
      ? status.evaluationError
      : undefined;
  const decision = status.allowed === true ? "allow" : status.denied === true ? "deny" : "no-opinion";
  return { decision, reason, ...(error !== undefined ? { error } : {}) };
}

/**
 * An authorizer for CEL backed by SubjectAccessReviews through `client`, with a TTL cache
 * shared by all requests. A review that fails (transport error, non-201 status, timeout) is
 * an errored decision for that evaluation and is not cached. Never throws.
 */
export function makeSarAuthorizer(client: KubeClient, options: SarAuthorizerOptions = {}): SarAuthorizer {
  const cache = createDecisionCache(options);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxRounds = options.maxRounds ?? DEFAULT_AUTHZ_ROUNDS;
  let reviews = 0;
  let failedReviews = 0;
  let cacheHits = 0;

  async function review(attributes: AuthzAttributes): Promise<AuthzDecision> {
    reviews++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const response = await Promise.race([
        client.send(
          "POST",
          "/apis/authorization.k8s.io/v1/subjectaccessreviews",
          subjectAccessReview(attributes),
        ),
        timeout,
      ]);
      if (response === "timeout") {
        failedReviews++;
        return failed(`SubjectAccessReview got no answer within ${timeoutMs} ms`);
      }
      if (!response.ok) {
        failedReviews++;
        return failed(`SubjectAccessReview failed: ${response.error.message}`);
      }
      if (response.value.status !== 201 && response.value.status !== 200) {
        failedReviews++;
        return failed(`SubjectAccessReview failed: ${statusMessage(response.value)}`);
      }
      const decision = decisionFromReview(response.value.body);
      cache.set(attributes, decision);
      return decision;
    } finally {
      clearTimeout(timer);
    }
  }

  const source: SarAuthorizer = {
    cached: (attributes) => cache.get(attributes),
    fetch: (list) => mapLimit(list, concurrency, review),
    evaluate(run) {
      // Later rounds ask the cache again for the checks it answered: count each check once.
      const hit = new Set<string>();
      const counting: AuthzSource = {
        cached(attributes) {
          const decision = cache.get(attributes);
          if (decision !== undefined) {
            const key = authzKey(attributes);
            if (!hit.has(key)) {
              hit.add(key);
              cacheHits++;
            }
          }
          return decision;
        },
        fetch: source.fetch,
      };
      return evaluateWithAuthorizer(counting, run, maxRounds);
    },
    get reviews() {
      return reviews;
    },
    get failedReviews() {
      return failedReviews;
    },
    get cacheHits() {
      return cacheHits;
    },
  };
  return source;
}

function failed(error: string): AuthzDecision {
  return { decision: "no-opinion", reason: "", error };
}
