/**
 * User ValidatingAdmissionPolicies in the engine: loaded and compiled once, evaluated on
 * every resource like a CREATE admission request, reported as findings in the common schema
 * (rule id = policy name; Deny → fail, Warn/Audit → warn, evaluation error → error).
 */
import {
  type CelAuthorizer,
  type CelEnvironment,
  createCelEnvironment,
  type K8sVersion,
  VAP_VARIABLES,
} from "../cel/index.ts";
import { type Finding, type InputError, isSeverity, type Status } from "../findings/finding.ts";
import {
  type AdmissionRequest,
  type CompiledPolicy,
  compilePolicies,
  evaluateAdmission,
  type Operation,
  type PolicyViolation,
  parsePolicies,
  type RequestUser,
  rbacAuthorizer,
  requestForObject,
  type ValidatingAdmissionPolicy,
  type ValidatingAdmissionPolicyBinding,
} from "../policy/vap/index.ts";
import { buildRbacIndex, readRbacObjects } from "../rbac/index.ts";
import type { KubeObject, Resource } from "../resources/types.ts";
import type { RuleMeta } from "../rules/rule.ts";
import { makeFinding } from "./make-finding.ts";

/** Compiled policies with their bindings and param objects, ready for many evaluations. */
export interface PolicySet {
  env: CelEnvironment;
  policies: CompiledPolicy[];
  bindings: ValidatingAdmissionPolicyBinding[];
  /** Objects that may be params (everything in the policy sources that is not a policy or binding). */
  params: KubeObject[];
  /** Finding metadata per policy name (from its `belay.dev/*` annotations). */
  metas: Map<string, RuleMeta>;
  /**
   * Answers `authorizer` checks offline (see {@link offlineAuthorizer}) when no live one is
   * given with the request. Without any, `authorizer` is null and expressions using it are
   * evaluation errors, decided by the failurePolicy.
   */
  authorizer?: CelAuthorizer;
  /**
   * Whether any expression mentions `authorizer`: only then does a live caller need
   * SubjectAccessReviews (`makeSarAuthorizer(...).evaluate`); otherwise evaluate directly.
   */
  usesAuthorizer: boolean;
}

/**
 * An offline authorizer for CEL from the Roles, ClusterRoles and bindings among `resources`
 * (other kinds are ignored), answering as the API server's RBAC authorizer would for those
 * objects. ClusterRoles are aggregated unless `aggregate` is false (objects read from a live
 * cluster, where the controller already wrote the aggregated rules). Problems (a binding to a
 * missing role, an invalid aggregation selector) are returned as messages. Never throws.
 */
export function offlineAuthorizer(
  resources: readonly Resource[],
  options: { aggregate?: boolean } = {},
): {
  authorizer: CelAuthorizer;
  problems: string[];
  objects: number;
} {
  const read = readRbacObjects(resources);
  const index = buildRbacIndex(read.objects, options);
  return {
    authorizer: rbacAuthorizer(index),
    problems: [...read.problems, ...index.problems],
    objects: read.objects.roles.length + read.objects.bindings.length,
  };
}

const POLICY_KINDS = new Set(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);

/**
 * Load, validate and compile policies from resources. Every problem (invalid field, CEL
 * compile error) is an input error with file and line; the valid policies still load.
 * Expressions are compiled as kube-apiserver `k8sVersion` (default: the newest modelled)
 * checks new policies: against the previous release's CEL environment
 * (`expressions: "new"`, the default); `stored` compiles them as it runs stored policies.
 */
export function loadPolicySet(
  resources: readonly Resource[],
  k8sVersion?: K8sVersion,
  options: { expressions?: "new" | "stored" } = {},
): { set: PolicySet; errors: InputError[] } {
  const env = createCelEnvironment({
    variables: VAP_VARIABLES,
    expressions: options.expressions ?? "new",
    ...(k8sVersion ? { k8sVersion } : {}),
  });
  const parsed = parsePolicies(resources.filter((r) => POLICY_KINDS.has(r.ref.kind)));
  const errors: InputError[] = parsed.errors.map((e) => ({
    file: e.file ?? "<policy>",
    ...(e.line !== undefined ? { line: e.line } : {}),
    ...(e.column !== undefined ? { column: e.column } : {}),
    message: e.message,
  }));
  const { compiled, errors: compileErrors } = compilePolicies(parsed.policies, env);
  for (const e of compileErrors) {
    errors.push({
      file: e.file ?? "<policy>",
      ...(e.line !== undefined ? { line: e.line } : {}),
      ...(e.column !== undefined ? { column: e.column } : {}),
      message: `ValidatingAdmissionPolicy "${e.policy}": ${e.message}`,
    });
  }
  const metas = new Map(compiled.map((c) => [c.policy.metadata.name, policyMeta(c.policy)]));
  const params = resources.filter((r) => !POLICY_KINDS.has(r.ref.kind)).map((r) => r.object);
  return {
    set: {
      env,
      policies: compiled,
      bindings: parsed.bindings,
      params,
      metas,
      usesAuthorizer: compiled.some(policyUsesAuthorizer),
    },
    errors,
  };
}

/** Whether any expression of the policy mentions CEL's `authorizer` (it then needs one to answer). */
export function policyUsesAuthorizer(policy: CompiledPolicy): boolean {
  const expressions = [
    ...policy.matchConditions.map((m) => m.expression),
    ...policy.validations.flatMap((v) =>
      v.messageExpression ? [v.expression, v.messageExpression] : [v.expression],
    ),
    ...policy.auditAnnotations.map((a) => a.expression),
    ...Object.values(policy.variables),
  ];
  return expressions.some((e) => /\bauthorizer\b/.test(e.expression));
}

/** Rule metadata of a policy, from its `belay.dev/*` annotations where present. */
export function policyMeta(policy: ValidatingAdmissionPolicy): RuleMeta {
  const a = policy.metadata.annotations;
  const severity = a["belay.dev/severity"];
  return {
    id: policy.metadata.name,
    title: a["belay.dev/title"] ?? `ValidatingAdmissionPolicy ${policy.metadata.name}`,
    severity: isSeverity(severity) ? severity : "medium",
    description:
      a["belay.dev/description"] ??
      `User policy ${policy.metadata.name} (ValidatingAdmissionPolicy), evaluated offline with kube-apiserver's semantics.`,
    remediation:
      a["belay.dev/remediation"] ??
      "Change the object so that the policy's validations hold, or ask the policy's owner for an exception.",
    frameworks: {},
    profiles: [],
  };
}

/**
 * The admission request around the evaluated object, when there is a real one (the webhook).
 * Without it, objects are evaluated as a CREATE by an anonymous user.
 */
export interface AdmissionContext {
  operation: Operation;
  oldObject?: KubeObject | null;
  /** The request's Namespace, when the caller knows it (else the one the API server would create). */
  namespaceObject?: KubeObject | null;
  user?: RequestUser;
  /** The requested resource, when it differs from the object's kind (subresources). */
  resource?: AdmissionRequest["resource"];
  dryRun?: boolean;
  /** Answers `authorizer` checks for this request (live: SubjectAccessReviews); wins over the set's. */
  authorizer?: CelAuthorizer;
}

/**
 * Findings of the policy set on one resource, evaluated as a CREATE request (or as the
 * given admission request). The namespace
 * object comes from the scanned resources, or is the one the API server would create (with
 * its `kubernetes.io/metadata.name` label). Never throws.
 */
export function policyFindings(
  resource: Resource,
  set: PolicySet,
  namespaces: ReadonlyMap<string, KubeObject>,
  admission?: AdmissionContext,
): Finding[] {
  if (POLICY_KINDS.has(resource.ref.kind) && !admission) return [];
  const namespace = resource.ref.namespace ?? "default";
  const namespaceObject = admission?.namespaceObject ??
    namespaces.get(namespace) ?? {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: { "kubernetes.io/metadata.name": namespace } },
    };
  const request = requestForObject(resource.object, admission?.operation ?? "CREATE", {
    namespaceObject,
    ...(admission?.oldObject ? { oldObject: admission.oldObject } : {}),
    ...(admission?.resource?.subresource ? { subresource: admission.resource.subresource } : {}),
  });
  if (admission?.resource) request.resource = admission.resource;
  const authorizer = admission?.authorizer ?? set.authorizer;
  const decision = evaluateAdmission(set.env, set.policies, set.bindings, request, set.params, {
    ...(admission?.user ? { user: admission.user } : {}),
    ...(authorizer ? { authorizer } : {}),
    ...(admission?.dryRun !== undefined ? { dryRun: admission.dryRun } : {}),
  });
  const findings: Finding[] = [];
  for (const violation of decision.violations) {
    const meta = set.metas.get(violation.policy) ?? {
      ...policyMeta({
        metadata: { name: violation.policy, labels: {}, annotations: {} },
      } as ValidatingAdmissionPolicy),
    };
    findings.push(violationFinding(meta, resource, violation));
  }
  return findings;
}

/**
 * The finding of one policy violation: `fail` when its binding denies, `warn` for Warn/Audit
 * only, `error` when the policy could not be evaluated or configured; the message names the
 * binding and validation. The one conversion `scan`, the audit and the webhook share.
 */
export function violationFinding(meta: RuleMeta, resource: Resource, violation: PolicyViolation): Finding {
  const status: Status =
    violation.kind !== "violation" ? "error" : violation.actions.includes("Deny") ? "fail" : "warn";
  const where =
    violation.binding === ""
      ? ""
      : ` (binding ${violation.binding}${violation.validationIndex !== undefined ? `, validation ${violation.validationIndex}` : ""})`;
  return makeFinding(meta, resource, [], status, `${violation.message}${where}`);
}
