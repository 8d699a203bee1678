/**
 * rbac-wildcard
 *
 * Fields: `rules[*].verbs[*]`, `rules[*].resources[*]`, `rules[*].apiGroups[*]` and
 * `rules[*].nonResourceURLs[*]` of Roles and ClusterRoles (`rbac.authorization.k8s.io`).
 * Disallowed value: `*`, one violation per entry. Not checked: Kubernetes' bootstrap roles
 * (label `kubernetes.io/bootstrapping: rbac-defaults`) and aggregated ClusterRoles (their
 * rules are written by the controller).
 */
import { defineRule, type Rule, type Violation } from "../rule.ts";
import { policyRules, roleLabel } from "./lib/rbac.ts";

const FIELDS = ["apiGroups", "resources", "verbs", "nonResourceURLs"] as const;

/** Roles must list what they grant instead of using `*`. */
export const rbacWildcard: Rule = defineRule({
  meta: {
    id: "rbac-wildcard",
    title: "Role grants access with a wildcard",
    severity: "high",
    description:
      "A `*` in a role's verbs, resources or API groups grants everything that exists now and everything added later, " +
      "including new sensitive resources and subresources such as pods/exec or secrets. Roles should list exactly the " +
      "verbs and resources a subject needs.",
    remediation: "Replace the wildcard with the explicit verbs, resources and API groups the subject needs.",
    frameworks: {
      cis: ["5.1.3"],
      nsa: ["Role-based access control"],
      nist: ["4.3.1"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    const violations: Violation[] = [];
    for (const rule of policyRules(resource)) {
      for (const field of FIELDS) {
        for (const entry of rule[field]) {
          if (entry.value !== "*") continue;
          violations.push({
            path: [...rule.path, field, entry.index],
            message: `${roleLabel(resource)} rules[${rule.index}] grants "*" in ${field}`,
          });
        }
      }
    }
    return violations;
  },
});
