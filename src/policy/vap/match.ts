/**
 * Does a policy (and its binding) apply to a request? The semantics of k8s.io/apiserver v0.37
 * `pkg/admission/plugin/policy/matching` (Matcher.Matches), `policy/generic/policy_matcher.go`
 * and `webhook/predicates/{rules,namespace,object}`:
 *
 * - namespaceSelector: always matches cluster-scoped requests other than Namespaces; for a
 *   Namespace CREATE/UPDATE it is evaluated on the object's own labels, otherwise on the labels
 *   of the request's namespace (`request.namespaceObject`; missing → an error, as the API
 *   server's 404).
 * - objectSelector: matches when the object OR the old object has matching labels.
 * - excludeResourceRules win over resourceRules; an empty resourceRules list matches all.
 * - a rule matches on scope, operation (`*`), apiGroups/apiVersions (`*`) and resources:
 *   `*` is every resource but no subresource, `*\/*` everything, `pods/*` every pods
 *   subresource, `*\/scale` the scale subresource of any resource; then resourceNames.
 * - matchPolicy Equivalent retries the rules with the resources served from the same storage
 *   (see {@link EquivalentResourceMapper}); the matched resource and kind are returned.
 * - label selectors are evaluated with the shared matcher in resources/selectors.ts.
 */

import { isEmptySelector, matchesLabelSelector } from "../../resources/selectors.ts";
import type { KubeObject } from "../../resources/types.ts";
import type {
  AdmissionRequest,
  GroupVersionKind,
  GroupVersionResource,
  LabelSelector,
  MatchResources,
  NamedRule,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from "./types.ts";

/** The outcome of matching: the resource/kind matched (maybe an equivalent one), or why not. */
export type MatchResult =
  | { matched: true; resource: GroupVersionResource; kind: GroupVersionKind }
  | { matched: false; reason: string }
  /**
   * A configuration or lookup error. The API server treats it under the policy's
   * failurePolicy (`failed to configure policy|binding: <error>`). `code` tells the offline
   * caller whether it is only a missing Namespace object.
   */
  | { matched: false; error: string; code: "namespace-not-found" | "unknown-kind" | "invalid-object" };

/**
 * Which resources are the same objects served under another group/version (the API server's
 * EquivalentResourceRegistry, keyed by storage).
 */
export interface EquivalentResourceMapper {
  /** The resources (including `resource` itself) that share `resource`'s storage. */
  equivalentResourcesFor(resource: GroupVersionResource, subresource: string): GroupVersionResource[];
  /** The kind served at `resource` (and `subresource`), or undefined when unknown. */
  kindFor(resource: GroupVersionResource, subresource: string): GroupVersionKind | undefined;
}

/** Options for matching. */
export interface MatchOptions {
  /** Resource equivalence for `matchPolicy: Equivalent`; default {@link BUILTIN_EQUIVALENTS}. */
  equivalents?: EquivalentResourceMapper;
}

interface EquivalenceClass {
  members: { resource: GroupVersionResource; kind: GroupVersionKind }[];
}

/**
 * Built-in resources that kube-apiserver v1.37 serves, by default, under more than one
 * group/version from one storage. Versions removed from the API server (apps/v1beta2,
 * extensions/v1beta1, …) are not listed: a request can no longer name them, and a rule that
 * names only them matches nothing, exactly as in the API server.
 */
const BUILTIN_CLASSES: EquivalenceClass[] = [
  {
    members: [
      {
        resource: { group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers" },
        kind: { group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler" },
      },
      {
        resource: { group: "autoscaling", version: "v1", resource: "horizontalpodautoscalers" },
        kind: { group: "autoscaling", version: "v1", kind: "HorizontalPodAutoscaler" },
      },
    ],
  },
  {
    members: [
      {
        resource: { group: "", version: "v1", resource: "events" },
        kind: { group: "", version: "v1", kind: "Event" },
      },
      {
        resource: { group: "events.k8s.io", version: "v1", resource: "events" },
        kind: { group: "events.k8s.io", version: "v1", kind: "Event" },
      },
    ],
  },
];

/** Kinds of the subresources whose kind differs from their resource's kind. */
const SUBRESOURCE_KINDS: Record<string, GroupVersionKind> = {
  scale: { group: "autoscaling", version: "v1", kind: "Scale" },
};

function sameGvr(a: GroupVersionResource, b: GroupVersionResource): boolean {
  return a.group === b.group && a.version === b.version && a.resource === b.resource;
}

/** An equivalence mapper over explicit classes (used for the built-ins and for CRDs). */
function classMapper(classes: readonly EquivalenceClass[]): EquivalentResourceMapper {
  const find = (resource: GroupVersionResource) =>
    classes.find((c) => c.members.some((m) => sameGvr(m.resource, resource)));
  return {
    equivalentResourcesFor(resource) {
      const found = find(resource);
      return found ? found.members.map((m) => m.resource) : [resource];
    },
    kindFor(resource, subresource) {
      const member = find(resource)?.members.find((m) => sameGvr(m.resource, resource));
      if (!member) return undefined;
      if (subresource !== "" && SUBRESOURCE_KINDS[subresource]) return SUBRESOURCE_KINDS[subresource];
      return member.kind;
    },
  };
}

/** The built-in equivalences of kube-apiserver v1.37 (HPA v1↔v2, core Event↔events.k8s.io Event). */
export const BUILTIN_EQUIVALENTS: EquivalentResourceMapper = classMapper(BUILTIN_CLASSES);

/**
 * Add the equivalences of CustomResourceDefinitions (every served version of a CRD is one
 * storage) to `base`. Objects that are not CRDs are ignored. Never throws.
 */
export function equivalentsWithCRDs(
  crds: readonly KubeObject[],
  base: EquivalentResourceMapper = BUILTIN_EQUIVALENTS,
): EquivalentResourceMapper {
  const classes: EquivalenceClass[] = [];
  for (const crd of crds) {
    if (crd.kind !== "CustomResourceDefinition") continue;
    const spec = crd.spec as Record<string, unknown> | undefined;
    const names = spec?.names as Record<string, unknown> | undefined;
    const group = spec?.group;
    const plural = names?.plural;
    const kind = names?.kind;
    if (typeof group !== "string" || typeof plural !== "string" || typeof kind !== "string") continue;
    const versions = Array.isArray(spec?.versions) ? (spec.versions as Record<string, unknown>[]) : [];
    const members = versions
      .filter((v) => v !== null && typeof v === "object" && v.served !== false && typeof v.name === "string")
      .map((v) => ({
        resource: { group, version: v.name as string, resource: plural },
        kind: { group, version: v.name as string, kind },
      }));
    if (members.length > 0) classes.push({ members });
  }
  const crdMapper = classMapper(classes);
  return {
    equivalentResourcesFor(resource, subresource) {
      const fromCrds = crdMapper.equivalentResourcesFor(resource, subresource);
      return fromCrds.length > 1 ? fromCrds : base.equivalentResourcesFor(resource, subresource);
    },
    kindFor(resource, subresource) {
      return crdMapper.kindFor(resource, subresource) ?? base.kindFor(resource, subresource);
    },
  };
}

const NAMESPACES: GroupVersionResource = { group: "", version: "v1", resource: "namespaces" };

/** Whether one rule (`rules.Matcher.Matches`) matches the request at `resource`. */
export function ruleMatches(
  rule: NamedRule,
  request: AdmissionRequest,
  resource: GroupVersionResource,
): boolean {
  return (
    scopeMatches(rule, request, resource) &&
    exactOrWildcard(rule.operations, request.operation) &&
    exactOrWildcard(rule.apiGroups, resource.group) &&
    exactOrWildcard(rule.apiVersions, resource.version) &&
    resourceMatches(rule.resources, resource.resource, request.resource.subresource)
  );
}

function scopeMatches(rule: NamedRule, request: AdmissionRequest, resource: GroupVersionResource): boolean {
  switch (rule.scope) {
    case "*":
      return true;
    case "Namespaced":
      // A Namespace is cluster-scoped even though its requests carry its name as namespace.
      return !sameGvr(resource, NAMESPACES) && request.namespace !== "";
    case "Cluster":
      return sameGvr(resource, NAMESPACES) || request.namespace === "";
    default:
      return false;
  }
}

function exactOrWildcard(items: readonly string[], requested: string): boolean {
  for (const item of items) if (item === "*" || item === requested) return true;
  return false;
}

const STAR = 42; // "*"

/** `res[/sub]` entries against the request; compares in place (every policy, every request). */
function resourceMatches(resources: readonly string[], opRes: string, opSub: string): boolean {
  for (const entry of resources) {
    const slash = entry.indexOf("/");
    if (slash < 0) {
      if ((entry === "*" || entry === opRes) && opSub === "") return true;
      continue;
    }
    const resOk =
      (slash === 1 && entry.charCodeAt(0) === STAR) || (slash === opRes.length && entry.startsWith(opRes));
    const subLength = entry.length - slash - 1;
    const subOk =
      (subLength === 1 && entry.charCodeAt(slash + 1) === STAR) ||
      (subLength === opSub.length && entry.endsWith(opSub));
    if (resOk && subOk) return true;
  }
  return false;
}

function nameMatches(rule: NamedRule, request: AdmissionRequest): boolean {
  return rule.resourceNames.length === 0 || rule.resourceNames.includes(request.name);
}

/** `matchesResourceRules`: the first rule that matches, trying equivalents under `Equivalent`. */
function matchesResourceRules(
  rules: readonly NamedRule[],
  resources: MatchResources,
  request: AdmissionRequest,
  mapper: EquivalentResourceMapper,
): MatchResult {
  // No rules (most excludeResourceRules) match nothing, under either matchPolicy.
  if (rules.length === 0) return { matched: false, reason: "no rule matches the request" };
  const requested: GroupVersionResource = {
    group: request.resource.group,
    version: request.resource.version,
    resource: request.resource.resource,
  };
  for (const rule of rules) {
    if (ruleMatches(rule, request, requested) && nameMatches(rule, request)) {
      return { matched: true, resource: requested, kind: request.kind };
    }
  }
  if (resources.matchPolicy === "Exact") return { matched: false, reason: "no rule matches the request" };
  const equivalents = mapper.equivalentResourcesFor(requested, request.resource.subresource);
  for (const rule of rules) {
    for (const equivalent of equivalents) {
      if (sameGvr(equivalent, requested)) continue;
      if (!ruleMatches(rule, request, equivalent)) continue;
      const kind = mapper.kindFor(equivalent, request.resource.subresource);
      if (!kind) {
        return {
          matched: false,
          error: `unable to convert to ${equivalent.group}/${equivalent.version}, Resource=${equivalent.resource}: unknown kind`,
          code: "unknown-kind",
        };
      }
      if (nameMatches(rule, request)) return { matched: true, resource: equivalent, kind };
    }
  }
  return { matched: false, reason: "no rule matches the request" };
}

function labelsOf(object: KubeObject | null | undefined): Record<string, string> | undefined {
  if (!object) return undefined;
  const metadata = object.metadata;
  const labels: Record<string, string> = Object.create(null);
  if (metadata !== null && typeof metadata === "object" && !Array.isArray(metadata)) {
    const raw = (metadata as Record<string, unknown>).labels;
    if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
      for (const [key, value] of Object.entries(raw)) if (typeof value === "string") labels[key] = value;
    }
  }
  return labels;
}

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  return matchesLabelSelector(selector, labels);
}

type SelectorOutcome = { matches: boolean; error?: Extract<MatchResult, { error: string }> };

function namespaceSelectorMatches(selector: LabelSelector, request: AdmissionRequest): SelectorOutcome {
  if (request.namespace === "" && request.resource.resource !== "namespaces") return { matches: true };
  if (isEmptySelector(selector)) return { matches: true };
  let labels: Record<string, string> | undefined;
  if (
    request.resource.resource === "namespaces" &&
    request.resource.subresource === "" &&
    (request.operation === "CREATE" || request.operation === "UPDATE")
  ) {
    labels = labelsOf(request.object);
    if (!labels) {
      return {
        matches: false,
        error: {
          matched: false,
          error: "object does not implement the Object interfaces",
          code: "invalid-object",
        },
      };
    }
  } else {
    labels = labelsOf(request.namespaceObject);
    if (!labels) {
      return {
        matches: false,
        error: {
          matched: false,
          error: `namespaces ${JSON.stringify(request.namespace)} not found`,
          code: "namespace-not-found",
        },
      };
    }
  }
  return { matches: selects(selector, labels) };
}

function objectSelectorMatches(selector: LabelSelector, request: AdmissionRequest): boolean {
  if (isEmptySelector(selector)) return true;
  const object = labelsOf(request.object);
  const old = labelsOf(request.oldObject);
  return (object !== undefined && selects(selector, object)) || (old !== undefined && selects(selector, old));
}

/**
 * `Matcher.Matches`: whether `resources` (a policy's matchConstraints or a binding's
 * matchResources) select the request. Never throws.
 */
export function matchResources(
  resources: MatchResources,
  request: AdmissionRequest,
  options: MatchOptions = {},
): MatchResult {
  const mapper = options.equivalents ?? BUILTIN_EQUIVALENTS;
  const ns = namespaceSelectorMatches(resources.namespaceSelector, request);
  if (!ns.matches && !ns.error) return { matched: false, reason: "namespaceSelector does not match" };
  if (!objectSelectorMatches(resources.objectSelector, request)) {
    return { matched: false, reason: "objectSelector does not match" };
  }
  const excluded = matchesResourceRules(resources.excludeResourceRules, resources, request, mapper);
  if (excluded.matched) return { matched: false, reason: "excluded by excludeResourceRules" };
  if ("error" in excluded) return excluded;
  const result =
    resources.resourceRules.length === 0
      ? ({ matched: true, resource: stripSub(request), kind: request.kind } as const)
      : matchesResourceRules(resources.resourceRules, resources, request, mapper);
  if (!result.matched) return result;
  // Selector errors count only once the request is otherwise in scope, as upstream.
  if (ns.error) return ns.error;
  return result;
}

function stripSub(request: AdmissionRequest): GroupVersionResource {
  return {
    group: request.resource.group,
    version: request.resource.version,
    resource: request.resource.resource,
  };
}

/** Whether the policy's matchConstraints select the request (`DefinitionMatches`). */
export function policyMatches(
  policy: ValidatingAdmissionPolicy,
  request: AdmissionRequest,
  options: MatchOptions = {},
): MatchResult {
  return matchResources(policy.spec.matchConstraints, request, options);
}

/** Whether the binding's matchResources (if set) select the request (`BindingMatches`). */
export function bindingMatches(
  binding: ValidatingAdmissionPolicyBinding,
  request: AdmissionRequest,
  options: MatchOptions = {},
): MatchResult {
  if (!binding.spec.matchResources) {
    return { matched: true, resource: stripSub(request), kind: request.kind };
  }
  return matchResources(binding.spec.matchResources, request, options);
}

/**
 * Whether the policy applies to the request through the binding: the request is not exempt,
 * the policy's matchConstraints match and the binding's matchResources (if set) match. On a
 * match, the resource and kind are the policy's (an equivalent one under `Equivalent`): the
 * ones the API server converts the object to before evaluating CEL. Never throws.
 */
export function matches(
  policy: ValidatingAdmissionPolicy,
  binding: ValidatingAdmissionPolicyBinding,
  request: AdmissionRequest,
  options: MatchOptions = {},
): MatchResult {
  if (isExemptRequest(request)) return { matched: false, reason: exemptReason(request) };
  const definition = policyMatches(policy, request, options);
  if (!definition.matched) return definition;
  const bound = bindingMatches(binding, request, options);
  if (!bound.matched) return bound;
  return definition;
}

/** Group/resources no ValidatingAdmissionPolicy from the API ever sees (generic/plugin.go, exclusion/resources.go). */
const EXEMPT = new Set([
  "admissionregistration.k8s.io/validatingadmissionpolicies",
  "admissionregistration.k8s.io/validatingadmissionpolicybindings",
  "admissionregistration.k8s.io/mutatingadmissionpolicies",
  "admissionregistration.k8s.io/mutatingadmissionpolicybindings",
  "authentication.k8s.io/selfsubjectreviews",
  "authentication.k8s.io/tokenreviews",
  "authorization.k8s.io/localsubjectaccessreviews",
  "authorization.k8s.io/selfsubjectaccessreviews",
  "authorization.k8s.io/selfsubjectrulesreviews",
  "authorization.k8s.io/subjectaccessreviews",
]);

/**
 * Whether the API server skips every policy for this request: the policy objects themselves
 * (no circular dependency) and the non-persisted auth reviews.
 */
export function isExemptRequest(request: AdmissionRequest): boolean {
  // Every request passes here once per policy: look the group up first instead of building a key.
  return EXEMPT_BY_GROUP.get(request.resource.group)?.has(request.resource.resource) ?? false;
}

const EXEMPT_BY_GROUP = new Map<string, Set<string>>();
for (const key of EXEMPT) {
  const slash = key.indexOf("/");
  const group = key.slice(0, slash);
  const resources = EXEMPT_BY_GROUP.get(group) ?? new Set<string>();
  resources.add(key.slice(slash + 1));
  EXEMPT_BY_GROUP.set(group, resources);
}

function exemptReason(request: AdmissionRequest): string {
  return `${request.resource.resource}.${request.resource.group} requests are exempt from admission policies`;
}
