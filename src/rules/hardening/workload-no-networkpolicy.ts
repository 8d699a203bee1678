/**
 * workload-no-networkpolicy
 *
 * Field: the pod labels (`metadata.labels` of the pod template) of every workload.
 * Fails when no Kubernetes NetworkPolicy (`networking.k8s.io`) among the scanned resources
 * in the same namespace selects the pods: `spec.podSelector` is a label selector
 * (`matchLabels` and `matchExpressions` with In, NotIn, Exists, DoesNotExist, ANDed); an
 * empty selector selects every pod of the namespace. Objects without a namespace relate only
 * to policies without one. Pods with `hostNetwork: true` are skipped (NetworkPolicies do not
 * apply to them).
 */

import { matchesLabelSelector } from "../../resources/selectors.ts";
import { podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { networkPoliciesIn } from "./lib/netpol.ts";
import { labelsOf, namespaceKey } from "./lib/objects.ts";
import { podsLabel, specOf } from "./lib/pods.ts";

/** Every workload's pods must be selected by a NetworkPolicy. */
export const workloadNoNetworkpolicy: Rule = podRule(
  {
    id: "workload-no-networkpolicy",
    title: "Workload is not covered by a NetworkPolicy",
    severity: "medium",
    description:
      "Pods that no NetworkPolicy selects accept traffic from, and send traffic to, any pod in the cluster and any address " +
      "outside it. An attacker who compromises one workload can then reach every other one. A NetworkPolicy selecting the " +
      "pods limits who may talk to them.",
    remediation:
      "Add a NetworkPolicy in the workload's namespace whose podSelector matches its pods and allows only the traffic it needs.",
    frameworks: {
      cis: ["5.3.2"],
      nsa: ["Network policies"],
      nist: ["4.3.3"],
      mitre: ["T1046"],
    },
    profiles: ["hardening"],
  },
  (template, context, resource) => {
    if (specOf(template).hostNetwork === true) return [];
    const labels = labelsOf(template.metadata);
    const namespace = namespaceKey(resource);
    const covered = networkPoliciesIn(context, namespace).some((policy) =>
      matchesLabelSelector(policy.podSelector, labels),
    );
    if (covered) return [];
    const shown = Object.keys(labels)
      .sort()
      .map((key) => `${key}=${labels[key]}`)
      .join(", ");
    const where = namespace === "" ? "among objects without a namespace" : `in namespace "${namespace}"`;
    return [
      {
        path: [...template.metadataPath, "labels"],
        message: `${podsLabel(resource)} (labels {${shown}}) is selected by no NetworkPolicy ${where}`,
      },
    ];
  },
);
