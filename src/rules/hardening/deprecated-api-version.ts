/**
 * deprecated-api-version
 *
 * Field: `apiVersion` of every object.
 * Disallowed values: the apiVersion/kind pairs Kubernetes has removed (v1.16 through v1.32),
 * listed in {@link REMOVED_APIS} with the release that removed them and the replacement.
 * Unknown and current API versions pass.
 */
import { defineRule, type Rule } from "../rule.ts";
import { objectLabel } from "./lib/objects.ts";

/** A removed API: the release that stopped serving it and what to use instead. */
export interface RemovedApi {
  removedIn: string;
  /** The apiVersion to migrate to, or a sentence when there is no direct replacement. */
  replacement: string;
}

const WORKLOADS = ["Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"];
const RBAC = ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"];
const ACCESS_REVIEWS = [
  "SubjectAccessReview",
  "LocalSubjectAccessReview",
  "SelfSubjectAccessReview",
  "SelfSubjectRulesReview",
];

function entries(
  apiVersion: string,
  kinds: readonly string[],
  removedIn: string,
  replacement: string,
): [string, RemovedApi][] {
  return kinds.map((kind) => [`${apiVersion} ${kind}`, { removedIn, replacement }]);
}

/** Removed APIs keyed by `"<apiVersion> <kind>"`. */
export const REMOVED_APIS: ReadonlyMap<string, RemovedApi> = new Map([
  ...entries("extensions/v1beta1", ["Deployment", "DaemonSet", "ReplicaSet"], "v1.16", "apps/v1"),
  ...entries("extensions/v1beta1", ["NetworkPolicy"], "v1.16", "networking.k8s.io/v1"),
  ...entries(
    "extensions/v1beta1",
    ["PodSecurityPolicy"],
    "v1.16",
    "Pod Security admission (PodSecurityPolicy is gone since v1.25)",
  ),
  ...entries("extensions/v1beta1", ["Ingress"], "v1.22", "networking.k8s.io/v1"),
  ...entries("apps/v1beta1", WORKLOADS, "v1.16", "apps/v1"),
  ...entries("apps/v1beta2", WORKLOADS, "v1.16", "apps/v1"),
  ...entries(
    "admissionregistration.k8s.io/v1beta1",
    ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"],
    "v1.22",
    "admissionregistration.k8s.io/v1",
  ),
  ...entries(
    "apiextensions.k8s.io/v1beta1",
    ["CustomResourceDefinition"],
    "v1.22",
    "apiextensions.k8s.io/v1",
  ),
  ...entries("apiregistration.k8s.io/v1beta1", ["APIService"], "v1.22", "apiregistration.k8s.io/v1"),
  ...entries("authentication.k8s.io/v1beta1", ["TokenReview"], "v1.22", "authentication.k8s.io/v1"),
  ...entries("authorization.k8s.io/v1beta1", ACCESS_REVIEWS, "v1.22", "authorization.k8s.io/v1"),
  ...entries("certificates.k8s.io/v1beta1", ["CertificateSigningRequest"], "v1.22", "certificates.k8s.io/v1"),
  ...entries("coordination.k8s.io/v1beta1", ["Lease"], "v1.22", "coordination.k8s.io/v1"),
  ...entries("networking.k8s.io/v1beta1", ["Ingress", "IngressClass"], "v1.22", "networking.k8s.io/v1"),
  ...entries("rbac.authorization.k8s.io/v1beta1", RBAC, "v1.22", "rbac.authorization.k8s.io/v1"),
  ...entries("rbac.authorization.k8s.io/v1alpha1", RBAC, "v1.22", "rbac.authorization.k8s.io/v1"),
  ...entries("scheduling.k8s.io/v1beta1", ["PriorityClass"], "v1.22", "scheduling.k8s.io/v1"),
  ...entries("scheduling.k8s.io/v1alpha1", ["PriorityClass"], "v1.22", "scheduling.k8s.io/v1"),
  ...entries(
    "storage.k8s.io/v1beta1",
    ["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
    "v1.22",
    "storage.k8s.io/v1",
  ),
  ...entries("batch/v1beta1", ["CronJob"], "v1.25", "batch/v1"),
  ...entries("discovery.k8s.io/v1beta1", ["EndpointSlice"], "v1.25", "discovery.k8s.io/v1"),
  ...entries("events.k8s.io/v1beta1", ["Event"], "v1.25", "events.k8s.io/v1"),
  ...entries("autoscaling/v2beta1", ["HorizontalPodAutoscaler"], "v1.25", "autoscaling/v2"),
  ...entries("policy/v1beta1", ["PodDisruptionBudget"], "v1.25", "policy/v1"),
  ...entries(
    "policy/v1beta1",
    ["PodSecurityPolicy"],
    "v1.25",
    "Pod Security admission (PodSecurityPolicy has no replacement API)",
  ),
  ...entries("node.k8s.io/v1beta1", ["RuntimeClass"], "v1.25", "node.k8s.io/v1"),
  ...entries("autoscaling/v2beta2", ["HorizontalPodAutoscaler"], "v1.26", "autoscaling/v2"),
  ...entries(
    "flowcontrol.apiserver.k8s.io/v1beta1",
    ["FlowSchema", "PriorityLevelConfiguration"],
    "v1.26",
    "flowcontrol.apiserver.k8s.io/v1",
  ),
  ...entries("storage.k8s.io/v1beta1", ["CSIStorageCapacity"], "v1.27", "storage.k8s.io/v1"),
  ...entries(
    "flowcontrol.apiserver.k8s.io/v1beta2",
    ["FlowSchema", "PriorityLevelConfiguration"],
    "v1.29",
    "flowcontrol.apiserver.k8s.io/v1",
  ),
  ...entries(
    "flowcontrol.apiserver.k8s.io/v1beta3",
    ["FlowSchema", "PriorityLevelConfiguration"],
    "v1.32",
    "flowcontrol.apiserver.k8s.io/v1",
  ),
]);

/** Objects must use API versions that Kubernetes still serves. */
export const deprecatedApiVersion: Rule = defineRule({
  meta: {
    id: "deprecated-api-version",
    title: "Object uses a removed API version",
    severity: "medium",
    description:
      "Kubernetes stops serving beta API versions some releases after their stable replacement ships. Manifests that still " +
      "use them fail to apply on current clusters, which blocks upgrades and tempts teams to stay on unsupported, " +
      "unpatched Kubernetes versions; some removed APIs also lack security fields added later.",
    remediation: "Migrate the object to the replacement apiVersion named in the finding.",
    frameworks: {
      nsa: ["Upgrading and application security practices"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    const removed = REMOVED_APIS.get(`${resource.ref.apiVersion} ${resource.ref.kind}`);
    if (removed === undefined) return [];
    return [
      {
        path: ["apiVersion"],
        message: `${objectLabel(resource)} uses apiVersion "${resource.ref.apiVersion}", removed in Kubernetes ${removed.removedIn}; use ${removed.replacement}`,
      },
    ];
  },
});
