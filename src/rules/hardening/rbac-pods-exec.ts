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
import { podStreamViolations } from "../../rbac/risks.ts";
import { defineRule, type Rule } from "../rule.ts";
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
  // The Kubernetes version is unknown to a scan: `get` counts (WebSocket exec before v1.35).
  check: (resource) =>
    podStreamViolations(resource, ["exec", "attach"], "allows running commands in pods", {}),
});
