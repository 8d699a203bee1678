/**
 * rbac-cluster-admin-binding
 *
 * Field: `subjects[*]` of ClusterRoleBindings and RoleBindings (`rbac.authorization.k8s.io`)
 * whose `roleRef` is the ClusterRole `cluster-admin`.
 * Disallowed: any subject except users and groups named `system:…` (Kubernetes' own
 * identities); service accounts are always reported. One violation per subject. Kubernetes'
 * bootstrap bindings (label `kubernetes.io/bootstrapping: rbac-defaults`) are not checked.
 */
import { defineRule, type Rule, type Violation } from "../rule.ts";
import { asArray, asObject, isObject } from "./lib/objects.ts";
import { isBootstrapPolicy, isRbacKind } from "./lib/rbac.ts";

function subjectLabel(subject: Record<string, unknown>): string {
  const kind = typeof subject.kind === "string" ? subject.kind : "subject";
  const name = typeof subject.name === "string" ? subject.name : "";
  if (kind === "ServiceAccount" && typeof subject.namespace === "string")
    return `ServiceAccount "${subject.namespace}/${name}"`;
  return `${kind} "${name}"`;
}

/** Only Kubernetes' own identities may be bound to cluster-admin. */
export const rbacClusterAdminBinding: Rule = defineRule({
  meta: {
    id: "rbac-cluster-admin-binding",
    title: "Subject is bound to cluster-admin",
    severity: "high",
    description:
      "cluster-admin grants every action on every resource. A user, group or service account bound to it can read all " +
      "secrets, run code in any pod and change any policy, so a single leaked credential or compromised workload owns " +
      "the cluster. Access should be granted with narrower roles.",
    remediation:
      "Bind the subject to a role that grants only the permissions it needs instead of cluster-admin.",
    frameworks: {
      cis: ["5.1.1"],
      nsa: ["Role-based access control"],
      nist: ["4.3.1"],
      mitre: ["T1078", "T1098.006"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    if (!isRbacKind(resource, ["ClusterRoleBinding", "RoleBinding"]) || isBootstrapPolicy(resource))
      return [];
    const roleRef = asObject(resource.object.roleRef);
    if (roleRef.kind !== "ClusterRole" || roleRef.name !== "cluster-admin") return [];
    const scope =
      resource.ref.kind === "RoleBinding" && resource.ref.namespace
        ? `in namespace "${resource.ref.namespace}"`
        : "cluster-wide";
    const violations: Violation[] = [];
    asArray(resource.object.subjects).forEach((subject, index) => {
      if (!isObject(subject)) return;
      const isSystem =
        (subject.kind === "User" || subject.kind === "Group") &&
        typeof subject.name === "string" &&
        subject.name.startsWith("system:");
      if (isSystem) return;
      violations.push({
        path: ["subjects", index],
        message: `${resource.ref.kind} "${resource.ref.name}" grants cluster-admin ${scope} to ${subjectLabel(subject)}`,
      });
    });
    return violations;
  },
});
