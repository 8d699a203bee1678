/**
 * default-namespace
 *
 * Field: `metadata.namespace` of every namespaced object.
 * Disallowed values: unset/empty (the object lands in whatever namespace it is applied to,
 * `default` unless told otherwise) and `default`.
 * Not checked: cluster-scoped kinds (an explicit list of the built-in ones; any other kind
 * whose name starts with `Cluster`, except Cluster API's namespaced `Cluster`; custom kinds
 * whose CustomResourceDefinition among the scanned resources has `spec.scope: Cluster`) and
 * configuration files that are not API objects (kustomize, kubeadm, kubelet, audit policy,
 * kind cluster configs).
 */

import type { Resource } from "../../resources/types.ts";
import { defineRule, type Rule, type RuleContext } from "../rule.ts";
import { perContext } from "./lib/memo.ts";
import { asObject, objectLabel } from "./lib/objects.ts";

/** Built-in kinds that are cluster-scoped (never in a namespace). */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "APIService",
  "StorageClass",
  "VolumeAttachment",
  "CSIDriver",
  "CSINode",
  "VolumeAttributesClass",
  "PriorityClass",
  "PriorityLevelConfiguration",
  "FlowSchema",
  "RuntimeClass",
  "IngressClass",
  "IPAddress",
  "ServiceCIDR",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "MutatingAdmissionPolicy",
  "MutatingAdmissionPolicyBinding",
  "CertificateSigningRequest",
  "ClusterTrustBundle",
  "ComponentStatus",
  "DeviceClass",
  "ResourceSlice",
  "StorageVersion",
  "StorageVersionMigration",
  "TokenReview",
  "SelfSubjectReview",
  "SelfSubjectAccessReview",
  "SelfSubjectRulesReview",
  "SubjectAccessReview",
  "PodSecurityPolicy",
  "SecurityContextConstraints",
]);

/** API groups of configuration files that look like objects but are never applied to a cluster. */
const CONFIG_FILE_GROUPS = [
  "kustomize.config.k8s.io/",
  "config.kubernetes.io/",
  "kubeadm.k8s.io/",
  "kubelet.config.k8s.io/",
  "kubeproxy.config.k8s.io/",
  "apiserver.config.k8s.io/",
  "audit.k8s.io/",
  "kind.x-k8s.io/",
  "ctlptl.dev/",
];

/** `group/kind` of the custom kinds that the scanned CustomResourceDefinitions declare cluster-scoped. */
function clusterScopedCustomKinds(context: RuleContext): ReadonlySet<string> {
  return perContext(context, "default-namespace:cluster-scoped-crds", () => {
    const kinds = new Set<string>();
    for (const crd of context.byKind("CustomResourceDefinition")) {
      const spec = asObject(crd.object.spec);
      const kind = asObject(spec.names).kind;
      if (spec.scope === "Cluster" && typeof spec.group === "string" && typeof kind === "string") {
        kinds.add(`${spec.group}/${kind}`);
      }
    }
    return kinds;
  });
}

/** Whether a kind is cluster-scoped, as far as the built-in list and the scanned CRDs tell. */
function isClusterScoped(resource: Resource, context: RuleContext): boolean {
  const kind = resource.ref.kind;
  if (CLUSTER_SCOPED_KINDS.has(kind) || (kind.startsWith("Cluster") && kind !== "Cluster")) return true;
  const apiVersion = resource.ref.apiVersion;
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  return clusterScopedCustomKinds(context).has(`${group}/${kind}`);
}

/** Namespaced objects must be placed in a namespace other than `default`. */
export const defaultNamespace: Rule = defineRule({
  meta: {
    id: "default-namespace",
    title: "Object is in the default namespace",
    severity: "low",
    description:
      "The default namespace is where everything without a namespace ends up, so objects there share RBAC, network policies, " +
      "quotas and Pod Security settings with unrelated workloads. Namespaces are the administrative boundary Kubernetes " +
      "offers; every application should have its own, named explicitly in its manifests.",
    remediation: "Set metadata.namespace to a namespace dedicated to the application.",
    frameworks: {
      cis: ["5.7.1", "5.7.4"],
      nsa: ["Namespaces"],
      nist: ["4.3.4"],
    },
    profiles: ["hardening"],
  },
  check(resource, context) {
    if (CONFIG_FILE_GROUPS.some((group) => resource.ref.apiVersion.startsWith(group))) return [];
    if (isClusterScoped(resource, context)) return [];
    const namespace = resource.ref.namespace;
    if (namespace !== undefined && namespace !== "default") return [];
    return [
      {
        path: ["metadata", "namespace"],
        message:
          namespace === undefined
            ? `${objectLabel(resource)} sets no metadata.namespace and lands in the namespace it is applied to, usually "default"`
            : `${objectLabel(resource)} is in the "default" namespace`,
      },
    ];
  },
});
