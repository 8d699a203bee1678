/**
 * rbac-nodes-proxy
 *
 * Field: `rules[*].resources[*]` of Roles and ClusterRoles (`rbac.authorization.k8s.io`) that
 * grant the nodes/proxy subresource: apiGroups include `""` or `*`, resources include
 * `nodes/proxy`, `*\/proxy` or `*`, with any verb (even resourceNames do not make it safe:
 * one node is all of its pods). One violation per matching resource entry. Bootstrap and
 * aggregated roles are not checked.
 */
import { grantingResources, grantsGroup } from "../../rbac/entries.ts";
import { defineRule, type Rule, type Violation } from "../rule.ts";
import { policyRules, roleLabel } from "./lib/rbac.ts";

/** Roles should not grant proxying to the kubelet API. */
export const rbacNodesProxy: Rule = defineRule({
  meta: {
    id: "rbac-nodes-proxy",
    title: "Role grants nodes/proxy",
    severity: "high",
    description:
      "nodes/proxy passes requests straight to the kubelet API of a node, which can run commands in any container on it and " +
      "read its logs, bypassing admission control and most API server audit logging. It is effectively control over every " +
      "pod on the node.",
    remediation:
      "Remove nodes/proxy from the role and use the metrics or logs APIs the subject actually needs.",
    frameworks: {
      cis: ["5.1.10"],
      nsa: ["Role-based access control"],
      nist: ["4.3.1"],
      mitre: ["T1609"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    const violations: Violation[] = [];
    for (const rule of policyRules(resource)) {
      if (!grantsGroup(rule, [""]) || rule.verbs.length === 0) continue;
      const verbs = [...new Set(rule.verbs.map((v) => v.value))].sort();
      for (const entry of grantingResources(rule, [["nodes", "proxy"]])) {
        violations.push({
          path: [...rule.path, "resources", entry.index],
          message: `${roleLabel(resource)} rules[${rule.index}] grants ${verbs.join(", ")} on "${entry.value}", which includes the kubelet API through nodes/proxy`,
        });
      }
    }
    return violations;
  },
});
