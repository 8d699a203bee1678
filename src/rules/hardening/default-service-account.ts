/**
 * default-service-account
 *
 * Field: `serviceAccountName` of every pod template (the deprecated `serviceAccount` is read
 * when `serviceAccountName` is unset).
 * Allowed values: any name but `default`. Unset fails (the API server fills in `default`).
 */
import { podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { podsLabel, serviceAccountOf } from "./lib/pods.ts";

/** Workloads must run as their own service account, not the namespace's shared default. */
export const defaultServiceAccount: Rule = podRule(
  {
    id: "default-service-account",
    title: "Pod uses the default service account",
    severity: "low",
    description:
      "Every pod that names no service account runs as the namespace's default one, so all of them share one identity: any " +
      "permission granted to it for one workload is granted to all, and audit logs cannot tell them apart. A dedicated " +
      "service account per workload keeps permissions least-privilege and attributable.",
    remediation: "Create a ServiceAccount for the workload and set serviceAccountName to it.",
    frameworks: {
      cis: ["5.1.5"],
      nsa: ["Role-based access control"],
    },
    profiles: ["hardening"],
  },
  (template, _context, resource) => {
    if (serviceAccountOf(template) !== "default") return [];
    return [
      {
        path: [...template.specPath, "serviceAccountName"],
        message: `${podsLabel(resource)} runs as the "default" service account (serviceAccountName is unset or "default")`,
      },
    ];
  },
);
