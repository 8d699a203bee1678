/**
 * Unknown fields, as the API server's strict decoding reports them (field validation
 * `Strict`, kubectl's default): a field that the admissionregistration.k8s.io/v1 (and
 * v1beta1, same shape) Go types do not declare is `unknown field "spec.validations[0].expresion"`
 * (sigs.k8s.io/json: object keys joined by `.`, list indexes as `[i]`), and the object is
 * rejected: `... cannot be handled as a ValidatingAdmissionPolicy: strict decoding error:
 * unknown field "…", unknown field "…"`. The schema below lists the JSON names of each type
 * (k8s.io/api v0.37 admissionregistration/v1 types.go, apimachinery meta/v1 types.go).
 */
import type { FieldPath } from "../../resources/path.ts";

/** A struct's fields by JSON name; `MAP` for a map of scalars, `ANY` for free-form JSON. */
type Schema = { readonly [field: string]: Schema | typeof MAP | typeof ANY | typeof SCALAR } | ListOf;
interface ListOf {
  readonly list: Schema | typeof MAP | typeof SCALAR;
}
const MAP = "map";
const ANY = "any";
const SCALAR = "scalar";

const labelSelector: Schema = {
  matchLabels: MAP,
  matchExpressions: { list: { key: SCALAR, operator: SCALAR, values: { list: SCALAR } } },
};

const ownerReference: Schema = {
  apiVersion: SCALAR,
  kind: SCALAR,
  name: SCALAR,
  uid: SCALAR,
  controller: SCALAR,
  blockOwnerDeletion: SCALAR,
};

const managedFieldsEntry: Schema = {
  manager: SCALAR,
  operation: SCALAR,
  apiVersion: SCALAR,
  time: SCALAR,
  fields: ANY,
  fieldsType: SCALAR,
  fieldsV1: ANY,
  subresource: SCALAR,
};

const objectMeta: Schema = {
  name: SCALAR,
  generateName: SCALAR,
  namespace: SCALAR,
  selfLink: SCALAR,
  uid: SCALAR,
  resourceVersion: SCALAR,
  generation: SCALAR,
  creationTimestamp: SCALAR,
  deletionTimestamp: SCALAR,
  deletionGracePeriodSeconds: SCALAR,
  labels: MAP,
  annotations: MAP,
  ownerReferences: { list: ownerReference },
  finalizers: { list: SCALAR },
  clusterName: SCALAR,
  managedFields: { list: managedFieldsEntry },
};

const strings = { list: SCALAR } as const;

const namedRule: Schema = {
  resourceNames: strings,
  operations: strings,
  apiGroups: strings,
  apiVersions: strings,
  resources: strings,
  scope: SCALAR,
};

const matchResources: Schema = {
  namespaceSelector: labelSelector,
  objectSelector: labelSelector,
  resourceRules: { list: namedRule },
  excludeResourceRules: { list: namedRule },
  matchPolicy: SCALAR,
};

const condition: Schema = {
  type: SCALAR,
  status: SCALAR,
  observedGeneration: SCALAR,
  lastTransitionTime: SCALAR,
  reason: SCALAR,
  message: SCALAR,
};

const POLICY: Schema = {
  apiVersion: SCALAR,
  kind: SCALAR,
  metadata: objectMeta,
  spec: {
    paramKind: { apiVersion: SCALAR, kind: SCALAR },
    matchConstraints: matchResources,
    validations: {
      list: { expression: SCALAR, message: SCALAR, reason: SCALAR, messageExpression: SCALAR },
    },
    failurePolicy: SCALAR,
    auditAnnotations: { list: { key: SCALAR, valueExpression: SCALAR } },
    matchConditions: { list: { name: SCALAR, expression: SCALAR } },
    variables: { list: { name: SCALAR, expression: SCALAR } },
  },
  status: {
    observedGeneration: SCALAR,
    typeChecking: { expressionWarnings: { list: { fieldRef: SCALAR, warning: SCALAR } } },
    conditions: { list: condition },
  },
};

const BINDING: Schema = {
  apiVersion: SCALAR,
  kind: SCALAR,
  metadata: objectMeta,
  spec: {
    policyName: SCALAR,
    paramRef: { name: SCALAR, namespace: SCALAR, selector: labelSelector, parameterNotFoundAction: SCALAR },
    matchResources,
    validationActions: strings,
  },
};

/**
 * Paths of the fields of a ValidatingAdmissionPolicy (or binding) that its Go type does not
 * declare, in document order. Values of the wrong type are not this function's concern (the
 * parser reports them). Never throws.
 */
export function unknownFields(
  kind: "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding",
  object: unknown,
): FieldPath[] {
  const out: FieldPath[] = [];
  walk(kind === "ValidatingAdmissionPolicy" ? POLICY : BINDING, object, [], out);
  return out;
}

function walk(schema: Schema, value: unknown, path: FieldPath, out: FieldPath[]): void {
  if (isListSchema(schema)) {
    if (!Array.isArray(value)) return;
    const item = schema.list;
    if (typeof item === "string") return;
    value.forEach((v, i) => {
      walk(item, v, [...path, i], out);
    });
    return;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  const fields = schema as { readonly [field: string]: Schema | string };
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const sub = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (sub === undefined) {
      out.push([...path, key]);
      continue;
    }
    if (typeof sub === "string") continue;
    walk(sub, child, [...path, key], out);
  }
}

function isListSchema(schema: Schema): schema is ListOf {
  return Object.keys(schema).length === 1 && "list" in schema;
}

/** sigs.k8s.io/json's rendering of a path: `spec.validations[0].expresion`. */
export function strictPathString(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}
