/**
 * Load ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects the way the API
 * server admits them: every check of k8s.io/kubernetes
 * `pkg/apis/admissionregistration/validation/validation.go` (v1.37) that does not need CEL,
 * with the same field paths and wording, after the same defaulting
 * (`pkg/apis/admissionregistration/v1/defaults.go`). CEL expressions are only checked for
 * presence here; compiling them is the CEL step's job.
 */

import { locate } from "../../resources/locate.ts";
import type { FieldPath } from "../../resources/path.ts";
import type { KubeObject, Resource } from "../../resources/types.ts";
import {
  duplicate,
  type FieldError,
  fieldPathString,
  forbidden,
  formatFieldError,
  invalid,
  notSupported,
  required,
  tooMany,
} from "./field-error.ts";
import {
  dns1035LabelErrors,
  dns1123SubdomainErrors,
  isCelIdentifier,
  labelValueErrors,
  pathSegmentNameErrors,
  qualifiedNameErrors,
} from "./names.ts";
import { strictPathString, unknownFields } from "./strict-fields.ts";
import {
  type AuditAnnotation,
  FAILURE_POLICIES,
  type FailurePolicy,
  type LabelSelector,
  type LabelSelectorRequirement,
  MATCH_POLICIES,
  type MatchCondition,
  type MatchPolicy,
  type MatchResources,
  type NamedRule,
  OPERATIONS,
  type ParamKind,
  type ParamRef,
  type PolicyMetadata,
  type RuleOperation,
  type RuleScope,
  SCOPES,
  VALIDATION_ACTIONS,
  VALIDATION_REASONS,
  type ValidatingAdmissionPolicy,
  type ValidatingAdmissionPolicyBinding,
  type Validation,
  type ValidationAction,
  type ValidationReason,
  type Variable,
} from "./types.ts";

/** The API group of both kinds. */
export const ADMISSION_GROUP = "admissionregistration.k8s.io";
/** The versions whose schema this loader reads (v1beta1 has the same shape as v1). */
export const SUPPORTED_VERSIONS = ["v1", "v1beta1"] as const;

/** One problem with one policy or binding; the object is skipped, the others still load. */
export interface PolicyLoadError {
  kind: "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding";
  /** metadata.name ("" when missing). */
  name: string;
  /** The field path, e.g. `spec.validations[2].expression`. */
  field: string;
  /** The API server's field error, e.g. `spec.validations[2].expression: Required value: expression is not specified`. */
  fieldError: string;
  /** `ValidatingAdmissionPolicy "demo": <fieldError>`. */
  message: string;
  /** Where the field (or its nearest present ancestor) is, for objects loaded from files. */
  file?: string;
  line?: number;
  column?: number;
}

/** Result of {@link parsePolicies}. */
export interface ParsedPolicies {
  policies: ValidatingAdmissionPolicy[];
  bindings: ValidatingAdmissionPolicyBinding[];
  errors: PolicyLoadError[];
}

const MAX_MATCH_CONDITIONS = 64;
const MAX_AUDIT_ANNOTATIONS = 20;
const MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH = 5 * 1024;
const NEWLINES = /[\n\r]+/;
const PARAM_NOT_FOUND_ACTIONS = ["Deny", "Allow"] as const;

/** Whether a resource is a ValidatingAdmissionPolicy or a binding (any version of the group). */
export function isPolicyKind(resource: Resource): boolean {
  const { kind, apiVersion } = resource.object;
  return (
    (kind === "ValidatingAdmissionPolicy" || kind === "ValidatingAdmissionPolicyBinding") &&
    typeof apiVersion === "string" &&
    apiVersion.startsWith(`${ADMISSION_GROUP}/`)
  );
}

/**
 * Validate and default every ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding in
 * `resources` (other kinds are ignored). Every problem is reported, each with its field path
 * and the file/line of the field; an object with any problem is skipped, the others load.
 * A second object of the same kind and name is reported as a duplicate and skipped.
 * Never throws.
 */
export function parsePolicies(resources: readonly Resource[]): ParsedPolicies {
  const result: ParsedPolicies = { policies: [], bindings: [], errors: [] };
  const seen = {
    ValidatingAdmissionPolicy: new Set<string>(),
    ValidatingAdmissionPolicyBinding: new Set<string>(),
  };
  for (const resource of resources) {
    if (!isPolicyKind(resource)) continue;
    const kind = resource.object.kind as PolicyLoadError["kind"];
    const ctx = new Ctx();
    const version = String(resource.object.apiVersion).slice(ADMISSION_GROUP.length + 1);
    if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
      ctx.add(
        notSupported(
          ["apiVersion"],
          resource.object.apiVersion,
          SUPPORTED_VERSIONS.map((v) => `${ADMISSION_GROUP}/${v}`),
        ),
      );
    }
    const parsed =
      kind === "ValidatingAdmissionPolicy" ? readPolicy(ctx, resource) : readBinding(ctx, resource);
    const name = parsed.metadata.name;
    if (ctx.errors.length === 0 && name !== "") {
      if (seen[kind].has(name)) ctx.add(duplicate(["metadata", "name"], name));
      seen[kind].add(name);
    }
    // Strict decoding (kubectl's default field validation) rejects undeclared fields before
    // validation runs; they are reported first, then the validation errors, to help fix both.
    const unknown = unknownFields(kind, resource.object).map((path) =>
      unknownFieldError(kind, name, resource, path),
    );
    if (ctx.errors.length > 0 || unknown.length > 0) {
      result.errors.push(...unknown);
      for (const error of ctx.errors) result.errors.push(loadError(kind, name, resource, error));
      continue;
    }
    if (parsed.kind === "ValidatingAdmissionPolicy") result.policies.push(parsed);
    else result.bindings.push(parsed);
  }
  return result;
}

/**
 * An undeclared field, worded as the API server's strict decoding error:
 * `ValidatingAdmissionPolicy "demo": strict decoding error: unknown field "spec.validations[0].expresion"`.
 */
function unknownFieldError(
  kind: PolicyLoadError["kind"],
  name: string,
  resource: Resource,
  path: FieldPath,
): PolicyLoadError {
  const field = strictPathString(path);
  const fieldError = `unknown field ${JSON.stringify(field)}`;
  const out: PolicyLoadError = {
    kind,
    name,
    field,
    fieldError,
    message: `${kind} ${JSON.stringify(name)}: strict decoding error: ${fieldError}`,
  };
  const position = locate(resource, path);
  if (position) {
    out.file = position.file;
    out.line = position.line;
    out.column = position.column;
  }
  return out;
}

function loadError(
  kind: PolicyLoadError["kind"],
  name: string,
  resource: Resource,
  error: FieldError,
): PolicyLoadError {
  const fieldError = formatFieldError(error);
  const out: PolicyLoadError = {
    kind,
    name,
    field: fieldPathString(error.path),
    fieldError,
    message: `${kind} ${JSON.stringify(name)}: ${fieldError}`,
  };
  const position = locate(resource, error.path);
  if (position) {
    out.file = position.file;
    out.line = position.line;
    out.column = position.column;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading untrusted JSON. A value of the wrong type is what the API server's decoder rejects
// before validation; belay reports it as a field error (`must be a string`) and reads on.

/** Marks a value whose type was wrong (already reported). */
const BAD = Symbol("bad");
type Bad = typeof BAD;

class Ctx {
  readonly errors: FieldError[] = [];
  add(...errors: FieldError[]): void {
    this.errors.push(...errors);
  }
}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A field's value; YAML/JSON null is the same as absent (Go decodes it to the zero value). */
function get(obj: Obj, key: string): unknown {
  const value = obj[key];
  return value === null ? undefined : value;
}

function str(ctx: Ctx, value: unknown, path: FieldPath): string | undefined | Bad {
  if (value === undefined || typeof value === "string") return value;
  ctx.add(invalid(path, value, "must be a string"));
  return BAD;
}

function obj(ctx: Ctx, value: unknown, path: FieldPath): Obj | undefined | Bad {
  if (value === undefined || isObj(value)) return value;
  ctx.add(invalid(path, value, "must be an object"));
  return BAD;
}

function list(ctx: Ctx, value: unknown, path: FieldPath): unknown[] | undefined | Bad {
  if (value === undefined || Array.isArray(value)) return value;
  ctx.add(invalid(path, value, "must be a list"));
  return BAD;
}

/** A list of strings; items of another type are reported (and become ""). */
function strList(ctx: Ctx, value: unknown, path: FieldPath): string[] {
  const items = list(ctx, value, path);
  if (items === undefined || items === BAD) return [];
  return items.map((item, i) => {
    if (typeof item === "string") return item;
    ctx.add(invalid([...path, i], item, "must be a string"));
    return "";
  });
}

/** A map of strings (labels, annotations, matchLabels). */
function strMap(ctx: Ctx, value: unknown, path: FieldPath): Record<string, string> {
  const map = obj(ctx, value, path);
  const out: Record<string, string> = {};
  if (map === undefined || map === BAD) return out;
  for (const [key, item] of Object.entries(map)) {
    if (typeof item === "string") out[key] = item;
    else ctx.add(invalid([...path, key], item, "must be a string"));
  }
  return out;
}

function hasWildcard(items: readonly string[]): boolean {
  return items.includes("*");
}

// ---------------------------------------------------------------------------------------------
// Metadata

function readMetadata(ctx: Ctx, object: KubeObject): PolicyMetadata {
  const metadata = obj(ctx, get(object, "metadata"), ["metadata"]);
  const m = metadata === undefined || metadata === BAD ? {} : metadata;
  const name = str(ctx, get(m, "name"), ["metadata", "name"]);
  if (name === undefined || name === "") {
    ctx.add(required(["metadata", "name"], "name or generateName is required"));
  } else if (name !== BAD) {
    for (const msg of dns1123SubdomainErrors(name)) ctx.add(invalid(["metadata", "name"], name, msg));
  }
  return {
    name: typeof name === "string" ? name : "",
    labels: strMap(ctx, get(m, "labels"), ["metadata", "labels"]),
    annotations: strMap(ctx, get(m, "annotations"), ["metadata", "annotations"]),
  };
}

function specOf(ctx: Ctx, object: KubeObject): Obj {
  const spec = obj(ctx, get(object, "spec"), ["spec"]);
  return spec === undefined || spec === BAD ? {} : spec;
}

// ---------------------------------------------------------------------------------------------
// ValidatingAdmissionPolicy

function readPolicy(ctx: Ctx, resource: Resource): ValidatingAdmissionPolicy {
  const object = resource.object;
  const metadata = readMetadata(ctx, object);
  const spec = specOf(ctx, object);
  const p: FieldPath = ["spec"];

  let failurePolicy: FailurePolicy = "Fail";
  const fp = str(ctx, get(spec, "failurePolicy"), [...p, "failurePolicy"]);
  if (typeof fp === "string") {
    if ((FAILURE_POLICIES as readonly string[]).includes(fp)) failurePolicy = fp as FailurePolicy;
    else ctx.add(notSupported([...p, "failurePolicy"], fp, FAILURE_POLICIES));
  }

  let paramKind: ParamKind | undefined;
  const pk = obj(ctx, get(spec, "paramKind"), [...p, "paramKind"]);
  if (pk !== undefined && pk !== BAD) paramKind = readParamKind(ctx, pk, [...p, "paramKind"]);

  let matchConstraints: MatchResources = defaultMatchResources();
  const mc = obj(ctx, get(spec, "matchConstraints"), [...p, "matchConstraints"]);
  if (mc === undefined) {
    ctx.add(required([...p, "matchConstraints"]));
  } else if (mc !== BAD) {
    matchConstraints = readMatchResources(ctx, mc, [...p, "matchConstraints"]);
    if (matchConstraints.resourceRules.length === 0) {
      ctx.add(required([...p, "matchConstraints", "resourceRules"]));
    }
  }

  const matchConditions = readMatchConditions(ctx, get(spec, "matchConditions"), [...p, "matchConditions"]);
  const variables = readVariables(ctx, get(spec, "variables"), [...p, "variables"]);

  const rawValidations = list(ctx, get(spec, "validations"), [...p, "validations"]);
  const rawAudit = list(ctx, get(spec, "auditAnnotations"), [...p, "auditAnnotations"]);
  const validations: Validation[] = [];
  const auditAnnotations: AuditAnnotation[] = [];
  const nValidations = Array.isArray(rawValidations) ? rawValidations.length : 0;
  const nAudit = Array.isArray(rawAudit) ? rawAudit.length : 0;
  if (nValidations === 0 && nAudit === 0 && rawValidations !== BAD && rawAudit !== BAD) {
    const detail = "validations or auditAnnotations must contain at least one item";
    ctx.add(required([...p, "validations"], detail), required([...p, "auditAnnotations"], detail));
  } else {
    if (Array.isArray(rawValidations)) {
      rawValidations.forEach((raw, i) => {
        validations.push(readValidation(ctx, raw, [...p, "validations", i]));
      });
    }
    if (Array.isArray(rawAudit)) {
      if (rawAudit.length > MAX_AUDIT_ANNOTATIONS) {
        // The API server renders its internal structs, whose fields have no JSON tags.
        const shown = rawAudit.map((a) => ({
          Key: isObj(a) ? (a.key ?? "") : "",
          ValueExpression: isObj(a) ? (a.valueExpression ?? "") : "",
        }));
        ctx.add(
          invalid(
            [...p, "auditAnnotations"],
            shown,
            `must not have more than ${MAX_AUDIT_ANNOTATIONS} auditAnnotations`,
          ),
        );
      }
      const keys = new Set<string>();
      rawAudit.forEach((raw, i) => {
        const annotation = readAuditAnnotation(ctx, raw, metadata.name, [...p, "auditAnnotations", i]);
        if (keys.has(annotation.key)) {
          ctx.add(duplicate([...p, "auditAnnotations", i, "key"], annotation.key));
        }
        keys.add(annotation.key);
        auditAnnotations.push(annotation);
      });
    }
  }

  const spec_: ValidatingAdmissionPolicy["spec"] = {
    matchConstraints,
    validations,
    failurePolicy,
    auditAnnotations,
    matchConditions,
    variables,
  };
  if (paramKind) spec_.paramKind = paramKind;
  return {
    apiVersion: String(object.apiVersion),
    kind: "ValidatingAdmissionPolicy",
    metadata,
    spec: spec_,
    source: resource,
  };
}

function readParamKind(ctx: Ctx, raw: Obj, path: FieldPath): ParamKind {
  const apiVersion = str(ctx, get(raw, "apiVersion"), [...path, "apiVersion"]);
  const kind = str(ctx, get(raw, "kind"), [...path, "kind"]);
  if (apiVersion === undefined || apiVersion === "") {
    ctx.add(required([...path, "apiVersion"]));
  } else if (apiVersion !== BAD) {
    const parts = apiVersion === "/" ? ["", ""] : apiVersion.split("/");
    if (parts.length > 2) {
      ctx.add(invalid([...path, "apiVersion"], apiVersion, `unexpected GroupVersion string: ${apiVersion}`));
    } else {
      const [group, version] = parts.length === 1 ? ["", parts[0] as string] : (parts as [string, string]);
      if (group !== "") {
        const errs = dns1123SubdomainErrors(group);
        if (errs.length > 0) ctx.add(invalid([...path, "apiVersion"], group, errs.join(",")));
      }
      if (version === "") {
        ctx.add(invalid([...path, "apiVersion"], apiVersion, "version must be specified"));
      } else {
        const errs = dns1035LabelErrors(version);
        if (errs.length > 0) ctx.add(invalid([...path, "apiVersion"], version, errs.join(",")));
      }
    }
  }
  if (kind === undefined || kind === "") {
    ctx.add(required([...path, "kind"]));
  } else if (kind !== BAD) {
    const errs = dns1035LabelErrors(kind.toLowerCase());
    if (errs.length > 0) {
      ctx.add(
        invalid(
          [...path, "kind"],
          kind,
          `may have mixed case, but should otherwise match: ${errs.join(",")}`,
        ),
      );
    }
  }
  return {
    apiVersion: typeof apiVersion === "string" ? apiVersion : "",
    kind: typeof kind === "string" ? kind : "",
  };
}

function readMatchConditions(ctx: Ctx, value: unknown, path: FieldPath): MatchCondition[] {
  const raw = list(ctx, value, path);
  if (raw === undefined || raw === BAD) return [];
  if (raw.length > MAX_MATCH_CONDITIONS) ctx.add(tooMany(path, raw.length, MAX_MATCH_CONDITIONS));
  const names = new Set<string>();
  return raw.map((item, i) => {
    const itemPath = [...path, i];
    const o = obj(ctx, item, itemPath);
    const m = o === undefined || o === BAD ? {} : o;
    const expression = str(ctx, get(m, "expression"), [...itemPath, "expression"]);
    const name = str(ctx, get(m, "name"), [...itemPath, "name"]);
    if (expression !== BAD && (expression ?? "").trim() === "")
      ctx.add(required([...itemPath, "expression"]));
    if (name === undefined || name === "") {
      ctx.add(required([...itemPath, "name"]));
    } else if (name !== BAD) {
      for (const msg of qualifiedNameErrors(name)) ctx.add(invalid([...itemPath, "name"], name, msg));
    }
    if (typeof name === "string" && name !== "") {
      if (names.has(name)) ctx.add(duplicate([...itemPath, "name"], name));
      else names.add(name);
    }
    return {
      name: typeof name === "string" ? name : "",
      expression: typeof expression === "string" ? expression : "",
    };
  });
}

function readVariables(ctx: Ctx, value: unknown, path: FieldPath): Variable[] {
  const raw = list(ctx, value, path);
  if (raw === undefined || raw === BAD) return [];
  return raw.map((item, i) => {
    const itemPath = [...path, i];
    const o = obj(ctx, item, itemPath);
    const v = o === undefined || o === BAD ? {} : o;
    const name = str(ctx, get(v, "name"), [...itemPath, "name"]);
    const expression = str(ctx, get(v, "expression"), [...itemPath, "expression"]);
    if (name !== BAD) {
      if ((name ?? "").trim() === "") ctx.add(required([...itemPath, "name"], "name is not specified"));
      else if (!isCelIdentifier(name as string)) {
        ctx.add(invalid([...itemPath, "name"], name, "must be a valid CEL identifier"));
      }
    }
    if (expression !== BAD && (expression ?? "").trim() === "") {
      ctx.add(required([...itemPath, "expression"], "expression is not specified"));
    }
    return {
      name: typeof name === "string" ? name : "",
      expression: typeof expression === "string" ? expression : "",
    };
  });
}

function readValidation(ctx: Ctx, raw: unknown, path: FieldPath): Validation {
  const o = obj(ctx, raw, path);
  const v = o === undefined || o === BAD ? {} : o;
  const expression = str(ctx, get(v, "expression"), [...path, "expression"]);
  const message = str(ctx, get(v, "message"), [...path, "message"]);
  const messageExpression = str(ctx, get(v, "messageExpression"), [...path, "messageExpression"]);
  const reason = str(ctx, get(v, "reason"), [...path, "reason"]);
  if (expression !== BAD && (expression ?? "").trim() === "") {
    ctx.add(required([...path, "expression"], "expression is not specified"));
  }
  if (typeof messageExpression === "string" && messageExpression !== "" && messageExpression.trim() === "") {
    ctx.add(invalid([...path, "messageExpression"], messageExpression, "must be non-empty if specified"));
  }
  if (typeof message === "string") {
    if (message !== "" && message.trim() === "") {
      ctx.add(invalid([...path, "message"], message, "must be non-empty if specified"));
    } else if (NEWLINES.test(message.trim())) {
      ctx.add(invalid([...path, "message"], message, "must not contain line breaks"));
    }
  }
  const out: Validation = {
    expression: typeof expression === "string" ? expression : "",
    message: typeof message === "string" ? message : "",
    messageExpression: typeof messageExpression === "string" ? messageExpression : "",
  };
  if (typeof reason === "string") {
    if ((VALIDATION_REASONS as readonly string[]).includes(reason)) out.reason = reason as ValidationReason;
    else ctx.add(notSupported([...path, "reason"], reason, VALIDATION_REASONS));
  }
  return out;
}

function readAuditAnnotation(ctx: Ctx, raw: unknown, policyName: string, path: FieldPath): AuditAnnotation {
  const o = obj(ctx, raw, path);
  const a = o === undefined || o === BAD ? {} : o;
  const key = str(ctx, get(a, "key"), [...path, "key"]);
  const valueExpression = str(ctx, get(a, "valueExpression"), [...path, "valueExpression"]);
  const k = typeof key === "string" ? key : "";
  if (key !== BAD) {
    if (policyName !== "") {
      const qualified = `${policyName}/${k}`;
      for (const msg of qualifiedNameErrors(qualified)) ctx.add(invalid([...path, "key"], qualified, msg));
    } else {
      ctx.add(invalid([...path, "key"], k, "requires metadata.name be non-empty"));
    }
  }
  if (valueExpression !== BAD) {
    const trimmed = (valueExpression ?? "").trim();
    if (trimmed === "") {
      ctx.add(required([...path, "valueExpression"], "valueExpression is not specified"));
    } else if (new TextEncoder().encode(trimmed).length > MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH) {
      ctx.add(
        required(
          [...path, "valueExpression"],
          `must not exceed ${MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH} bytes in length`,
        ),
      );
    }
  }
  return { key: k, valueExpression: typeof valueExpression === "string" ? valueExpression : "" };
}

// ---------------------------------------------------------------------------------------------
// MatchResources, rules and selectors (shared by policies and bindings)

function defaultMatchResources(): MatchResources {
  return {
    namespaceSelector: { matchLabels: {}, matchExpressions: [] },
    objectSelector: { matchLabels: {}, matchExpressions: [] },
    resourceRules: [],
    excludeResourceRules: [],
    matchPolicy: "Equivalent",
  };
}

function readMatchResources(ctx: Ctx, raw: Obj, path: FieldPath): MatchResources {
  const out = defaultMatchResources();
  const mp = str(ctx, get(raw, "matchPolicy"), [...path, "matchPolicy"]);
  if (typeof mp === "string") {
    if ((MATCH_POLICIES as readonly string[]).includes(mp)) out.matchPolicy = mp as MatchPolicy;
    else ctx.add(notSupported([...path, "matchPolicy"], mp, MATCH_POLICIES));
  }
  out.namespaceSelector = readSelector(ctx, get(raw, "namespaceSelector"), [...path, "namespaceSelector"]);
  out.objectSelector = readSelector(ctx, get(raw, "objectSelector"), [...path, "objectSelector"]);
  out.resourceRules = readRules(ctx, get(raw, "resourceRules"), [...path, "resourceRules"]);
  out.excludeResourceRules = readRules(ctx, get(raw, "excludeResourceRules"), [
    ...path,
    "excludeResourceRules",
  ]);
  return out;
}

/** `metav1validation.ValidateLabelSelector` (strict: label values are checked). */
function readSelector(ctx: Ctx, value: unknown, path: FieldPath): LabelSelector {
  const out: LabelSelector = { matchLabels: {}, matchExpressions: [] };
  const raw = obj(ctx, value, path);
  if (raw === undefined || raw === BAD) return out;
  out.matchLabels = strMap(ctx, get(raw, "matchLabels"), [...path, "matchLabels"]);
  for (const [key, labelValue] of Object.entries(out.matchLabels)) {
    for (const msg of qualifiedNameErrors(key)) ctx.add(invalid([...path, "matchLabels"], key, msg));
    for (const msg of labelValueErrors(labelValue))
      ctx.add(invalid([...path, "matchLabels"], labelValue, msg));
  }
  const expressions = list(ctx, get(raw, "matchExpressions"), [...path, "matchExpressions"]);
  if (Array.isArray(expressions)) {
    expressions.forEach((item, i) => {
      out.matchExpressions.push(readRequirement(ctx, item, [...path, "matchExpressions", i]));
    });
  }
  return out;
}

function readRequirement(ctx: Ctx, item: unknown, path: FieldPath): LabelSelectorRequirement {
  const o = obj(ctx, item, path);
  const r = o === undefined || o === BAD ? {} : o;
  const key = str(ctx, get(r, "key"), [...path, "key"]);
  const operator = str(ctx, get(r, "operator"), [...path, "operator"]);
  const values = strList(ctx, get(r, "values"), [...path, "values"]);
  switch (operator) {
    case "In":
    case "NotIn":
      if (values.length === 0) {
        ctx.add(required([...path, "values"], "must be specified when `operator` is 'In' or 'NotIn'"));
      }
      break;
    case "Exists":
    case "DoesNotExist":
      if (values.length > 0) {
        ctx.add(
          forbidden(
            [...path, "values"],
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
      break;
    default:
      if (operator !== BAD)
        ctx.add(invalid([...path, "operator"], operator ?? "", "not a valid selector operator"));
  }
  const k = typeof key === "string" ? key : "";
  if (key !== BAD) for (const msg of qualifiedNameErrors(k)) ctx.add(invalid([...path, "key"], k, msg));
  values.forEach((v, i) => {
    for (const msg of labelValueErrors(v)) ctx.add(invalid([...path, "values", i], v, msg));
  });
  return { key: k, operator: (operator as LabelSelectorRequirement["operator"]) ?? "In", values };
}

function readRules(ctx: Ctx, value: unknown, path: FieldPath): NamedRule[] {
  const raw = list(ctx, value, path);
  if (raw === undefined || raw === BAD) return [];
  return raw.map((item, i) => readRule(ctx, item, [...path, i]));
}

/** `validateNamedRuleWithOperations` + `validateRuleWithOperations` + `validateRule`. */
function readRule(ctx: Ctx, item: unknown, path: FieldPath): NamedRule {
  const o = obj(ctx, item, path);
  const r = o === undefined || o === BAD ? {} : o;
  const resourceNames = strList(ctx, get(r, "resourceNames"), [...path, "resourceNames"]);
  const seenNames = new Set<string>();
  resourceNames.forEach((name, i) => {
    for (const msg of pathSegmentNameErrors(name)) ctx.add(invalid([...path, "resourceNames", i], name, msg));
    if (seenNames.has(name)) ctx.add(duplicate([...path, "resourceNames", i], name));
    else seenNames.add(name);
  });

  const operations = strList(ctx, get(r, "operations"), [...path, "operations"]);
  if (operations.length === 0) ctx.add(required([...path, "operations"]));
  if (operations.length > 1 && hasWildcard(operations)) {
    ctx.add(
      invalid([...path, "operations"], operations, "if '*' is present, must not specify other operations"),
    );
  }
  operations.forEach((op, i) => {
    if (!(OPERATIONS as readonly string[]).includes(op)) {
      ctx.add(notSupported([...path, "operations", i], op, OPERATIONS));
    }
  });

  const apiGroups = strList(ctx, get(r, "apiGroups"), [...path, "apiGroups"]);
  if (apiGroups.length === 0) ctx.add(required([...path, "apiGroups"]));
  if (apiGroups.length > 1 && hasWildcard(apiGroups)) {
    ctx.add(
      invalid([...path, "apiGroups"], apiGroups, "if '*' is present, must not specify other API groups"),
    );
  }
  const apiVersions = strList(ctx, get(r, "apiVersions"), [...path, "apiVersions"]);
  if (apiVersions.length === 0) ctx.add(required([...path, "apiVersions"]));
  if (apiVersions.length > 1 && hasWildcard(apiVersions)) {
    ctx.add(
      invalid(
        [...path, "apiVersions"],
        apiVersions,
        "if '*' is present, must not specify other API versions",
      ),
    );
  }
  apiVersions.forEach((v, i) => {
    if (v === "") ctx.add(required([...path, "apiVersions", i]));
  });

  const resources = strList(ctx, get(r, "resources"), [...path, "resources"]);
  ctx.add(...validateResources(resources, [...path, "resources"]));

  let scope: RuleScope = "*";
  const s = str(ctx, get(r, "scope"), [...path, "scope"]);
  if (typeof s === "string") {
    if ((SCOPES as readonly string[]).includes(s)) scope = s as RuleScope;
    else ctx.add(notSupported([...path, "scope"], s, SCOPES));
  }
  return {
    resourceNames,
    operations: operations as RuleOperation[],
    apiGroups,
    apiVersions,
    resources,
    scope,
  };
}

/** `validateResources` (subresources allowed), including its quirks. */
function validateResources(resources: readonly string[], path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  if (resources.length === 0) errors.push(required(path));
  const resourcesWithWildcardSubresources = new Set<string>();
  const subresourcesWithWildcardResource = new Set<string>();
  let hasDoubleWildcard = false;
  let hasSingleWildcard = false;
  let hasResourceWithoutSubresource = false;
  resources.forEach((resSub, i) => {
    if (resSub === "") {
      errors.push(required([...path, i]));
      return;
    }
    if (resSub === "*/*") hasDoubleWildcard = true;
    if (resSub === "*") hasSingleWildcard = true;
    const slash = resSub.indexOf("/");
    if (slash < 0) {
      // Upstream overwrites (not ORs) this flag; kept for identical answers.
      hasResourceWithoutSubresource = resSub !== "*";
      return;
    }
    const res = resSub.slice(0, slash);
    const sub = resSub.slice(slash + 1);
    if (resourcesWithWildcardSubresources.has(res)) {
      errors.push(invalid([...path, i], resSub, `if '${res}/*' is present, must not specify ${resSub}`));
    }
    if (subresourcesWithWildcardResource.has(sub)) {
      errors.push(invalid([...path, i], resSub, `if '*/${sub}' is present, must not specify ${resSub}`));
    }
    if (sub === "*") resourcesWithWildcardSubresources.add(res);
    if (res === "*") subresourcesWithWildcardResource.add(sub);
  });
  if (resources.length > 1 && hasDoubleWildcard) {
    errors.push(invalid(path, resources, "if '*/*' is present, must not specify other resources"));
  }
  if (hasSingleWildcard && hasResourceWithoutSubresource) {
    errors.push(
      invalid(path, resources, "if '*' is present, must not specify other resources without subresources"),
    );
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// ValidatingAdmissionPolicyBinding

function readBinding(ctx: Ctx, resource: Resource): ValidatingAdmissionPolicyBinding {
  const object = resource.object;
  const metadata = readMetadata(ctx, object);
  const spec = specOf(ctx, object);
  const p: FieldPath = ["spec"];

  const policyName = str(ctx, get(spec, "policyName"), [...p, "policyName"]);
  if (policyName === undefined || policyName === "") {
    ctx.add(required([...p, "policyName"]));
  } else if (policyName !== BAD) {
    for (const msg of dns1123SubdomainErrors(policyName))
      ctx.add(invalid([...p, "policyName"], policyName, msg));
  }

  let paramRef: ParamRef | undefined;
  const pr = obj(ctx, get(spec, "paramRef"), [...p, "paramRef"]);
  if (pr !== undefined && pr !== BAD) paramRef = readParamRef(ctx, pr, [...p, "paramRef"]);

  let matchResources: MatchResources | undefined;
  const mr = obj(ctx, get(spec, "matchResources"), [...p, "matchResources"]);
  if (mr !== undefined && mr !== BAD) matchResources = readMatchResources(ctx, mr, [...p, "matchResources"]);

  const actionsPath: FieldPath = [...p, "validationActions"];
  const validationActions = strList(ctx, get(spec, "validationActions"), actionsPath);
  const seen = new Set<string>();
  validationActions.forEach((action, i) => {
    if (!(VALIDATION_ACTIONS as readonly string[]).includes(action)) {
      ctx.add(notSupported([...actionsPath, i], action, VALIDATION_ACTIONS));
    }
    if (seen.has(action)) ctx.add(duplicate([...actionsPath, i], action));
    seen.add(action);
  });
  if (seen.has("Deny") && seen.has("Warn")) {
    ctx.add(
      invalid(
        actionsPath,
        validationActions,
        "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
      ),
    );
  }
  if (seen.size === 0) ctx.add(required(actionsPath, "at least one validation action is required"));

  const spec_: ValidatingAdmissionPolicyBinding["spec"] = {
    policyName: typeof policyName === "string" ? policyName : "",
    validationActions: validationActions as ValidationAction[],
  };
  if (paramRef) spec_.paramRef = paramRef;
  if (matchResources) spec_.matchResources = matchResources;
  return {
    apiVersion: String(object.apiVersion),
    kind: "ValidatingAdmissionPolicyBinding",
    metadata,
    spec: spec_,
    source: resource,
  };
}

function readParamRef(ctx: Ctx, raw: Obj, path: FieldPath): ParamRef {
  const name = str(ctx, get(raw, "name"), [...path, "name"]);
  const namespace = str(ctx, get(raw, "namespace"), [...path, "namespace"]);
  const rawSelector = get(raw, "selector");
  const action = str(ctx, get(raw, "parameterNotFoundAction"), [...path, "parameterNotFoundAction"]);
  const n = typeof name === "string" ? name : "";
  if (n !== "") {
    for (const msg of pathSegmentNameErrors(n)) ctx.add(invalid([...path, "name"], n, msg));
    if (rawSelector !== undefined)
      ctx.add(forbidden([...path, "name"], "name and selector are mutually exclusive"));
  }
  let selector: LabelSelector | undefined;
  if (rawSelector !== undefined) {
    selector = readSelector(ctx, rawSelector, [...path, "selector"]);
    if (n !== "") ctx.add(forbidden([...path, "selector"], "name and selector are mutually exclusive"));
  }
  if (n === "" && rawSelector === undefined && name !== BAD) {
    ctx.add(required(path, "one of name or selector must be specified"));
  }
  let parameterNotFoundAction: ParamRef["parameterNotFoundAction"] = "Deny";
  if (action === undefined || action === "") {
    ctx.add(required([...path, "parameterNotFoundAction"]));
  } else if (action !== BAD) {
    if (action === "Deny" || action === "Allow") parameterNotFoundAction = action;
    else ctx.add(notSupported([...path, "parameterNotFoundAction"], action, PARAM_NOT_FOUND_ACTIONS));
  }
  const out: ParamRef = {
    name: n,
    namespace: typeof namespace === "string" ? namespace : "",
    parameterNotFoundAction,
  };
  if (selector) out.selector = selector;
  return out;
}
