/**
 * rbac-pods-exec
 *
 * Field: `rules[*].resources[*]` of Roles and ClusterRoles (`rbac.authorization.k8s.io`) that
 * let a subject run commands in or attach to containers: apiGroups include `""` or `*`,
 * resources include `pods/exec`, `pods/attach`, `*\/exec`, `*\/attach` or `*`, and verbs
 * include `create`, `get` (exec over WebSockets is authorized as get) or `*`. Rules limited
 * by `resourceNames` are allowed (narrow, named grants such as just-in-time access). One
 * violation per matching resource entry. Bootstrap and aggregated roles are not checked.
 */
import { defineRule, type Rule, type Violation } from "../rule.ts";
import {
  coversGroup,
  matchingResources,
  matchingVerbs,
  policyRules,
  type RuleEntry,
  roleLabel,
} from "./lib/rbac.ts";

/** Roles should not grant exec or attach into arbitrary pods. */
export const rbacPodsExec: Rule = defineRule({
  meta: {
    id: "rbac-pods-exec",
    title: "Role grants exec or attach into pods",
    severity: "high",
    description:
      "pods/exec and pods/attach let a subject run commands inside containers, with the containers' service account " +
      "tokens, mounted secrets and network access. It bypasses everything the workload's own interface restricts and is a " +
      "common step from a stolen credential to deeper access.",
    remediation:
      "Remove pods/exec and pods/attach from the role or limit the rule to named pods with resourceNames.",
    frameworks: {
      nsa: ["Role-based access control"],
      nist: ["4.3.1"],
      mitre: ["T1609"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    const violations: Violation[] = [];
    for (const rule of policyRules(resource)) {
      if (rule.resourceNames.length > 0 || !coversGroup(rule, [""])) continue;
      const verbs = matchingVerbs(rule, ["create", "get"]);
      if (verbs.length === 0) continue;
      const entries = new Map<number, RuleEntry>();
      for (const sub of ["exec", "attach"])
        for (const entry of matchingResources(rule, "pods", sub)) entries.set(entry.index, entry);
      for (const entry of [...entries.values()].sort((a, b) => a.index - b.index)) {
        violations.push({
          path: [...rule.path, "resources", entry.index],
          message: `${roleLabel(resource)} rules[${rule.index}] grants ${verbs.join(", ")} on "${entry.value}", which allows running commands in pods`,
        });
      }
    }
    return violations;
  },
});
