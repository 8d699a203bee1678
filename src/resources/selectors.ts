/**
 * Label selector semantics as the API server implements them
 * (k8s.io/apimachinery/pkg/apis/meta/v1 LabelSelectorAsSelector), for rules that relate
 * objects: a NetworkPolicy's podSelector, a Service's selector.
 */
function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Whether a `metav1.LabelSelector` (`matchLabels` + `matchExpressions`) selects `labels`.
 * The requirements are ANDed; an empty or missing selector selects everything. A selector
 * the API server would reject (unknown operator, `In`/`NotIn` without values, values on
 * `Exists`, non-string labels) selects nothing. Never throws.
 */
export function matchesLabelSelector(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || selector === null) return true;
  if (!isObject(selector)) return false;
  const matchLabels = selector.matchLabels;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isObject(matchLabels)) return false;
    for (const [key, value] of Object.entries(matchLabels)) {
      if (typeof value !== "string" || labels[key] !== value) return false;
    }
  }
  const expressions = selector.matchExpressions;
  if (expressions !== undefined && expressions !== null) {
    if (!Array.isArray(expressions)) return false;
    for (const expression of expressions) {
      if (!matchesExpression(expression, labels)) return false;
    }
  }
  return true;
}

function matchesExpression(expression: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isObject(expression) || typeof expression.key !== "string") return false;
  const key = expression.key;
  const rawValues = expression.values === undefined || expression.values === null ? [] : expression.values;
  if (!Array.isArray(rawValues) || !rawValues.every((v) => typeof v === "string")) return false;
  const values = rawValues as string[];
  const has = Object.hasOwn(labels, key);
  switch (expression.operator) {
    case "In":
      return values.length > 0 && has && values.includes(labels[key] as string);
    case "NotIn":
      return values.length > 0 && (!has || !values.includes(labels[key] as string));
    case "Exists":
      return values.length === 0 && has;
    case "DoesNotExist":
      return values.length === 0 && !has;
    default:
      return false;
  }
}

/**
 * Whether a Service's `spec.selector` (a plain map, ANDed equality) selects `labels`. A
 * Service with no or an empty selector selects no pods (its endpoints are managed by hand).
 */
export function matchesServiceSelector(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isObject(selector)) return false;
  const entries = Object.entries(selector);
  if (entries.length === 0) return false;
  return entries.every(([key, value]) => typeof value === "string" && labels[key] === value);
}

/** Whether a selector is empty (selects every pod): missing, `{}`, or with empty requirement lists. */
export function isEmptySelector(selector: unknown): boolean {
  if (selector === undefined || selector === null) return true;
  if (!isObject(selector)) return false;
  const labels = selector.matchLabels;
  const expressions = selector.matchExpressions;
  const noLabels =
    labels === undefined || labels === null || (isObject(labels) && Object.keys(labels).length === 0);
  return (
    noLabels &&
    asArray(expressions).length === 0 &&
    (expressions === undefined || expressions === null || Array.isArray(expressions))
  );
}
