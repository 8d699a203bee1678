/**
 * User ValidatingAdmissionPolicies on a real admission request. The webhook has the request
 * the API server sent (operation, kind, resource, subresource, old object, user, dry run), so
 * it evaluates policies with the same core function as the engine (`evaluateAdmission`, here
 * as `evaluateMatched`) on that request, and keeps what a finding cannot carry: each
 * violation's binding actions (Deny, Warn, Audit) and the policies' auditAnnotations. The
 * findings equal the engine's `policyFindings` for the same request
 * (test/admission/policies.test.ts holds them together). Pure: no I/O.
 */

import type { CelAuthorizer } from "../cel/index.ts";
import type { PolicySet } from "../engine/policies.ts";
import { policyMeta, policyUsesAuthorizer, violationFinding } from "../engine/policies.ts";
import type { Finding } from "../findings/finding.ts";
import {
  type AdmissionRequest,
  type CompiledPolicy,
  evaluateMatched,
  type RequestUser,
  unitCacheKey,
  type ValidatingAdmissionPolicy,
  type ValidatingAdmissionPolicyBinding,
  type ValidationAction,
} from "../policy/vap/index.ts";
import type { KubeObject, Resource } from "../resources/types.ts";
import { type Action, type ActionTable, policyAction } from "./config.ts";

/** The upstream key under which Audit failures are recorded (validating/dispatcher.go). */
export const VALIDATION_FAILURE_KEY = "validation.policy.admission.k8s.io/validation_failure";

/** One failed validation of one policy binding, with what it does to the request. */
export interface PolicyHit {
  finding: Finding;
  actions: readonly Action[];
  /** The violation's reason (`Invalid` unless the validation names one): its HTTP status when only policies deny. */
  reason: string;
  /** For the Audit record: upstream's `validation_failure` entry. */
  failure: {
    message: string;
    policy: string;
    binding: string;
    expressionIndex: number;
    validationActions: readonly ValidationAction[];
  };
}

/** What the policies said about one request. */
export interface PolicyOutcome {
  hits: PolicyHit[];
  /** The policies' own auditAnnotations, keyed `<policy>/<key>` as the API server keys them. */
  annotations: Record<string, string>;
  /** Evaluation time of each policy that matched the request (and so was evaluated), in seconds. */
  timings: { policy: string; seconds: number }[];
}

/** A policy set prepared for the webhook: bindings grouped by policy, once. */
export interface PreparedPolicies {
  set: PolicySet;
  /** `alone` is `[compiled]`, kept so that per-array work in the evaluator is done once. */
  units: {
    compiled: CompiledPolicy;
    alone: readonly CompiledPolicy[];
    bindings: ValidatingAdmissionPolicyBinding[];
  }[];
  /** Every policy's definition, for {@link unitCacheKey}. */
  definitions: readonly ValidatingAdmissionPolicy[];
  /**
   * Per request key (see {@link unitCacheKey}; selector-free sets only): the indices of the
   * units whose policy matched such a request. Most policies match few kinds: a request then
   * visits only its own, not all of them.
   */
  matched: Map<string, number[]>;
}

/** Most request keys remembered in {@link PreparedPolicies.matched}; then it starts over. */
const MATCHED_KEYS_LIMIT = 4096;

/** Group bindings by policy name; policies without bindings are left out (they never act). */
export function preparePolicies(set: PolicySet): PreparedPolicies {
  const byPolicy = new Map<string, ValidatingAdmissionPolicyBinding[]>();
  for (const binding of set.bindings) {
    const list = byPolicy.get(binding.spec.policyName) ?? [];
    list.push(binding);
    byPolicy.set(binding.spec.policyName, list);
  }
  return {
    set,
    definitions: set.policies.map((compiled) => compiled.policy),
    matched: new Map(),
    // In name order, as the API server evaluates them.
    units: [...set.policies]
      .sort((a, b) => (a.policy.metadata.name < b.policy.metadata.name ? -1 : 1))
      .flatMap((compiled) => {
        const bindings = byPolicy.get(compiled.policy.metadata.name);
        return bindings ? [{ compiled, alone: [compiled], bindings }] : [];
      }),
  };
}

const ACTION_OF: Record<ValidationAction, Action> = { Deny: "deny", Warn: "warn", Audit: "audit" };

/**
 * Evaluate every policy on `request` (whose `namespaceObject` the caller fills in), with
 * `resource` for findings. `clock` returns seconds (performance.now()/1000 in the server).
 * `authorizer` answers CEL's `authorizer` checks as `user` (uid and extra included), else the
 * set's offline one; with neither, expressions using it are evaluation errors. Synchronous and
 * pure given a synchronous authorizer, so a live one can re-run it in rounds. Never throws.
 */
export function evaluatePolicies(
  prepared: PreparedPolicies,
  request: AdmissionRequest,
  resource: Resource,
  user: RequestUser,
  dryRun: boolean,
  actions: ActionTable,
  clock: () => number,
  authorizer?: CelAuthorizer,
): PolicyOutcome {
  const outcome: PolicyOutcome = { hits: [], annotations: {}, timings: [] };
  const { set } = prepared;
  const checks = authorizer ?? set.authorizer;
  const options = { user, dryRun, ...(checks ? { authorizer: checks } : {}) };
  // The policies that match requests like this one, when the set allows knowing it by key.
  const key = unitCacheKey(prepared.definitions, set.bindings, request);
  const known = key === undefined ? undefined : prepared.matched.get(key);
  // Collected only when this request's key is to be remembered.
  const matched: number[] | undefined = key !== undefined && known === undefined ? [] : undefined;
  const count = known?.length ?? prepared.units.length;
  for (let n = 0; n < count; n++) {
    const index = known === undefined ? n : (known[n] as number);
    const { compiled, alone, bindings } = prepared.units[index] as PreparedPolicies["units"][number];
    const name = compiled.policy.metadata.name;
    const start = clock();
    const decision = evaluateMatched(set.env, alone, bindings, request, set.params, options);
    // A policy that does not match the request is not evaluated on it: no time to report.
    if (decision === undefined) continue;
    matched?.push(index);
    outcome.timings.push({ policy: name, seconds: clock() - start });
    for (const [key, value] of Object.entries(decision.auditAnnotations))
      if (key !== VALIDATION_FAILURE_KEY) outcome.annotations[key] = value;
    // Most policies pass: look the override up only for one that has something to report.
    if (decision.violations.length === 0) continue;
    const override = policyAction(name, actions);
    if (override === "off") continue;
    const meta = set.metas.get(name) ?? policyMeta(compiled.policy as ValidatingAdmissionPolicy);
    for (const violation of decision.violations) {
      outcome.hits.push({
        finding: violationFinding(meta, resource, violation),
        actions:
          override !== undefined ? [override] : [...new Set(violation.actions.map((a) => ACTION_OF[a]))],
        reason: violation.reason,
        failure: {
          message: violation.message,
          policy: violation.policy,
          binding: violation.binding,
          expressionIndex: violation.validationIndex ?? 0,
          validationActions: override !== undefined ? ["Audit"] : violation.actions,
        },
      });
    }
  }
  if (key !== undefined && matched !== undefined) {
    if (prepared.matched.size >= MATCHED_KEYS_LIMIT) prepared.matched.clear();
    prepared.matched.set(key, matched);
  }
  return outcome;
}

/**
 * Names of the policies in `set` whose expressions mention `authorizer` (the same test as the
 * set's `usesAuthorizer`), sorted: the ones a live authorizer is needed for.
 */
export function policiesUsingAuthorizer(set: PolicySet): string[] {
  return set.policies
    .filter(policyUsesAuthorizer)
    .map((policy) => policy.policy.metadata.name)
    .sort();
}

/** The Namespace object the API server would have for `name` when the real one is unknown. */
export function syntheticNamespace(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels: { "kubernetes.io/metadata.name": name } },
  };
}
