/**
 * rbac-secrets-access
 *
 * Field: `rules[*].resources[*]` of Roles and ClusterRoles (`rbac.authorization.k8s.io`) that
 * grant reading Secrets: a rule whose apiGroups include `""` or `*`, whose resources include
 * `secrets` or `*`, and whose verbs include `get`, `list`, `watch` or `*`. Rules limited by
 * `resourceNames` are allowed (they name the Secrets they may read). One violation per
 * matching resource entry. Bootstrap and aggregated roles are not checked.
 */
import { grantingResources, grantingVerbs, grantsGroup } from "../../rbac/entries.ts";
import { defineRule, type Rule, type Violation } from "../rule.ts";
import { policyRules, roleLabel } from "./lib/rbac.ts";

/** Roles should not grant reading Secrets in general. */
export const rbacSecretsAccess: Rule = defineRule({
  meta: {
    id: "rbac-secrets-access",
    title: "Role grants read access to Secrets",
    severity: "medium",
    description:
      "Reading Secrets yields the credentials of other workloads and, through service account tokens, their API " +
      "permissions. list and watch return every Secret's data, not just names. Access should be limited to the Secrets a " +
      "subject needs, by name.",
    remediation:
      "Remove get, list and watch on secrets from the role or restrict the rule with resourceNames.",
    frameworks: {
      cis: ["5.1.2"],
      nsa: ["Role-based access control", "Secrets"],
      nist: ["4.3.2"],
      mitre: ["T1552.007", "T1528"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    const violations: Violation[] = [];
    for (const rule of policyRules(resource)) {
      if (rule.resourceNames.length > 0 || !grantsGroup(rule, [""])) continue;
      const verbs = grantingVerbs(rule, ["get", "list", "watch"]);
      if (verbs.length === 0) continue;
      for (const entry of grantingResources(rule, [["secrets"]])) {
        violations.push({
          path: [...rule.path, "resources", entry.index],
          message: `${roleLabel(resource)} rules[${rule.index}] grants ${verbs.join(", ")} on "${entry.value}", which includes reading Secrets`,
        });
      }
    }
    return violations;
  },
});
