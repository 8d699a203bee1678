/**
 * The CEL half of ValidatingAdmissionPolicy: compile policies once, then evaluate admission
 * requests with kube-apiserver's semantics (k8s.io/apiserver policy/validating: validator.go
 * and dispatcher.go) — matchConditions, variables, validations with message /
 * messageExpression / reason, auditAnnotations, failurePolicy, validationActions — and answer
 * as the API server would: allowed or a denial status, warnings and audit annotations.
 */
import {
  type Activation,
  type AuthzUser,
  type CelAuthorizer,
  type CelEnvironment,
  type CompiledExpression,
  type CostBudget,
  createCostBudget,
  type EvaluationResult,
  MAX_MESSAGE_EXPRESSION_LENGTH,
  requestOnlyKey,
  type VariableMemo,
} from "../../cel/index.ts";
import { ObjectMemo } from "../../object-memo.ts";
import { locate } from "../../resources/locate.ts";
import { formatPath } from "../../resources/path.ts";
import type { KubeObject } from "../../resources/types.ts";
import type {
  AdmissionRequest,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
  Validation,
  ValidationAction,
} from "./types.ts";
import { evaluationUnits, type UnitOptions } from "./units.ts";

/** A policy with every expression compiled (once, at load). */
export interface CompiledPolicy {
  policy: ValidatingAdmissionPolicy;
  matchConditions: { name: string; expression: CompiledExpression }[];
  validations: {
    validation: Validation;
    expression: CompiledExpression;
    messageExpression?: CompiledExpression;
  }[];
  auditAnnotations: { key: string; expression: CompiledExpression }[];
  variables: Record<string, CompiledExpression>;
}

/** A CEL compile error of a policy, with its field path and source position. */
export interface PolicyCompileError {
  policy: string;
  /** `spec.validations[0].expression: compilation failed: …` */
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

/**
 * Compile every expression of every policy. A policy with a compile error is left out (the
 * API server rejects such a policy at creation) and each error is reported with its field
 * path and file position. Never throws.
 */
export function compilePolicies(
  policies: readonly ValidatingAdmissionPolicy[],
  env: CelEnvironment,
): { compiled: CompiledPolicy[]; errors: PolicyCompileError[] } {
  const compiled: CompiledPolicy[] = [];
  const errors: PolicyCompileError[] = [];
  for (const policy of policies) {
    const problems: PolicyCompileError[] = [];
    const compile = (path: (string | number)[], text: string, expectedType?: "bool" | "string") => {
      const result = env.compile(text, expectedType ? { expectedType } : {});
      if (result.ok) return result.value;
      const position = locate(policy.source, path);
      for (const error of result.error) {
        problems.push({
          policy: policy.metadata.name,
          message: `${formatPath(path)}: compilation failed: ${error.message}`,
          ...(position ? { file: position.file, line: position.line, column: position.column } : {}),
        });
      }
      return undefined;
    };
    const spec = policy.spec;
    const variables: Record<string, CompiledExpression> = {};
    spec.variables.forEach((v, i) => {
      const c = compile(["spec", "variables", i, "expression"], v.expression);
      if (c) variables[v.name] = c;
    });
    const matchConditions = spec.matchConditions.flatMap((m, i) => {
      const c = compile(["spec", "matchConditions", i, "expression"], m.expression, "bool");
      return c ? [{ name: m.name, expression: c }] : [];
    });
    const validations = spec.validations.flatMap((validation, i) => {
      const expression = compile(["spec", "validations", i, "expression"], validation.expression, "bool");
      const messageExpression =
        validation.messageExpression === ""
          ? undefined
          : compile(["spec", "validations", i, "messageExpression"], validation.messageExpression, "string");
      if (!expression) return [];
      return [messageExpression ? { validation, expression, messageExpression } : { validation, expression }];
    });
    const auditAnnotations = spec.auditAnnotations.flatMap((a, i) => {
      const c = compile(["spec", "auditAnnotations", i, "valueExpression"], a.valueExpression);
      return c ? [{ key: a.key, expression: c }] : [];
    });
    if (problems.length > 0) errors.push(...problems);
    else compiled.push({ policy, matchConditions, validations, auditAnnotations, variables });
  }
  return { compiled, errors };
}

/** The user making a request (`request.userInfo`). */
export interface RequestUser {
  username: string;
  groups: string[];
  uid?: string;
  /** `userInfo.extra`; passed to authorizer checks (a SubjectAccessReview's `extra`). */
  extra?: Record<string, string[]>;
}

/** Options of {@link evaluateAdmission}. */
export interface AdmissionOptions extends UnitOptions {
  user?: RequestUser;
  /**
   * Answers `authorizer` checks, made as `user` (or the service account of
   * `authorizer.serviceAccount`). Without one, `authorizer` is null and expressions using it
   * fail with an evaluation error (decided by the failurePolicy).
   */
  authorizer?: CelAuthorizer;
  dryRun?: boolean;
}

/** One failed validation (or evaluation error under failurePolicy Fail) of one policy binding. */
export interface PolicyViolation {
  policy: string;
  binding: string;
  /** Index of the validation, or undefined for an error of the whole policy evaluation. */
  validationIndex?: number;
  /** `violation`: an expression returned false; `error`: evaluation failed (failurePolicy Fail). */
  kind: "violation" | "error" | "config-error";
  actions: readonly ValidationAction[];
  message: string;
  reason: string;
}

/** What the API server answers for a request, as admission.k8s.io AdmissionResponse fields. */
export interface AdmissionDecision {
  allowed: boolean;
  /** Present when denied. */
  status?: { code: number; reason: string; message: string };
  warnings: string[];
  auditAnnotations: Record<string, string>;
  /** Every failed validation with the binding's actions, for findings and logs. */
  violations: PolicyViolation[];
}

const VALIDATION_FAILURE_KEY = "validation.policy.admission.k8s.io/validation_failure";
const BUDGET_MESSAGE =
  "validation failed due to running out of cost budget, no further validation rules will be run";

/**
 * Evaluate compiled policies on one request the way kube-apiserver's ValidatingAdmissionPolicy
 * plugin does, and answer as it would. Never throws.
 */
export function evaluateAdmission(...args: Parameters<typeof evaluateMatched>): AdmissionDecision {
  return (
    evaluateMatched(...args) ?? {
      allowed: true,
      warnings: [],
      auditAnnotations: {},
      violations: [],
    }
  );
}

/**
 * {@link evaluateAdmission}, or undefined when no policy and binding of the arrays matches the
 * request (nothing was evaluated; the API server admits). Never throws.
 */
export function evaluateMatched(
  env: CelEnvironment,
  policies: readonly CompiledPolicy[],
  bindings: readonly ValidatingAdmissionPolicyBinding[],
  request: AdmissionRequest,
  params: readonly KubeObject[],
  options: AdmissionOptions = {},
): AdmissionDecision | undefined {
  const { byName, definitions } = policyIndex(policies);
  const units = evaluationUnits(definitions, bindings, request, params, options);
  // Nothing matched (the usual case for most policies of a request): nothing to build.
  if (units.length === 0) return undefined;
  const violations: PolicyViolation[] = [];
  const denied: { message: string; reason: string }[] = [];
  const warnings: string[] = [];
  const failures: {
    message: string;
    policy: string;
    binding: string;
    expressionIndex: number;
    validationActions: readonly ValidationAction[];
  }[] = [];
  const annotations = new Map<string, string[]>();

  for (const unit of units) {
    if (unit.type === "config-error") {
      if (!unit.denies) continue;
      denied.push({ message: unit.message, reason: "Invalid" });
      violations.push({
        policy: unit.policy.metadata.name,
        binding: unit.binding?.metadata.name ?? "",
        kind: "config-error",
        actions: ["Deny"],
        message: unit.error,
        reason: "Invalid",
      });
      continue;
    }
    const compiled = byName.get(unit.policy.metadata.name);
    if (!compiled) continue;
    const policyName = unit.policy.metadata.name;
    const bindingName = unit.binding.metadata.name;
    const failClosed = unit.policy.spec.failurePolicy === "Fail";
    const decisions = validate(env, compiled, unit.param, request, unit.resource, unit.matchKind, options);

    for (const decision of decisions.validations) {
      if (decision.kind === "error" && !failClosed) continue;
      const actions = unit.binding.spec.validationActions;
      violations.push({ policy: policyName, binding: bindingName, ...decision, actions });
      for (const action of actions) {
        if (action === "Deny") {
          denied.push({
            message: `ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}' denied request: ${decision.message}`,
            reason: decision.reason,
          });
        } else if (action === "Warn") {
          warnings.push(
            `Validation failed for ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}': ${decision.message}`,
          );
        } else {
          failures.push({
            message: decision.message,
            policy: unit.binding.spec.policyName,
            binding: bindingName,
            expressionIndex: decision.validationIndex ?? 0,
            validationActions: actions,
          });
        }
      }
    }
    for (const annotation of decisions.annotations) {
      if (annotation.kind === "error") {
        if (!failClosed) continue;
        denied.push({
          message: `ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}' denied request: ${annotation.message}`,
          reason: "Invalid",
        });
        continue;
      }
      const key = `${policyName}/${annotation.key}`;
      const values = annotations.get(key) ?? [];
      if (!values.includes(annotation.value)) values.push(annotation.value.slice(0, 10 * 1024));
      annotations.set(key, values);
    }
  }

  const auditAnnotations: Record<string, string> = {};
  if (annotations.size > 0) {
    for (const [key, values] of [...annotations].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      auditAnnotations[key] = values.join(", ");
    }
  }
  if (failures.length > 0) auditAnnotations[VALIDATION_FAILURE_KEY] = JSON.stringify(failures.slice(0, 50));
  const first = denied[0];
  if (!first) return { allowed: true, warnings, auditAnnotations, violations };
  return {
    allowed: false,
    status: { code: reasonToCode(first.reason), reason: first.reason, message: first.message },
    warnings,
    auditAnnotations,
    violations,
  };
}

const policyIndexes = new WeakMap<
  readonly CompiledPolicy[],
  { byName: Map<string, CompiledPolicy>; definitions: ValidatingAdmissionPolicy[] }
>();

/**
 * The policies by name and their definitions, once per array: the webhook evaluates the same
 * one-policy arrays for every request. An array must not change after it is first evaluated.
 */
function policyIndex(policies: readonly CompiledPolicy[]): {
  byName: Map<string, CompiledPolicy>;
  definitions: ValidatingAdmissionPolicy[];
} {
  let index = policyIndexes.get(policies);
  if (index === undefined || index.definitions.length !== policies.length) {
    index = {
      byName: new Map(policies.map((p) => [p.policy.metadata.name, p])),
      definitions: policies.map((p) => p.policy),
    };
    policyIndexes.set(policies, index);
  }
  return index;
}

/** HTTP status code for a denial reason, as the API server maps it. */
export function reasonToCode(reason: string): number {
  switch (reason) {
    case "Forbidden":
      return 403;
    case "Unauthorized":
      return 401;
    case "RequestEntityTooLarge":
      return 413;
    default:
      return 422;
  }
}

interface ValidationDecision {
  kind: "violation" | "error";
  validationIndex?: number;
  message: string;
  reason: string;
}

type AnnotationDecision = { kind: "value"; key: string; value: string } | { kind: "error"; message: string };

/**
 * What the policies of one request share, kept on its `request` variable (one per request,
 * resource and kind matched): `variables` values, and the results of matchConditions that
 * read only the request's bindings (see {@link conditionResult}).
 */
interface RequestMemo {
  variables: VariableMemo;
  conditions: Map<number, EvaluationResult>;
}
const requestMemos = new ObjectMemo<object, RequestMemo>("requestMemo");
const newRequestMemo = (): RequestMemo => ({ variables: new Map(), conditions: new Map() });

/**
 * A matchCondition's result on this request. One that reads nothing but `object`,
 * `oldObject`, `request` and `namespaceObject` gives every policy of the request the same
 * value at the same cost (the catalog's `request.namespace != 'kube-system'` is in 16
 * policies): it is evaluated once and then charged to each policy's budget as evaluating it
 * would. Reused only when that budget still has room for its cost (else evaluating it there
 * would stop at the budget); a cost-limit stop is never remembered.
 */
function conditionResult(
  expression: CompiledExpression,
  conditions: Map<number, EvaluationResult>,
  budget: CostBudget,
  activation: () => Activation,
): EvaluationResult {
  const key = requestOnlyKey(expression);
  if (key !== undefined) {
    const known = conditions.get(key);
    if (known !== undefined && known.cost <= budget.remaining) {
      budget.remaining -= known.cost;
      return known;
    }
  }
  const result = expression.evaluate(activation(), { costBudget: budget });
  if (key !== undefined && !(result.kind === "error" && result.code === "cost-limit"))
    conditions.set(key, result);
  return result;
}

/** One policy binding (with one param) on one request: validator.go's Validate. */
function validate(
  env: CelEnvironment,
  compiled: CompiledPolicy,
  param: KubeObject | null,
  request: AdmissionRequest,
  resource: { group: string; version: string; resource: string },
  matchKind: { group: string; version: string; kind: string },
  options: AdmissionOptions,
): { validations: ValidationDecision[]; annotations: AnnotationDecision[] } {
  const requestJson = sharedRequestJson(request, resource, matchKind, options);
  const bindings = {
    object: request.object,
    oldObject: request.oldObject,
    request: requestJson,
    params: param,
    namespaceObject: request.namespaceObject ?? null,
  };
  const memo = requestMemos.getOrCompute(requestJson, newRequestMemo);
  // messageExpression and auditAnnotations run in their own activations without `authorizer`
  // (validator.go binds it for matchConditions and validations only), each with its own cache
  // of `variables`: a variable that uses the authorizer is an error there.
  const withoutAuthorizer = {
    lazyVariables: compiled.variables,
    // Every policy of the request reads the same bindings: share variables they have in common.
    variableMemo: memo.variables,
    requestResource: {
      group: resource.group,
      resource: resource.resource,
      subresource: request.resource.subresource,
      namespace: request.namespace,
      name: request.name,
    },
  };
  const activationOptions = options.authorizer
    ? { ...withoutAuthorizer, authorizer: options.authorizer, authorizerUser: authzUser(options.user) }
    : withoutAuthorizer;
  const error = (message: string): ValidationDecision => ({ kind: "error", message, reason: "Invalid" });

  // matchConditions: any false skips the policy; otherwise errors decide by failurePolicy.
  let matchActivation: Activation | undefined;
  const activateMatch = () => (matchActivation ??= env.activation(bindings, activationOptions));
  const matchBudget = createCostBudget();
  const matchErrors: string[] = [];
  for (const condition of compiled.matchConditions) {
    const result = conditionResult(condition.expression, memo.conditions, matchBudget, activateMatch);
    if (result.kind === "value" && result.value === false) return { validations: [], annotations: [] };
    if (result.kind === "error") matchErrors.push(errorText(condition.expression, result));
  }
  if (matchErrors.length > 0) {
    return {
      validations: [
        error(matchErrors.length === 1 ? (matchErrors[0] as string) : `[${matchErrors.join(", ")}]`),
      ],
      annotations: [],
    };
  }

  const activation = env.activation(bindings, activationOptions);
  let messageActivation: ReturnType<typeof env.activation> | undefined;
  const budget = createCostBudget();
  const validations: ValidationDecision[] = [];
  for (let index = 0; index < compiled.validations.length; index++) {
    const { validation, expression, messageExpression } = compiled.validations[
      index
    ] as CompiledPolicy["validations"][number];
    const result = expression.evaluate(activation, { costBudget: budget });
    if (result.kind === "error") {
      if (isBudgetExhausted(result)) return { validations: [error(BUDGET_MESSAGE)], annotations: [] };
      validations.push({ ...error(errorText(expression, result)), validationIndex: index });
      continue;
    }
    if (result.value === true) continue;
    let message = "";
    if (messageExpression) {
      messageActivation ??= env.activation(bindings, withoutAuthorizer);
      const evaluated = messageExpression.evaluate(messageActivation, { costBudget: budget });
      if (evaluated.kind === "error" && isBudgetExhausted(evaluated)) {
        validations.push({ ...error(`failed messageExpression: ${BUDGET_MESSAGE}`), validationIndex: index });
        continue;
      }
      if (evaluated.kind === "value" && typeof evaluated.value === "string") {
        const trimmed = evaluated.value.trim();
        message = trimmed.length > MAX_MESSAGE_EXPRESSION_LENGTH || trimmed.includes("\n") ? "" : trimmed;
      }
    }
    if (message === "") message = validation.message.trim();
    if (message === "") message = `failed expression: ${validation.expression.trim()}`;
    validations.push({
      kind: "violation",
      validationIndex: index,
      message,
      reason: validation.reason ?? "Invalid",
    });
  }

  const annotations: AnnotationDecision[] = [];
  const annotationBudget = createCostBudget();
  const annotationActivation =
    compiled.auditAnnotations.length > 0 ? env.activation(bindings, withoutAuthorizer) : activation;
  for (const { key, expression } of compiled.auditAnnotations) {
    const result = expression.evaluate(annotationActivation, { costBudget: annotationBudget });
    if (result.kind === "error") annotations.push({ kind: "error", message: errorText(expression, result) });
    else if (typeof result.value === "string") annotations.push({ kind: "value", key, value: result.value });
    else if (result.value !== null) {
      annotations.push({
        kind: "error",
        message: `valueExpression '${expression.expression}' resulted in unsupported return type: ${typeof result.value}. Return type must be either string or null.`,
      });
    }
  }
  return { validations, annotations };
}

/** The request user as authorizer checks see it (`request.userInfo`). */
function authzUser(user: RequestUser | undefined): AuthzUser {
  if (user === undefined) return { name: "", groups: [] };
  return {
    name: user.username,
    groups: user.groups,
    ...(user.uid ? { uid: user.uid } : {}),
    ...(user.extra ? { extra: user.extra } : {}),
  };
}

function isBudgetExhausted(result: Extract<EvaluationResult, { kind: "error" }>): boolean {
  return result.code === "cost-limit" && result.message === BUDGET_MESSAGE;
}

function errorText(
  expression: CompiledExpression,
  result: Extract<EvaluationResult, { kind: "error" }>,
): string {
  return `expression '${expression.expression}' resulted in error: ${result.message}`;
}

/**
 * Request variables already built, per request: every policy of a request usually matches the
 * same resource and kind, and one shared object is converted to CEL once (`toCelShared`)
 * instead of once per policy. Holds one user/dryRun pair (the admission path has one per request).
 */
const requestJsonCache = new ObjectMemo<
  AdmissionRequest,
  { user: RequestUser | undefined; dryRun: boolean | undefined; built: RequestJsonEntry[] }
>("requestJson");

interface RequestJsonEntry {
  resource: { group: string; version: string; resource: string };
  matchKind: { group: string; version: string; kind: string };
  json: Record<string, unknown>;
}

function sharedRequestJson(
  request: AdmissionRequest,
  resource: { group: string; version: string; resource: string },
  matchKind: { group: string; version: string; kind: string },
  options: AdmissionOptions,
): Record<string, unknown> {
  let entry = requestJsonCache.get(request);
  if (entry === undefined || entry.user !== options.user || entry.dryRun !== options.dryRun) {
    entry = { user: options.user, dryRun: options.dryRun, built: [] };
    requestJsonCache.set(request, entry);
  }
  for (const b of entry.built) {
    if (
      b.resource.resource === resource.resource &&
      b.resource.group === resource.group &&
      b.resource.version === resource.version &&
      b.matchKind.kind === matchKind.kind &&
      b.matchKind.group === matchKind.group &&
      b.matchKind.version === matchKind.version
    )
      return b.json;
  }
  const json = admissionRequestJson(request, resource, matchKind, options);
  entry.built.push({ resource, matchKind, json });
  return json;
}

/** The `request` variable: admission.k8s.io/v1 AdmissionRequest fields as CEL sees them. */
function admissionRequestJson(
  request: AdmissionRequest,
  resource: { group: string; version: string; resource: string },
  matchKind: { group: string; version: string; kind: string },
  options: AdmissionOptions,
): Record<string, unknown> {
  const user = options.user ?? { username: "", groups: [] };
  return {
    kind: matchKind,
    resource,
    subResource: request.resource.subresource,
    requestKind: request.kind,
    requestResource: {
      group: request.resource.group,
      version: request.resource.version,
      resource: request.resource.resource,
    },
    requestSubResource: request.resource.subresource,
    name: request.name,
    namespace: request.namespace,
    operation: request.operation,
    userInfo: { username: user.username, uid: user.uid ?? "", groups: user.groups },
    dryRun: options.dryRun ?? false,
  };
}
