/**
 * Risky grants: checks over Roles, ClusterRoles and bindings, shared by `belay scan` (as
 * rules of the common registry) and `belay rbac risks` (the catalog below, with the
 * Kubernetes versions each applies to). Every match is RBAC's own (entries.ts, match.ts).
 *
 * Kubernetes' bootstrap policy (label `kubernetes.io/bootstrapping: rbac-defaults`) and
 * aggregated ClusterRoles (their rules are written by the controller from roles that are
 * checked themselves) are not checked.
 */
import type { Resource } from "../resources/types.ts";
import { asArray, asObject, isObject } from "../rules/hardening/lib/objects.ts";
import { isBootstrapPolicy, isRbacKind, policyRules, roleLabel } from "../rules/hardening/lib/rbac.ts";
import { defineRule, type Rule, type Violation } from "../rules/rule.ts";
import { grantingResources, grantingVerbs, grantsGroup } from "./entries.ts";

/**
 * From Kubernetes v1.35 the `AuthorizePodWebsocketUpgradeCreatePermission` gate (beta, on by
 * default) also requires `create` for exec, attach and port-forward over WebSockets; before,
 * `get` was enough.
 */
export const WEBSOCKET_CREATE_REQUIRED_FROM_MINOR = 35;

/** The Kubernetes version a check targets: a minor number, or undefined when unknown. */
export interface KubeTarget {
  /** e.g. 37 for v1.37; undefined: unknown, checks assume the most permissive behaviour. */
  minor?: number;
}

/** Whether `get` alone opens exec/attach/port-forward streams at `target`. */
export function getOpensStreams(target: KubeTarget): boolean {
  return target.minor === undefined || target.minor < WEBSOCKET_CREATE_REQUIRED_FROM_MINOR;
}

/**
 * Violations for rules granting `pods/<sub>` streaming subresources: apiGroups `""`/`*`, a
 * resource entry matching `pods/<sub>` (`*`, `*\/<sub>`), verbs `create`, or `get` where it
 * opens streams. Rules limited by resourceNames are allowed (named, narrow grants).
 */
export function podStreamViolations(
  resource: Resource,
  subresources: readonly string[],
  what: string,
  target: KubeTarget,
): Violation[] {
  const violations: Violation[] = [];
  const wanted = getOpensStreams(target) ? ["create", "get"] : ["create"];
  for (const rule of policyRules(resource)) {
    if (rule.resourceNames.length > 0 || !grantsGroup(rule, [""])) continue;
    const verbs = grantingVerbs(rule, wanted);
    if (verbs.length === 0) continue;
    for (const entry of grantingResources(
      rule,
      subresources.map((sub) => ["pods", sub] as const),
    )) {
      violations.push({
        path: [...rule.path, "resources", entry.index],
        message: `${roleLabel(resource)} rules[${rule.index}] grants ${verbs.join(", ")} on "${entry.value}", which ${what}`,
      });
    }
  }
  return violations;
}

/** What a simple rule-level risk looks for. */
interface Probe {
  groups: readonly string[];
  resources: readonly (readonly [string, string?])[];
  verbs: readonly string[];
  /** Rules limited by resourceNames count too (default: they are allowed). */
  namedToo?: boolean;
  what: string;
}

function probeViolations(resource: Resource, probe: Probe): Violation[] {
  const violations: Violation[] = [];
  for (const rule of policyRules(resource)) {
    if ((!probe.namedToo && rule.resourceNames.length > 0) || !grantsGroup(rule, probe.groups)) continue;
    const verbs = grantingVerbs(rule, probe.verbs);
    if (verbs.length === 0) continue;
    for (const entry of grantingResources(rule, probe.resources)) {
      violations.push({
        path: [...rule.path, "resources", entry.index],
        message: `${roleLabel(resource)} rules[${rule.index}] grants ${verbs.join(", ")} on "${entry.value}", which ${probe.what}`,
      });
    }
  }
  return violations;
}

const WORKLOADS: Probe = {
  groups: ["", "apps", "batch"],
  resources: [
    ["pods"],
    ["deployments"],
    ["replicasets"],
    ["statefulsets"],
    ["daemonsets"],
    ["jobs"],
    ["cronjobs"],
    ["replicationcontrollers"],
  ],
  verbs: ["create"],
  what: "lets it run pods with any service account, Secret and ConfigMap of the namespace",
};

/** pods/portforward: network access to any pod port, around Services and NetworkPolicies. */
export const rbacPodsPortforward: Rule = defineRule({
  meta: {
    id: "rbac-pods-portforward",
    title: "Role grants port-forward into pods",
    severity: "medium",
    description:
      "pods/portforward opens a tunnel from the client to any port of a pod, bypassing Services, NetworkPolicies and " +
      "ingress controls, including ports only meant for localhost or sidecars. Before Kubernetes v1.35 (and where the " +
      "AuthorizePodWebsocketUpgradeCreatePermission gate is off) get is enough, over WebSockets.",
    remediation: "Remove pods/portforward from the role or limit the rule to named pods with resourceNames.",
    frameworks: { nsa: ["Role-based access control"], nist: ["4.3.3"], mitre: ["T1609"] },
    profiles: ["hardening"],
  },
  check: (resource) => podStreamViolations(resource, ["portforward"], "allows tunnelling to pod ports", {}),
});

/** Creating pods or pod controllers: the namespace's service accounts and secrets. */
export const rbacWorkloadCreate: Rule = defineRule({
  meta: {
    id: "rbac-workload-create",
    title: "Role grants creating pods or workloads",
    severity: "medium",
    description:
      "Whoever can create a pod, or a controller that creates pods (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, " +
      "CronJob, ReplicationController), can run it as any service account of the namespace and mount any Secret there, " +
      "so it holds the union of their permissions. In namespaces without restrictive Pod Security it can also escape " +
      "to the node.",
    remediation:
      "Grant workload creation only to deployment pipelines, in namespaces whose service accounts hold no more than they need.",
    frameworks: { cis: ["5.1.4"], nsa: ["Role-based access control"], nist: ["4.3.1"], mitre: ["T1610"] },
    profiles: ["hardening"],
  },
  check: (resource) => probeViolations(resource, WORKLOADS),
});

/** serviceaccounts/token: minting tokens for service accounts. */
export const rbacServiceAccountToken: Rule = defineRule({
  meta: {
    id: "rbac-service-account-token",
    title: "Role grants creating service account tokens",
    severity: "high",
    description:
      "create on serviceaccounts/token (the TokenRequest API) mints a token for any service account in scope, which then " +
      "acts with that account's permissions, for as long as the token lives and without a pod.",
    remediation:
      "Remove create on serviceaccounts/token or limit it with resourceNames to the accounts required.",
    frameworks: { cis: ["5.1.13"], nsa: ["Role-based access control"], nist: ["4.3.1"], mitre: ["T1528"] },
    profiles: ["hardening"],
  },
  check: (resource) =>
    probeViolations(resource, {
      groups: [""],
      resources: [["serviceaccounts", "token"]],
      verbs: ["create"],
      what: "lets it mint tokens for service accounts",
    }),
});

/** Approving certificate signing requests. */
export const rbacCsrApproval: Rule = defineRule({
  meta: {
    id: "rbac-csr-approval",
    title: "Role grants approving certificate signing requests",
    severity: "high",
    description:
      "update on certificatesigningrequests/approval, with approve on a signer, lets a subject approve its own requests " +
      "for client certificates, for example as a member of system:masters or as a node, which the API server then trusts.",
    remediation:
      "Remove update on certificatesigningrequests/approval and approve on signers from roles of non-controller subjects.",
    frameworks: { cis: ["5.1.11"], nsa: ["Role-based access control"], nist: ["4.3.1"], mitre: ["T1078"] },
    profiles: ["hardening"],
  },
  check: (resource) => [
    ...probeViolations(resource, {
      groups: ["certificates.k8s.io"],
      resources: [["certificatesigningrequests", "approval"]],
      verbs: ["update", "patch"],
      namedToo: true,
      what: "lets it approve certificate signing requests",
    }),
    ...probeViolations(resource, {
      groups: ["certificates.k8s.io"],
      resources: [["signers"]],
      verbs: ["approve"],
      namedToo: true,
      what: "lets it approve requests for that signer",
    }),
  ],
});

const ADMISSION_RESOURCES = [
  ["validatingwebhookconfigurations"],
  ["mutatingwebhookconfigurations"],
  ["validatingadmissionpolicies"],
  ["validatingadmissionpolicybindings"],
  ["mutatingadmissionpolicies"],
  ["mutatingadmissionpolicybindings"],
] as const;

/** Editing admission webhooks and policies. */
export const rbacAdmissionConfig: Rule = defineRule({
  meta: {
    id: "rbac-admission-config",
    title: "Role grants editing admission webhooks or policies",
    severity: "high",
    description:
      "Admission webhooks and ValidatingAdmissionPolicies are what enforce policy on every request. A subject that can " +
      "create, change or delete them can switch enforcement off, or register a webhook that receives (and mutates) every " +
      "object, Secrets included.",
    remediation: "Remove write verbs on admissionregistration.k8s.io configuration objects from the role.",
    frameworks: {
      cis: ["5.1.12"],
      nsa: ["Role-based access control"],
      nist: ["4.3.1"],
      mitre: ["T1562.001"],
    },
    profiles: ["hardening"],
  },
  check: (resource) =>
    probeViolations(resource, {
      groups: ["admissionregistration.k8s.io"],
      resources: ADMISSION_RESOURCES,
      verbs: ["create", "update", "patch", "delete", "deletecollection"],
      namedToo: true,
      what: "lets it change or remove admission control",
    }),
});

/** Bindings that grant permissions to `default` service accounts. */
export const rbacDefaultServiceAccountBinding: Rule = defineRule({
  meta: {
    id: "rbac-default-service-account-binding",
    title: "Binding grants permissions to a default service account",
    severity: "medium",
    description:
      "Every namespace's default service account is used by every pod that names no other, so permissions bound to it " +
      "go to all of them, including pods added later for unrelated purposes.",
    remediation:
      "Bind the permissions to a dedicated service account and set it as the workload's serviceAccountName.",
    frameworks: { cis: ["5.1.5"], nsa: ["Role-based access control"], nist: ["4.3.1"], mitre: ["T1078.001"] },
    profiles: ["hardening"],
  },
  check(resource) {
    if (!isRbacKind(resource, ["ClusterRoleBinding", "RoleBinding"]) || isBootstrapPolicy(resource))
      return [];
    const violations: Violation[] = [];
    const roleRef = asObject(resource.object.roleRef);
    asArray(resource.object.subjects).forEach((subject, index) => {
      if (!isObject(subject) || subject.kind !== "ServiceAccount" || subject.name !== "default") return;
      const ns =
        typeof subject.namespace === "string" && subject.namespace !== ""
          ? subject.namespace
          : resource.ref.namespace;
      violations.push({
        path: ["subjects", index],
        message: `${resource.ref.kind} "${resource.ref.name}" grants ${String(roleRef.kind)} "${String(roleRef.name)}" to the default service account of namespace "${ns ?? ""}"`,
      });
    });
    return violations;
  },
});

/**
 * Risk rules beyond the hardening set's `rbac-*` rules; listed in the scan registry
 * (`src/rules/index.ts`), so `belay scan` reports them too.
 */
export const RBAC_RISK_RULES: readonly Rule[] = [
  rbacAdmissionConfig,
  rbacCsrApproval,
  rbacDefaultServiceAccountBinding,
  rbacPodsPortforward,
  rbacServiceAccountToken,
  rbacWorkloadCreate,
];
