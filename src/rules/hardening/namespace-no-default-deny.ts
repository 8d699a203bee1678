/**
 * namespace-no-default-deny
 *
 * Subject: every Namespace (`v1`) among the scanned resources, and the Kubernetes
 * NetworkPolicies whose `metadata.namespace` is its name.
 * Passes for a direction (Ingress, Egress) when some policy there selects every pod (empty
 * `spec.podSelector`), has that direction among its effective policyTypes (`policyTypes`, or
 * the API server's defaulting: Ingress always, Egress when egress rules exist), and has no
 * allow-all rule for it: a rule without ports whose peers are missing, or include every
 * namespace (`namespaceSelector: {}` with no or an empty podSelector) or every address
 * (`ipBlock` 0.0.0.0/0 or ::/0 without `except`). Rules that allow specific traffic (DNS,
 * say) keep it a default deny. Each missing direction is one violation, at
 * `metadata.name`.
 */

import { isEmptySelector } from "../../resources/selectors.ts";
import { defineRule, type Rule, type Violation } from "../rule.ts";
import { networkPoliciesIn } from "./lib/netpol.ts";
import { asArray, isObject } from "./lib/objects.ts";

const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);

/** A peer that admits everything: every pod of every namespace, or every address. */
function isAnyPeer(peer: unknown): boolean {
  if (!isObject(peer)) return false;
  if (isObject(peer.ipBlock)) {
    return (
      typeof peer.ipBlock.cidr === "string" &&
      ANYWHERE.has(peer.ipBlock.cidr) &&
      asArray(peer.ipBlock.except).length === 0
    );
  }
  return (
    peer.namespaceSelector !== undefined &&
    isEmptySelector(peer.namespaceSelector) &&
    isEmptySelector(peer.podSelector)
  );
}

/** A rule that allows all traffic of its direction: no port restriction and no or an any-peer. */
function allowsAll(rule: unknown, peersField: "from" | "to"): boolean {
  if (!isObject(rule) || asArray(rule.ports).length > 0) return false;
  const peers = asArray(rule[peersField]);
  return peers.length === 0 || peers.some(isAnyPeer);
}

/** Every Namespace must have default-deny NetworkPolicies for ingress and egress. */
export const namespaceNoDefaultDeny: Rule = defineRule({
  meta: {
    id: "namespace-no-default-deny",
    title: "Namespace has no default-deny NetworkPolicy",
    severity: "medium",
    description:
      "Pods are open to all traffic until a NetworkPolicy selects them, so a new workload in a namespace without a " +
      "default-deny policy starts unprotected. A policy selecting every pod with no allow rules, for ingress and for " +
      "egress, makes deny the default and every allowed flow explicit.",
    remediation:
      "Add a NetworkPolicy with an empty podSelector and policyTypes Ingress and Egress to the namespace.",
    frameworks: {
      cis: ["5.3.2"],
      nsa: ["Network policies"],
      nist: ["4.3.3", "4.4.2"],
    },
    profiles: ["hardening"],
  },
  check(resource, context) {
    if (resource.ref.kind !== "Namespace" || resource.ref.apiVersion !== "v1") return [];
    const name = resource.ref.name;
    const policies = networkPoliciesIn(context, name).filter((policy) => isEmptySelector(policy.podSelector));
    const violations: Violation[] = [];
    const directions = [
      { type: "Ingress", rules: "ingress", peers: "from" },
      { type: "Egress", rules: "egress", peers: "to" },
    ] as const;
    for (const direction of directions) {
      const denied = policies.some(
        (policy) =>
          policy.policyTypes.has(direction.type) &&
          !policy[direction.rules].some((rule) => allowsAll(rule, direction.peers)),
      );
      if (denied) continue;
      violations.push({
        path: ["metadata", "name"],
        message: `Namespace "${name}" has no default-deny ${direction.type} NetworkPolicy (empty podSelector, policyTypes ${direction.type}, no allow-all rule)`,
      });
    }
    return violations;
  },
});
