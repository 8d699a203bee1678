/**
 * namespace-pss-label-missing
 *
 * Field: `metadata.labels["pod-security.kubernetes.io/enforce"]` of every Namespace (`v1`).
 * Allowed values: `baseline`, `restricted` or `privileged` (the last is reported by
 * namespace-pss-privileged). Missing, empty or any other value is a violation at
 * `metadata.labels`: without the label, Pod Security admission enforces only the cluster's
 * default level (`privileged` unless the API server's AdmissionConfiguration says otherwise),
 * so the namespace's pod security depends on configuration the namespace does not show.
 * `audit` and `warn` labels alone do not count: they never reject a pod.
 */

import { defineRule, type Rule } from "../rule.ts";
import { labelsOf } from "./lib/objects.ts";

/** The Pod Security admission label that decides which pods a namespace admits. */
export const PSS_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

/** The levels Pod Security admission accepts in its labels. */
export const PSS_LEVELS: ReadonlySet<string> = new Set(["privileged", "baseline", "restricted"]);

/** Every Namespace must say which Pod Security Standard it enforces. */
export const namespacePssLabelMissing: Rule = defineRule({
  meta: {
    id: "namespace-pss-label-missing",
    title: "Namespace does not enforce a Pod Security Standard",
    severity: "medium",
    description:
      "Pod Security admission enforces the level named in a namespace's pod-security.kubernetes.io/enforce label. Without " +
      "the label the cluster-wide default applies, which is privileged unless the API server was configured otherwise, so " +
      "any pod, including privileged and host-namespace ones, is admitted there.",
    remediation:
      "Label the namespace pod-security.kubernetes.io/enforce=restricted, or baseline where restricted is not yet possible.",
    frameworks: {
      cis: ["5.2.1"],
      nsa: ["Pod security enforcement"],
      nist: ["4.4.3"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    if (resource.ref.kind !== "Namespace" || resource.ref.apiVersion !== "v1") return [];
    const value = labelsOf(resource.object.metadata)[PSS_ENFORCE_LABEL];
    if (value !== undefined && PSS_LEVELS.has(value)) return [];
    const name = resource.ref.name;
    return [
      {
        path: ["metadata", "labels"],
        message:
          value === undefined || value === ""
            ? `Namespace "${name}" has no ${PSS_ENFORCE_LABEL} label; the cluster's default Pod Security level applies`
            : `Namespace "${name}" sets ${PSS_ENFORCE_LABEL}="${value}", which is not a Pod Security level (privileged, baseline, restricted)`,
      },
    ];
  },
});
