/**
 * Pair bindings with their policies for one request and resolve their params: the part of
 * the API server's validating dispatcher (k8s.io/apiserver v0.37
 * `policy/validating/dispatcher.go` + `policy/generic/policy_dispatcher.go` CollectParams)
 * that runs before any CEL. The result is a list of evaluation units: one per
 * (policy, binding, param) to evaluate, plus the configuration errors the API server turns
 * into denials under the policy's failurePolicy.
 */

import { ObjectMemo } from "../../object-memo.ts";
import { isEmptySelector, matchesLabelSelector } from "../../resources/selectors.ts";
import type { KubeObject } from "../../resources/types.ts";
import { bindingMatches, isExemptRequest, type MatchOptions, policyMatches } from "./match.ts";
import { BUILTIN_KINDS, guessResource, type KindResolution, parseApiVersion } from "./request.ts";
import type {
  AdmissionRequest,
  FailurePolicy,
  GroupVersionKind,
  GroupVersionResource,
  MatchResources,
  ParamKind,
  ParamRef,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from "./types.ts";

/** Evaluate the policy's CEL for this binding with this param (null: no params). */
export interface EvaluateUnit {
  type: "evaluate";
  policy: ValidatingAdmissionPolicy;
  binding: ValidatingAdmissionPolicyBinding;
  /** The param object (`params` in CEL), or null when the policy has no paramKind or the binding no paramRef. */
  param: KubeObject | null;
  /** The resource and kind the policy matched (an equivalent one under matchPolicy Equivalent). */
  resource: GroupVersionResource;
  matchKind: GroupVersionKind;
}

/**
 * A configuration error (no params under `Deny`, a namespaced paramRef for a cluster-scoped
 * request, a Namespace that cannot be found, …). Under failurePolicy `Fail` the API server
 * denies the request with `message` (reason Invalid, HTTP 422), whatever the binding's
 * validationActions; under `Ignore` it is silently skipped.
 */
export interface ConfigErrorUnit {
  type: "config-error";
  policy: ValidatingAdmissionPolicy;
  /** Unset when the error is the policy's own (matching it failed). */
  binding?: ValidatingAdmissionPolicyBinding;
  /** The bare error, e.g. "no params found for policy binding with `Deny` parameterNotFoundAction". */
  error: string;
  /** The API server's denial message, e.g. `ValidatingAdmissionPolicy 'p' with binding 'b' denied request: failed to configure binding: …`. */
  message: string;
  failurePolicy: FailurePolicy;
  /** True when the API server denies the request for it (failurePolicy Fail). */
  denies: boolean;
  /** `namespace-not-found` when only the request's Namespace object was missing offline. */
  code?: "namespace-not-found" | "unknown-kind" | "invalid-object" | "params";
}

/** One unit of work for the CEL step. */
export type EvaluationUnit = EvaluateUnit | ConfigErrorUnit;

/** Options for {@link evaluationUnits}. */
export interface UnitOptions extends MatchOptions {
  /** Scope of param kinds the built-in table does not know (CRDs). See `kindResolverFromCRDs`. */
  resolveKind?: (gvk: GroupVersionKind) => KindResolution | undefined;
  /** Namespace of a namespaced param object that names none. Default `default`. */
  defaultNamespace?: string;
}

/**
 * The evaluation units for `request`: policies in name order, each with its bindings
 * (`spec.policyName`) in name order, each with its params (by name, or every param the
 * selector selects, in namespace/name order). Policies or bindings that do not match add
 * nothing; `parameterNotFoundAction: Allow` with no params adds nothing (the binding
 * admits). Requests for exempt resources (the policy objects themselves, auth reviews) get
 * no units. Never throws.
 */
export function evaluationUnits(
  policies: readonly ValidatingAdmissionPolicy[],
  bindings: readonly ValidatingAdmissionPolicyBinding[],
  request: AdmissionRequest,
  params: readonly KubeObject[],
  options: UnitOptions = {},
): EvaluationUnit[] {
  if (isExemptRequest(request)) return [];
  if (!selectorFree(policies) || !selectorFree(bindings))
    return buildUnits(policies, bindings, request, params, options);
  // Without selectors and resourceNames, nothing but the key below can change the units.
  const key = unitKey(request);
  const store = unitStore(policies, bindings, params, options);
  let units = store.byKey.get(key);
  if (units === undefined) {
    units = buildUnits(policies, bindings, request, params, options);
    if (store.byKey.size >= UNIT_CACHE_LIMIT) store.byKey.clear();
    store.byKey.set(key, units);
  }
  return units;
}

/**
 * A key under which {@link evaluationUnits} gives these arrays the same units for every request
 * with that key, or undefined when a selector or `resourceNames` of a policy or binding makes
 * the units depend on the request's objects.
 */
export function unitCacheKey(
  policies: readonly ValidatingAdmissionPolicy[],
  bindings: readonly ValidatingAdmissionPolicyBinding[],
  request: AdmissionRequest,
): string | undefined {
  if (!selectorFree(policies) || !selectorFree(bindings)) return undefined;
  // A unit key always has eight separators: "" is free for the exempt requests.
  return isExemptRequest(request) ? "" : unitKey(request);
}

const keyParts: string[] = Array.from({ length: 9 }, () => "");
const lastParts: string[] = Array.from({ length: 9 }, () => "");
let lastKey = "\0\0\0\0\0\0\0\0";

/**
 * The request's unit key. The webhook asks once per policy for the same request: the last key
 * is reused while the parts are equal (the same string, whose hash V8 keeps, rather than a
 * new one to hash for every policy).
 */
function unitKey(request: AdmissionRequest): string {
  const r = request.resource;
  const k = request.kind;
  keyParts[0] = request.operation;
  keyParts[1] = r.group;
  keyParts[2] = r.version;
  keyParts[3] = r.resource;
  keyParts[4] = r.subresource;
  keyParts[5] = k.group;
  keyParts[6] = k.version;
  keyParts[7] = k.kind;
  keyParts[8] = request.namespace;
  let same = true;
  for (let i = 0; i < 9; i++) {
    if (keyParts[i] !== lastParts[i]) {
      lastParts[i] = keyParts[i] as string;
      same = false;
    }
  }
  if (!same) lastKey = keyParts.join("\0");
  return lastKey;
}

/** Most kinds × operations × namespaces remembered per policy array; then it starts over. */
const UNIT_CACHE_LIMIT = 4096;

/**
 * Units by request key, kept on the policy array for the bindings, params and options they
 * were built with (the webhook passes the same ones on every request; another set replaces it).
 */
interface UnitStore {
  bindings: readonly ValidatingAdmissionPolicyBinding[];
  params: readonly KubeObject[];
  equivalents: UnitOptions["equivalents"];
  resolveKind: UnitOptions["resolveKind"];
  defaultNamespace: string | undefined;
  byKey: Map<string, EvaluationUnit[]>;
}
const unitStores = new ObjectMemo<readonly ValidatingAdmissionPolicy[], UnitStore>("unitStore");

function unitStore(
  policies: readonly ValidatingAdmissionPolicy[],
  bindings: readonly ValidatingAdmissionPolicyBinding[],
  params: readonly KubeObject[],
  options: UnitOptions,
): UnitStore {
  let store = unitStores.get(policies);
  if (
    store === undefined ||
    store.bindings !== bindings ||
    store.params !== params ||
    store.equivalents !== options.equivalents ||
    store.resolveKind !== options.resolveKind ||
    store.defaultNamespace !== options.defaultNamespace
  ) {
    store = {
      bindings,
      params,
      equivalents: options.equivalents,
      resolveKind: options.resolveKind,
      defaultNamespace: options.defaultNamespace,
      byKey: new Map(),
    };
    unitStores.set(policies, store);
  }
  return store;
}

/**
 * Whether every policy's matchConstraints (or binding's matchResources) has no namespace or
 * object selector and no resourceNames: then matching reads only the request's operation,
 * resource, subresource, kind and namespace, and the params only its namespace.
 */
const selectorFree = memoByArray(
  "selectorFree",
  (items: readonly (ValidatingAdmissionPolicy | ValidatingAdmissionPolicyBinding)[]) =>
    items.every((item) => {
      const resources: MatchResources | undefined =
        item.kind === "ValidatingAdmissionPolicy" ? item.spec.matchConstraints : item.spec.matchResources;
      return (
        resources === undefined ||
        (isEmptySelector(resources.namespaceSelector) &&
          isEmptySelector(resources.objectSelector) &&
          resources.resourceRules.every((rule) => rule.resourceNames.length === 0) &&
          resources.excludeResourceRules.every((rule) => rule.resourceNames.length === 0))
      );
    }),
);

function buildUnits(
  policies: readonly ValidatingAdmissionPolicy[],
  bindings: readonly ValidatingAdmissionPolicyBinding[],
  request: AdmissionRequest,
  params: readonly KubeObject[],
  options: UnitOptions,
): EvaluationUnit[] {
  const units: EvaluationUnit[] = [];
  // Grouped only once a policy matches: most policies do not match most requests.
  let byPolicy: Map<string, ValidatingAdmissionPolicyBinding[]> | undefined;
  for (const policy of sortedPolicies(policies)) {
    const definition = policyMatches(policy, request, options);
    if (!definition.matched) {
      if ("error" in definition)
        units.push(configError(policy, undefined, definition.error, definition.code));
      continue;
    }
    byPolicy ??= bindingsByPolicy(bindings);
    for (const binding of byPolicy.get(policy.metadata.name) ?? []) {
      const bound = bindingMatches(binding, request, options);
      if (!bound.matched) {
        if ("error" in bound) units.push(configError(policy, binding, bound.error, bound.code));
        continue;
      }
      const collected = collectParams(
        policy.spec.paramKind,
        binding.spec.paramRef,
        request.namespace,
        params,
        options,
      );
      if (!collected.ok) {
        units.push(configError(policy, binding, collected.error, "params"));
        continue;
      }
      for (const param of collected.params) {
        units.push({
          type: "evaluate",
          policy,
          binding,
          param,
          resource: definition.resource,
          matchKind: definition.kind,
        });
      }
    }
  }
  return units;
}

/** Bindings whose `spec.policyName` names no loaded policy (the API server ignores them). */
export function unboundBindings(
  policies: readonly ValidatingAdmissionPolicy[],
  bindings: readonly ValidatingAdmissionPolicyBinding[],
): ValidatingAdmissionPolicyBinding[] {
  const names = new Set(policies.map((p) => p.metadata.name));
  return bindings.filter((b) => !names.has(b.spec.policyName));
}

/**
 * Derived data of a policy set, computed once per array rather than per request (the
 * admission path evaluates the same loaded set for every request). An array is only read
 * after it is built; the length check catches one that grew since. Kept on the array itself
 * (ObjectMemo), not in a WeakMap: the webhook passes the same one-policy arrays on every
 * request, and an array made for one call takes its value with it when it dies.
 */
function memoByArray<T, R>(name: string, compute: (items: readonly T[]) => R): (items: readonly T[]) => R {
  const cache = new ObjectMemo<readonly T[], { length: number; value: R }>(name);
  return (items) => {
    const hit = cache.get(items);
    if (hit !== undefined && hit.length === items.length) return hit.value;
    const value = compute(items);
    cache.set(items, { length: items.length, value });
    return value;
  };
}

const sortedPolicies = memoByArray("sortedPolicies", (policies: readonly ValidatingAdmissionPolicy[]) =>
  [...policies].sort((a, b) => compare(a.metadata.name, b.metadata.name)),
);

const bindingsByPolicy = memoByArray(
  "bindingsByPolicy",
  (bindings: readonly ValidatingAdmissionPolicyBinding[]) => {
    const out = new Map<string, ValidatingAdmissionPolicyBinding[]>();
    for (const binding of [...bindings].sort((a, b) => compare(a.metadata.name, b.metadata.name))) {
      const list = out.get(binding.spec.policyName) ?? [];
      list.push(binding);
      out.set(binding.spec.policyName, list);
    }
    return out;
  },
);

/** Param candidates by `group/kind` (any version), in load order. */
const paramsByGroupKind = memoByArray("paramsByGroupKind", (objects: readonly KubeObject[]) => {
  const out = new Map<string, KubeObject[]>();
  for (const o of objects) {
    if (typeof o.apiVersion !== "string" || typeof o.kind !== "string") continue;
    const key = `${parseApiVersion(o.apiVersion).group}/${o.kind}`;
    const list = out.get(key);
    if (list) list.push(o);
    else out.set(key, [o]);
  }
  return out;
});

function configError(
  policy: ValidatingAdmissionPolicy,
  binding: ValidatingAdmissionPolicyBinding | undefined,
  error: string,
  code: ConfigErrorUnit["code"],
): ConfigErrorUnit {
  const message = binding
    ? `ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: failed to configure binding: ${error}`
    : `ValidatingAdmissionPolicy '${policy.metadata.name}' denied request: failed to configure policy: ${error}`;
  const unit: ConfigErrorUnit = {
    type: "config-error",
    policy,
    error,
    message,
    failurePolicy: policy.spec.failurePolicy,
    denies: policy.spec.failurePolicy === "Fail",
  };
  if (binding) unit.binding = binding;
  if (code) unit.code = code;
  return unit;
}

/** The params of one binding, or the API server's configuration error. */
export type CollectedParams = { ok: true; params: (KubeObject | null)[] } | { ok: false; error: string };

/**
 * `generic.CollectParams` offline: the param objects of `paramKind` that `paramRef` selects
 * among `objects`, for a request in `namespace` ("" for cluster-scoped requests). A param
 * object matches on group and kind (any version: the API server would convert it). Never throws.
 */
export function collectParams(
  paramKind: ParamKind | undefined,
  paramRef: ParamRef | undefined,
  namespace: string,
  objects: readonly KubeObject[],
  options: UnitOptions = {},
): CollectedParams {
  // No paramKind: paramRef is ignored. paramKind without paramRef: evaluated with null params.
  if (!paramKind || !paramRef) return { ok: true, params: [null] };
  const { group } = parseApiVersion(paramKind.apiVersion);
  const candidates = paramsByGroupKind(objects).get(`${group}/${paramKind.kind}`) ?? [];
  const scope = paramScope(paramKind, candidates, options);
  if (scope === undefined) {
    return {
      ok: false,
      error: `paramKind kind \`&ParamKind{APIVersion:${paramKind.apiVersion},Kind:${paramKind.kind},}\` not known`,
    };
  }
  const defaultNamespace = options.defaultNamespace ?? "default";
  const namespaceOf = (o: KubeObject): string => {
    const ns = metadataField(o, "namespace");
    return ns === "" ? defaultNamespace : ns;
  };
  let paramsNamespace = "";
  if (!scope.clusterScoped) {
    paramsNamespace = paramRef.namespace !== "" ? paramRef.namespace : namespace;
    if (paramsNamespace === "") {
      return {
        ok: false,
        error: "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources",
      };
    }
  } else if (paramRef.namespace !== "") {
    return { ok: false, error: "paramRef.namespace must not be provided for a cluster-scoped `paramKind`" };
  }
  let found: KubeObject[];
  if (paramRef.name !== "") {
    const index = namedParams(candidates, defaultNamespace);
    const hit = scope.clusterScoped
      ? index.byName.get(paramRef.name)
      : index.byNamespace.get(paramsNamespace)?.get(paramRef.name);
    found = hit !== undefined ? [hit] : [];
  } else {
    const pool = scope.clusterScoped
      ? candidates
      : candidates.filter((o) => namespaceOf(o) === paramsNamespace);
    found = pool
      .filter((o) => matchesLabelSelector(paramRef.selector ?? {}, labelsOf(o)))
      .sort(
        (a, b) =>
          compare(namespaceOf(a), namespaceOf(b)) ||
          compare(metadataField(a, "name"), metadataField(b, "name")),
      );
  }
  if (found.length === 0 && paramRef.parameterNotFoundAction === "Deny") {
    return { ok: false, error: "no params found for policy binding with `Deny` parameterNotFoundAction" };
  }
  return { ok: true, params: found };
}

interface NamedParams {
  defaultNamespace: string;
  /** Namespace (defaulted) → name → object. */
  byNamespace: Map<string, Map<string, KubeObject>>;
  byName: Map<string, KubeObject>;
}

const namedParamIndexes = new WeakMap<readonly KubeObject[], NamedParams>();

/**
 * Param candidates by namespace and name, once per candidate list (every request looks up the
 * same params). A store holds one object per key: the last one loaded wins, as with
 * `kubectl apply`.
 */
function namedParams(candidates: readonly KubeObject[], defaultNamespace: string): NamedParams {
  let index = namedParamIndexes.get(candidates);
  if (index === undefined || index.defaultNamespace !== defaultNamespace) {
    index = { defaultNamespace, byNamespace: new Map(), byName: new Map() };
    for (const o of candidates) {
      const name = metadataField(o, "name");
      const ns = metadataField(o, "namespace");
      const key = ns === "" ? defaultNamespace : ns;
      const names = index.byNamespace.get(key) ?? new Map<string, KubeObject>();
      names.set(name, o);
      index.byNamespace.set(key, names);
      index.byName.set(name, o);
    }
    namedParamIndexes.set(candidates, index);
  }
  return index;
}

/**
 * The scope of the param kind: the built-in table, then the resolver, then what the param
 * objects show (any with a namespace → namespaced, else cluster-scoped). Undefined: the kind
 * is unknown and no object of it was given (the API server's "not known", e.g. a CRD that is
 * not installed).
 */
function paramScope(
  paramKind: ParamKind,
  candidates: readonly KubeObject[],
  options: UnitOptions,
): KindResolution | undefined {
  const gv = parseApiVersion(paramKind.apiVersion);
  const gvk: GroupVersionKind = { group: gv.group, version: gv.version, kind: paramKind.kind };
  const builtin = BUILTIN_KINDS[gvk.group]?.[gvk.kind];
  if (builtin) return builtin;
  const resolved = options.resolveKind?.(gvk);
  if (resolved) return resolved;
  if (candidates.length === 0) return undefined;
  return {
    resource: guessResource(gvk.kind),
    clusterScoped: candidates.every((o) => metadataField(o, "namespace") === ""),
  };
}

function metadataField(object: KubeObject, key: string): string {
  const metadata = object.metadata;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) return "";
  const value = (metadata as Record<string, unknown>)[key];
  return typeof value === "string" ? value : "";
}

function labelsOf(object: KubeObject): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const metadata = object.metadata;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) return out;
  const labels = (metadata as Record<string, unknown>).labels;
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) return out;
  for (const [k, v] of Object.entries(labels)) if (typeof v === "string") out[k] = v;
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
