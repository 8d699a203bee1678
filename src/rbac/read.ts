/**
 * Reading RBAC objects (manifests or objects listed from a cluster) into the model. Input
 * is untrusted: every field is read defensively, anything unusable is reported, never thrown.
 */
import type { Resource } from "../resources/types.ts";
import type {
  LabelSelector,
  LabelSelectorRequirement,
  PolicyRule,
  RbacBinding,
  RbacObjects,
  RbacRole,
  Subject,
} from "./types.ts";

const RBAC_GROUP = "rbac.authorization.k8s.io";
const KINDS = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);

/** What {@link readRbacObjects} found, and the objects it could not use, with why. */
export interface ReadResult {
  objects: RbacObjects;
  problems: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function obj(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(value))) if (typeof v === "string") out[k] = v;
  return out;
}

/** A policy rule from its JSON form. */
export function readPolicyRule(value: unknown): PolicyRule {
  const rule = obj(value);
  return {
    verbs: strings(rule.verbs),
    apiGroups: strings(rule.apiGroups),
    resources: strings(rule.resources),
    resourceNames: strings(rule.resourceNames),
    nonResourceURLs: strings(rule.nonResourceURLs),
  };
}

/** A label selector from its JSON form. */
export function readLabelSelector(value: unknown): LabelSelector {
  const selector = obj(value);
  const matchExpressions: LabelSelectorRequirement[] = (
    Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []
  ).map((e) => ({ key: str(obj(e).key), operator: str(obj(e).operator), values: strings(obj(e).values) }));
  return { matchLabels: stringMap(selector.matchLabels), matchExpressions };
}

/** True for `rbac.authorization.k8s.io/*` Roles, ClusterRoles and their bindings. */
export function isRbacObject(object: Record<string, unknown>): boolean {
  return (
    typeof object.kind === "string" &&
    KINDS.has(object.kind) &&
    typeof object.apiVersion === "string" &&
    object.apiVersion.startsWith(`${RBAC_GROUP}/`)
  );
}

/**
 * Read every RBAC object among `resources` (others are ignored). Never throws: objects
 * without a name, or bindings without a usable roleRef, are listed in `problems` and left out.
 */
export function readRbacObjects(resources: readonly Resource[]): ReadResult {
  const objects: RbacObjects = { roles: [], bindings: [] };
  const problems: string[] = [];
  for (const resource of resources) {
    const object = resource.object;
    if (!isRbacObject(object)) continue;
    const kind = object.kind as string;
    const metadata = obj(object.metadata);
    const name = str(metadata.name);
    const namespace = str(metadata.namespace);
    const where = resource.source ? ` (${resource.source.file})` : "";
    if (name === "") {
      problems.push(`${kind} without metadata.name${where} is ignored`);
      continue;
    }
    if (kind === "Role" || kind === "ClusterRole") {
      const role: RbacRole = {
        kind,
        name,
        labels: stringMap(metadata.labels),
        rules: (Array.isArray(object.rules) ? object.rules : []).map(readPolicyRule),
        source: resource,
      };
      if (kind === "Role") role.namespace = namespace || "default";
      if (kind === "ClusterRole" && isObject(object.aggregationRule)) {
        const selectors = object.aggregationRule.clusterRoleSelectors;
        role.aggregationRule = {
          clusterRoleSelectors: (Array.isArray(selectors) ? selectors : []).map(readLabelSelector),
        };
      }
      objects.roles.push(role);
      continue;
    }
    const roleRef = obj(object.roleRef);
    if (str(roleRef.name) === "" || str(roleRef.kind) === "") {
      problems.push(`${kind} "${name}"${where} has no roleRef kind and name; it is ignored`);
      continue;
    }
    const subjects: Subject[] = (Array.isArray(object.subjects) ? object.subjects : []).map((s) => {
      const subject: Subject = { kind: str(obj(s).kind), name: str(obj(s).name) };
      const ns = str(obj(s).namespace);
      if (ns !== "") subject.namespace = ns;
      return subject;
    });
    const binding: RbacBinding = {
      kind: kind as RbacBinding["kind"],
      name,
      roleRef: { kind: str(roleRef.kind), name: str(roleRef.name) },
      subjects,
      source: resource,
    };
    if (kind === "RoleBinding") binding.namespace = namespace || "default";
    objects.bindings.push(binding);
  }
  return { objects, problems };
}
