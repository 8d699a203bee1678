/**
 * `belay install --check`: finds webhook configurations that could lock out the control plane.
 * Pure: objects in, problems out. A problem names the field (`webhooks[0].namespaceSelector`),
 * says what goes wrong and how to fix it.
 *
 * What counts (for ValidatingWebhookConfiguration and MutatingWebhookConfiguration alike):
 * - a rule that matches leases (coordination.k8s.io): leader election and node heartbeats
 *   renew them every few seconds, so even with failurePolicy Ignore a slow webhook delays
 *   them past their deadlines;
 * - with failurePolicy Fail (the default), a namespaceSelector that does not exclude
 *   kube-system, or belay's own namespace (belay's pods could not come back after an outage);
 * - timeoutSeconds over 5 (or unset: the API server's default is 10).
 *
 * A selector "excludes" a namespace only through its `kubernetes.io/metadata.name` label,
 * which the API server sets and nobody can change; any other label could be added to
 * kube-system by someone, so it proves nothing.
 */
import type { KubeObject } from "../resources/types.ts";

/** The longest timeoutSeconds belay accepts. */
export const MAX_TIMEOUT_SECONDS = 5;

/** One problem: where and why. */
export interface CheckProblem {
  /** `ValidatingWebhookConfiguration "name"` */
  object: string;
  /** Field path, e.g. `webhooks[0].namespaceSelector`. */
  path: string;
  message: string;
}

const WEBHOOK_KINDS = new Set(["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]);

/** Whether `object` is a (Validating|Mutating)WebhookConfiguration of admissionregistration.k8s.io. */
export function isWebhookConfiguration(object: KubeObject): boolean {
  return (
    typeof object.kind === "string" &&
    WEBHOOK_KINDS.has(object.kind) &&
    typeof object.apiVersion === "string" &&
    object.apiVersion.startsWith("admissionregistration.k8s.io/")
  );
}

interface Requirement {
  key: string;
  operator: string;
  values: string[];
}

function requirements(selector: unknown): Requirement[] {
  if (selector === null || typeof selector !== "object") return [];
  const s = selector as { matchLabels?: unknown; matchExpressions?: unknown };
  const out: Requirement[] = [];
  if (s.matchLabels !== null && typeof s.matchLabels === "object") {
    for (const [key, value] of Object.entries(s.matchLabels as Record<string, unknown>))
      out.push({ key, operator: "In", values: [String(value)] });
  }
  if (Array.isArray(s.matchExpressions)) {
    for (const e of s.matchExpressions as { key?: unknown; operator?: unknown; values?: unknown }[]) {
      if (e === null || typeof e !== "object") continue;
      out.push({
        key: String(e.key),
        operator: String(e.operator),
        values: Array.isArray(e.values) ? e.values.map(String) : [],
      });
    }
  }
  return out;
}

/**
 * Whether `selector` rejects every object whose labels include `known` (whatever other labels
 * it has). Exported for tests.
 */
export function selectorExcludes(selector: unknown, known: Readonly<Record<string, string>>): boolean {
  return requirements(selector).some(({ key, operator, values }) => {
    const has = Object.hasOwn(known, key);
    const value = known[key];
    switch (operator) {
      case "In":
        return has && !values.includes(value as string);
      case "NotIn":
        return has && values.includes(value as string);
      case "DoesNotExist":
        return has;
      default:
        // Exists can always be satisfied by adding the label.
        return false;
    }
  });
}

interface Rule {
  apiGroups?: unknown;
  resources?: unknown;
  operations?: unknown;
  scope?: unknown;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function matchesLeases(rule: Rule): boolean {
  const groups = strings(rule.apiGroups);
  const resources = strings(rule.resources);
  const operations = strings(rule.operations);
  return (
    (groups.includes("*") || groups.includes("coordination.k8s.io")) &&
    resources.some((r) => r === "*" || r === "*/*" || r === "leases" || r.startsWith("leases/")) &&
    operations.some((o) => o === "*" || o === "CREATE" || o === "UPDATE") &&
    rule.scope !== "Cluster"
  );
}

/**
 * Every problem of one webhook configuration, for belay installed in `belayNamespace`. Empty
 * when it is safe. Never throws, whatever the object's shape.
 *
 * @example checkWebhookConfiguration(vwc, "belay-system") // [] when safe
 */
export function checkWebhookConfiguration(object: KubeObject, belayNamespace: string): CheckProblem[] {
  const metadata = (object.metadata ?? {}) as { name?: unknown };
  const label = `${String(object.kind)} "${String(metadata.name ?? "")}"`;
  const problems: CheckProblem[] = [];
  const add = (path: string, message: string) => problems.push({ object: label, path, message });
  const webhooks = Array.isArray(object.webhooks) ? (object.webhooks as unknown[]) : [];
  const fix = `Add {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, ${belayNamespace}]} to its matchExpressions.`;
  webhooks.forEach((raw, i) => {
    const webhook = (raw !== null && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
    const at = `webhooks[${i}]`;
    const rules = Array.isArray(webhook.rules) ? (webhook.rules as Rule[]) : [];
    rules.forEach((rule, j) => {
      if (rule !== null && typeof rule === "object" && matchesLeases(rule))
        add(
          `${at}.rules[${j}]`,
          "matches leases (coordination.k8s.io); leader election and node heartbeats renew leases every few seconds, " +
            "so a slow or unreachable webhook makes controllers lose leadership and nodes turn NotReady. " +
            'List the resources the webhook needs instead of "*", without leases.',
        );
    });
    const failurePolicy = webhook.failurePolicy ?? "Fail";
    const namespaced = rules.some((r) => r !== null && typeof r === "object" && r.scope !== "Cluster");
    if (failurePolicy === "Fail" && namespaced) {
      const selector = webhook.namespaceSelector;
      const unset = webhook.failurePolicy === undefined ? " (the default)" : "";
      if (!selectorExcludes(selector, { "kubernetes.io/metadata.name": "kube-system" }))
        add(
          `${at}.namespaceSelector`,
          `does not exclude kube-system; with failurePolicy Fail${unset} an outage of the webhook would block the control plane. ${fix}`,
        );
      if (
        belayNamespace !== "kube-system" &&
        !selectorExcludes(selector, { "kubernetes.io/metadata.name": belayNamespace })
      )
        add(
          `${at}.namespaceSelector`,
          `does not exclude ${belayNamespace}, belay's own namespace; with failurePolicy Fail${unset} belay's pods could not be recreated while it is down, so it could never recover. ${fix}`,
        );
    }
    const timeout = webhook.timeoutSeconds;
    if (timeout === undefined)
      add(
        `${at}.timeoutSeconds`,
        `not set, so the API server waits up to 10 s for every request the webhook matches when it is slow or unreachable. Set timeoutSeconds to ${MAX_TIMEOUT_SECONDS} or less (belay's default is 3).`,
      );
    else if (typeof timeout !== "number")
      add(
        `${at}.timeoutSeconds`,
        `${JSON.stringify(timeout)} is not a number. Set timeoutSeconds to ${MAX_TIMEOUT_SECONDS} or less (belay's default is 3).`,
      );
    else if (timeout > MAX_TIMEOUT_SECONDS)
      add(
        `${at}.timeoutSeconds`,
        `${String(timeout)} is more than ${MAX_TIMEOUT_SECONDS}; every request the webhook matches waits that long when it is slow or unreachable. Set timeoutSeconds to ${MAX_TIMEOUT_SECONDS} or less (belay's default is 3).`,
      );
  });
  return problems;
}

/** `ValidatingWebhookConfiguration "x": webhooks[0].timeoutSeconds: ...` */
export function formatProblem(problem: CheckProblem): string {
  return `${problem.object}: ${problem.path}: ${problem.message}`;
}
