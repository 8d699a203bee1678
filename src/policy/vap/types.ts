/**
 * admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding,
 * as belay holds them after {@link parsePolicies}: validated like the API server validates
 * them and with the API server's defaults applied, so no consumer needs to re-check a field.
 */
import type { KubeObject, Resource } from "../../resources/types.ts";

export const FAILURE_POLICIES = ["Fail", "Ignore"] as const;
/** What happens when a policy cannot be evaluated (CEL error, missing params, …). Default `Fail`. */
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

export const MATCH_POLICIES = ["Equivalent", "Exact"] as const;
/** Whether a rule also matches a request made through an equivalent resource. Default `Equivalent`. */
export type MatchPolicy = (typeof MATCH_POLICIES)[number];

export const OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"] as const;
/** A rule's operation; `*` is every operation. */
export type RuleOperation = (typeof OPERATIONS)[number];
/** The operation of one admission request. */
export type Operation = Exclude<RuleOperation, "*">;

export const SCOPES = ["*", "Cluster", "Namespaced"] as const;
/** A rule's scope. Default `*`. */
export type RuleScope = (typeof SCOPES)[number];

export const VALIDATION_ACTIONS = ["Audit", "Deny", "Warn"] as const;
/** What a binding does with a failed validation. */
export type ValidationAction = (typeof VALIDATION_ACTIONS)[number];

/** What a binding does when its paramRef finds no params. Required when paramRef is set. */
export type ParameterNotFoundAction = "Allow" | "Deny";

export const VALIDATION_REASONS = ["Forbidden", "Invalid", "RequestEntityTooLarge"] as const;
/** The HTTP status reason a failed validation answers with. */
export type ValidationReason = (typeof VALIDATION_REASONS)[number];

/** `metav1.LabelSelectorRequirement`, validated. */
export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values: string[];
}

/** `metav1.LabelSelector`, validated; `{}` selects everything. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: LabelSelectorRequirement[];
}

/** `NamedRuleWithOperations` with `scope` defaulted. */
export interface NamedRule {
  resourceNames: string[];
  operations: RuleOperation[];
  apiGroups: string[];
  apiVersions: string[];
  /** `pods`, `pods/log`, `*`, `*\/scale`, `pods/*`, `*\/*`. */
  resources: string[];
  scope: RuleScope;
}

/** `MatchResources` with the defaults applied (`Equivalent`, empty selectors). */
export interface MatchResources {
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
  resourceRules: NamedRule[];
  excludeResourceRules: NamedRule[];
  matchPolicy: MatchPolicy;
}

/** The kind of the params a policy takes. */
export interface ParamKind {
  apiVersion: string;
  kind: string;
}

export interface Validation {
  expression: string;
  /** Empty when not set. */
  message: string;
  /** Empty when not set. */
  messageExpression: string;
  /** Unset means `Invalid` when the request is denied. */
  reason?: ValidationReason;
}

export interface AuditAnnotation {
  key: string;
  valueExpression: string;
}

export interface MatchCondition {
  name: string;
  expression: string;
}

export interface Variable {
  name: string;
  expression: string;
}

export interface ValidatingAdmissionPolicySpec {
  paramKind?: ParamKind;
  matchConstraints: MatchResources;
  validations: Validation[];
  failurePolicy: FailurePolicy;
  auditAnnotations: AuditAnnotation[];
  matchConditions: MatchCondition[];
  variables: Variable[];
}

/** `ParamRef`: exactly one of `name` and `selector`. */
export interface ParamRef {
  /** Empty when `selector` is used. */
  name: string;
  /** Empty: the request's namespace for namespaced params (none for cluster-scoped params). */
  namespace: string;
  selector?: LabelSelector;
  parameterNotFoundAction: ParameterNotFoundAction;
}

export interface ValidatingAdmissionPolicyBindingSpec {
  policyName: string;
  paramRef?: ParamRef;
  /** Unset: the binding matches everything the policy matches. */
  matchResources?: MatchResources;
  /** Non-empty, unique, never both `Deny` and `Warn`. */
  validationActions: ValidationAction[];
}

/** Object metadata belay keeps. */
export interface PolicyMetadata {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A validated, defaulted ValidatingAdmissionPolicy. */
export interface ValidatingAdmissionPolicy {
  apiVersion: string;
  kind: "ValidatingAdmissionPolicy";
  metadata: PolicyMetadata;
  spec: ValidatingAdmissionPolicySpec;
  /** The loaded object (for file/line of later CEL compile errors via `locate`). */
  source: Resource;
}

/** A validated, defaulted ValidatingAdmissionPolicyBinding. */
export interface ValidatingAdmissionPolicyBinding {
  apiVersion: string;
  kind: "ValidatingAdmissionPolicyBinding";
  metadata: PolicyMetadata;
  spec: ValidatingAdmissionPolicyBindingSpec;
  source: Resource;
}

/** A group/version/resource, as admission attributes carry it. */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** A group/version/kind. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/**
 * One admission request, as `admission.Attributes` describe it. Build it from a manifest with
 * `requestForObject`.
 */
export interface AdmissionRequest {
  operation: Operation;
  /** The resource requested; `subresource` is "" for the main resource. */
  resource: GroupVersionResource & { subresource: string };
  kind: GroupVersionKind;
  /** "" for cluster-scoped objects; for a Namespace, its own name (as the API server sets it). */
  namespace: string;
  /** "" when the name is generated by the server. */
  name: string;
  /** The new object (null on DELETE, and on CONNECT unless the options are given). */
  object: KubeObject | null;
  /** The old object on UPDATE and DELETE, else null. */
  oldObject: KubeObject | null;
  /**
   * The Namespace object of the request's namespace, when known. Needed when a
   * namespaceSelector must be evaluated for a namespaced request.
   */
  namespaceObject?: KubeObject | null;
}
