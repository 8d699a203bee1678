/**
 * Derive the admission request the API server would build for a manifest: group/version from
 * `apiVersion`, the resource (plural, lowercase) from the kind, the namespace as the API
 * server sets it, and object/oldObject by operation.
 */
import type { KubeObject } from "../../resources/types.ts";
import type { AdmissionRequest, GroupVersionKind, Operation } from "./types.ts";

interface KindInfo {
  resource: string;
  clusterScoped: boolean;
}

function k(resource: string, clusterScoped = false): KindInfo {
  return { resource, clusterScoped };
}

/**
 * Built-in kinds of kube-apiserver v1.37 (and a few removed ones manifests still carry), by
 * group then kind: their resource name and whether they are cluster-scoped.
 */
export const BUILTIN_KINDS: Readonly<Record<string, Readonly<Record<string, KindInfo>>>> = {
  "": {
    Binding: k("bindings"),
    ComponentStatus: k("componentstatuses", true),
    ConfigMap: k("configmaps"),
    Endpoints: k("endpoints"),
    Event: k("events"),
    LimitRange: k("limitranges"),
    Namespace: k("namespaces", true),
    Node: k("nodes", true),
    PersistentVolume: k("persistentvolumes", true),
    PersistentVolumeClaim: k("persistentvolumeclaims"),
    Pod: k("pods"),
    PodTemplate: k("podtemplates"),
    ReplicationController: k("replicationcontrollers"),
    ResourceQuota: k("resourcequotas"),
    Secret: k("secrets"),
    Service: k("services"),
    ServiceAccount: k("serviceaccounts"),
  },
  "admissionregistration.k8s.io": {
    MutatingAdmissionPolicy: k("mutatingadmissionpolicies", true),
    MutatingAdmissionPolicyBinding: k("mutatingadmissionpolicybindings", true),
    MutatingWebhookConfiguration: k("mutatingwebhookconfigurations", true),
    ValidatingAdmissionPolicy: k("validatingadmissionpolicies", true),
    ValidatingAdmissionPolicyBinding: k("validatingadmissionpolicybindings", true),
    ValidatingWebhookConfiguration: k("validatingwebhookconfigurations", true),
  },
  "apiextensions.k8s.io": { CustomResourceDefinition: k("customresourcedefinitions", true) },
  "apiregistration.k8s.io": { APIService: k("apiservices", true) },
  apps: {
    ControllerRevision: k("controllerrevisions"),
    DaemonSet: k("daemonsets"),
    Deployment: k("deployments"),
    ReplicaSet: k("replicasets"),
    StatefulSet: k("statefulsets"),
  },
  "authentication.k8s.io": {
    SelfSubjectReview: k("selfsubjectreviews", true),
    TokenReview: k("tokenreviews", true),
  },
  "authorization.k8s.io": {
    LocalSubjectAccessReview: k("localsubjectaccessreviews"),
    SelfSubjectAccessReview: k("selfsubjectaccessreviews", true),
    SelfSubjectRulesReview: k("selfsubjectrulesreviews", true),
    SubjectAccessReview: k("subjectaccessreviews", true),
  },
  autoscaling: { HorizontalPodAutoscaler: k("horizontalpodautoscalers") },
  batch: { CronJob: k("cronjobs"), Job: k("jobs") },
  "certificates.k8s.io": {
    CertificateSigningRequest: k("certificatesigningrequests", true),
    ClusterTrustBundle: k("clustertrustbundles", true),
    PodCertificateRequest: k("podcertificaterequests"),
  },
  "coordination.k8s.io": { Lease: k("leases"), LeaseCandidate: k("leasecandidates") },
  "discovery.k8s.io": { EndpointSlice: k("endpointslices") },
  "events.k8s.io": { Event: k("events") },
  extensions: {
    DaemonSet: k("daemonsets"),
    Deployment: k("deployments"),
    Ingress: k("ingresses"),
    NetworkPolicy: k("networkpolicies"),
    PodSecurityPolicy: k("podsecuritypolicies", true),
    ReplicaSet: k("replicasets"),
  },
  "flowcontrol.apiserver.k8s.io": {
    FlowSchema: k("flowschemas", true),
    PriorityLevelConfiguration: k("prioritylevelconfigurations", true),
  },
  "networking.k8s.io": {
    IPAddress: k("ipaddresses", true),
    Ingress: k("ingresses"),
    IngressClass: k("ingressclasses", true),
    NetworkPolicy: k("networkpolicies"),
    ServiceCIDR: k("servicecidrs", true),
  },
  "node.k8s.io": { RuntimeClass: k("runtimeclasses", true) },
  policy: {
    Eviction: k("evictions"),
    PodDisruptionBudget: k("poddisruptionbudgets"),
    PodSecurityPolicy: k("podsecuritypolicies", true),
  },
  "rbac.authorization.k8s.io": {
    ClusterRole: k("clusterroles", true),
    ClusterRoleBinding: k("clusterrolebindings", true),
    Role: k("roles"),
    RoleBinding: k("rolebindings"),
  },
  "resource.k8s.io": {
    DeviceClass: k("deviceclasses", true),
    DeviceTaintRule: k("devicetaintrules", true),
    ResourceClaim: k("resourceclaims"),
    ResourceClaimTemplate: k("resourceclaimtemplates"),
    ResourceSlice: k("resourceslices", true),
  },
  "scheduling.k8s.io": { PriorityClass: k("priorityclasses", true) },
  "storage.k8s.io": {
    CSIDriver: k("csidrivers", true),
    CSINode: k("csinodes", true),
    CSIStorageCapacity: k("csistoragecapacities"),
    StorageClass: k("storageclasses", true),
    VolumeAttachment: k("volumeattachments", true),
    VolumeAttributesClass: k("volumeattributesclasses", true),
  },
  "storagemigration.k8s.io": { StorageVersionMigration: k("storageversionmigrations", true) },
};

/**
 * kubectl's `meta.UnsafeGuessKindToResource`: lowercase, then `-s` → `-ses`, `-y` → `-ies`,
 * `…endpoints` unchanged, otherwise `+s`. Right for most CRDs; a CRD whose plural differs
 * needs `resourceFor` in {@link RequestOptions}.
 */
export function guessResource(kind: string): string {
  if (kind === "") return "";
  const singular = kind.toLowerCase();
  if (singular.endsWith("endpoints")) return singular;
  if (singular.endsWith("s")) return `${singular}es`;
  if (singular.endsWith("y")) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/** Split `apiVersion` into group and version (`v1` → core group). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** What is known about a kind: its resource name and scope. */
export interface KindResolution {
  resource: string;
  clusterScoped: boolean;
}

/** Options for {@link requestForObject}. */
export interface RequestOptions {
  /** The old object, for UPDATE (defaults to the object itself) and DELETE. */
  oldObject?: KubeObject | null;
  /** The Namespace object of the request's namespace (for namespaceSelector and `namespaceObject`). */
  namespaceObject?: KubeObject | null;
  /** The namespace for a namespaced object that names none (kubectl's context namespace). Default `default`. */
  defaultNamespace?: string;
  /** The subresource requested (`status`, `scale`, `exec`, …). Default "". */
  subresource?: string;
  /** Resolve kinds the built-in table does not know (CRDs): resource and scope. */
  resolveKind?: (gvk: GroupVersionKind) => KindResolution | undefined;
}

/**
 * The resource name and scope of a kind: the built-in table, then `resolveKind`, then
 * kubectl's plural guess (namespaced). Never throws.
 */
export function resolveKind(
  gvk: GroupVersionKind,
  resolve?: (gvk: GroupVersionKind) => KindResolution | undefined,
): KindResolution {
  const builtin = BUILTIN_KINDS[gvk.group]?.[gvk.kind];
  if (builtin) return builtin;
  const custom = resolve?.(gvk);
  if (custom) return custom;
  return { resource: guessResource(gvk.kind), clusterScoped: false };
}

/**
 * A resolver for CRDs given as objects: resource = `spec.names.plural`, scope = `spec.scope`.
 * Use as `resolveKind` in {@link RequestOptions}.
 */
export function kindResolverFromCRDs(
  crds: readonly KubeObject[],
): (gvk: GroupVersionKind) => KindResolution | undefined {
  const byKey = new Map<string, KindResolution>();
  for (const crd of crds) {
    if (crd.kind !== "CustomResourceDefinition") continue;
    const spec = crd.spec as Record<string, unknown> | undefined;
    const names = spec?.names as Record<string, unknown> | undefined;
    if (
      typeof spec?.group !== "string" ||
      typeof names?.kind !== "string" ||
      typeof names.plural !== "string"
    )
      continue;
    byKey.set(`${spec.group}/${names.kind}`, {
      resource: names.plural,
      clusterScoped: spec.scope === "Cluster",
    });
  }
  return (gvk) => byKey.get(`${gvk.group}/${gvk.kind}`);
}

function metadataOf(object: KubeObject): Record<string, unknown> {
  const metadata = object.metadata;
  return metadata !== null && typeof metadata === "object" && !Array.isArray(metadata)
    ? (metadata as Record<string, unknown>)
    : {};
}

/**
 * The admission request for `operation` on `object` (a manifest). The object is the new object
 * on CREATE/UPDATE (UPDATE's old object defaults to the object itself) and the old object on
 * DELETE (the new object is then null, as the API server sends it). A Namespace's request
 * namespace is its own name, as in the API server. Never throws.
 *
 * @example requestForObject(deployment, "CREATE").resource // { group: "apps", version: "v1", resource: "deployments", subresource: "" }
 */
export function requestForObject(
  object: KubeObject,
  operation: Operation,
  options: RequestOptions = {},
): AdmissionRequest {
  const { group, version } = parseApiVersion(typeof object.apiVersion === "string" ? object.apiVersion : "");
  const kind = typeof object.kind === "string" ? object.kind : "";
  const gvk: GroupVersionKind = { group, version, kind };
  const { resource, clusterScoped } = resolveKind(gvk, options.resolveKind);
  const metadata = metadataOf(object);
  const name = typeof metadata.name === "string" ? metadata.name : "";
  let namespace = "";
  if (group === "" && kind === "Namespace") namespace = name;
  else if (!clusterScoped) {
    namespace =
      typeof metadata.namespace === "string" && metadata.namespace !== ""
        ? metadata.namespace
        : (options.defaultNamespace ?? "default");
  }
  let newObject: KubeObject | null = object;
  let oldObject: KubeObject | null = null;
  if (operation === "UPDATE") oldObject = options.oldObject ?? object;
  if (operation === "DELETE") {
    newObject = null;
    oldObject = options.oldObject ?? object;
  }
  const request: AdmissionRequest = {
    operation,
    resource: { group, version, resource, subresource: options.subresource ?? "" },
    kind: gvk,
    namespace,
    name,
    object: newObject,
    oldObject,
  };
  if (options.namespaceObject !== undefined) request.namespaceObject = options.namespaceObject;
  return request;
}
