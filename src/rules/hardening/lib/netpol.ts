/**
 * NetworkPolicy reading with upstream semantics (policyTypes defaulting, empty selectors), for
 * the coverage and default-deny rules.
 */

import type { Resource } from "../../../resources/types.ts";
import type { RuleContext } from "../../rule.ts";
import { perContext } from "./memo.ts";
import { asArray, asObject, namespaceKey } from "./objects.ts";

/** A Kubernetes NetworkPolicy (not a CNI's own kind of the same name) among the scanned resources. */
export interface NetworkPolicyRef {
  resource: Resource;
  podSelector: unknown;
  /** Effective policy types: as written, or defaulted as the API server does. */
  policyTypes: ReadonlySet<"Ingress" | "Egress">;
  ingress: readonly unknown[];
  egress: readonly unknown[];
}

function isKubernetesNetworkPolicy(resource: Resource): boolean {
  const group = resource.ref.apiVersion.split("/")[0];
  return resource.ref.kind === "NetworkPolicy" && (group === "networking.k8s.io" || group === "extensions");
}

/**
 * Effective policy types: `spec.policyTypes` when it is a list; otherwise Ingress, plus Egress
 * when the policy has egress rules (the API server's defaulting).
 */
export function effectivePolicyTypes(spec: Record<string, unknown>): Set<"Ingress" | "Egress"> {
  const types = new Set<"Ingress" | "Egress">();
  if (Array.isArray(spec.policyTypes)) {
    for (const type of spec.policyTypes) if (type === "Ingress" || type === "Egress") types.add(type);
    return types;
  }
  types.add("Ingress");
  if (asArray(spec.egress).length > 0) types.add("Egress");
  return types;
}

/** The NetworkPolicies of one namespace (namespace key as in {@link namespaceKey}), indexed once per context. */
export function networkPoliciesIn(context: RuleContext, namespace: string): readonly NetworkPolicyRef[] {
  const index = perContext(context, "netpol:by-namespace", () => {
    const byNs = new Map<string, NetworkPolicyRef[]>();
    for (const resource of context.byKind("NetworkPolicy")) {
      if (!isKubernetesNetworkPolicy(resource)) continue;
      const spec = asObject(resource.object.spec);
      const policy: NetworkPolicyRef = {
        resource,
        podSelector: spec.podSelector,
        policyTypes: effectivePolicyTypes(spec),
        ingress: asArray(spec.ingress),
        egress: asArray(spec.egress),
      };
      const key = namespaceKey(resource);
      const list = byNs.get(key);
      if (list) list.push(policy);
      else byNs.set(key, [policy]);
    }
    return byNs;
  });
  return index.get(namespace) ?? [];
}
