/**
 * namespace-pss-privileged
 *
 * Field: `metadata.labels["pod-security.kubernetes.io/enforce"]` of every Namespace (`v1`).
 * Disallowed value: `privileged` (Pod Security admission then admits every pod: privileged
 * containers, host namespaces, hostPath). A violation at that label. Namespaces that must run
 * such pods (node agents, CNI plugins) are the reason for the `belay.dev/ignore` annotation
 * or an exception with a written reason.
 */

import { defineRule, type Rule } from "../rule.ts";
import { labelsOf } from "./lib/objects.ts";
import { PSS_ENFORCE_LABEL } from "./namespace-pss-label-missing.ts";

/** A Namespace must not enforce the privileged (unrestricted) Pod Security level. */
export const namespacePssPrivileged: Rule = defineRule({
  meta: {
    id: "namespace-pss-privileged",
    title: "Namespace enforces the privileged Pod Security level",
    severity: "high",
    description:
      "A namespace labelled pod-security.kubernetes.io/enforce=privileged turns Pod Security admission off for it: " +
      "privileged containers, host namespaces and hostPath volumes are all admitted, and anyone who may create pods " +
      "there can take over the node.",
    remediation:
      "Set the namespace's pod-security.kubernetes.io/enforce label to restricted or baseline, and move workloads that need host access to a dedicated namespace with an exception.",
    frameworks: {
      cis: ["5.2.1", "5.2.2"],
      nsa: ["Pod security enforcement"],
      nist: ["4.4.3"],
      mitre: ["T1611"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    if (resource.ref.kind !== "Namespace" || resource.ref.apiVersion !== "v1") return [];
    if (labelsOf(resource.object.metadata)[PSS_ENFORCE_LABEL] !== "privileged") return [];
    return [
      {
        path: ["metadata", "labels", PSS_ENFORCE_LABEL],
        message: `Namespace "${resource.ref.name}" sets ${PSS_ENFORCE_LABEL}=privileged; every pod is admitted there`,
      },
    ];
  },
});
