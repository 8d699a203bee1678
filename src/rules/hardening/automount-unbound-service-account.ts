/**
 * automount-unbound-service-account
 *
 * A heuristic for "the token is mounted, but the pod does not use the API": a service
 * account that no RoleBinding or ClusterRoleBinding grants anything is only ever used for
 * its identity, and its token in the pod is attack surface with no purpose.
 *
 * Subject: pod templates that run as a named service account X (`serviceAccountName`; not
 * `default`, which automount-service-account-token covers) in namespace N, when a
 * ServiceAccount X in N is among the scanned resources (the identity is defined here, so its
 * bindings are expected here too; without it nothing is reported).
 * Violation at the pod spec's `automountServiceAccountToken`, when all hold:
 * - the token is mounted: the pod spec's automountServiceAccountToken is `true`, or it is
 *   unset and the ServiceAccount does not set `automountServiceAccountToken: false`;
 * - no RoleBinding or ClusterRoleBinding among the scanned resources has a subject that
 *   covers X in N: kind ServiceAccount named X in namespace N (a RoleBinding's subject
 *   without namespace means the binding's own), or Group `system:serviceaccounts:N`.
 *   Grants to every account or user (`system:serviceaccounts`, `system:authenticated`,
 *   such as the default discovery roles) do not count: they say nothing about what this
 *   pod needs;
 * - the ServiceAccount has no workload-identity annotation (`eks.amazonaws.com/role-arn`,
 *   `iam.gke.io/gcp-service-account`, `azure.workload.identity/client-id`): such accounts
 *   are used for cloud APIs, which this rule cannot see.
 * Bindings that are not among the scanned resources cannot count: a scan of one
 * application's manifests may report an account bound elsewhere. `belay audit` evaluates
 * each namespace together with the cluster's ClusterRoleBindings and the other namespaces'
 * RoleBindings that name its service accounts, so live results see every binding.
 */
import { podRule } from "../pod-rule.ts";
import type { Rule, RuleContext } from "../rule.ts";
import { byNamespace, perContext } from "./lib/memo.ts";
import { asArray, asObject, namespaceKey } from "./lib/objects.ts";
import { podsLabel, serviceAccountOf, specOf } from "./lib/pods.ts";

const RBAC_GROUP = "rbac.authorization.k8s.io";

/** Annotations that mark a service account used for a cloud provider's workload identity. */
export const WORKLOAD_IDENTITY_ANNOTATIONS: readonly string[] = [
  "eks.amazonaws.com/role-arn",
  "iam.gke.io/gcp-service-account",
  "azure.workload.identity/client-id",
];

/**
 * Service accounts (`namespace/name`) bound by any binding of the scan, and the namespaces
 * whose every account is bound (`system:serviceaccounts:N`), indexed once.
 */
function bound(context: RuleContext): { accounts: Set<string>; namespaces: Set<string> } {
  return perContext(context, "automount-unbound-service-account:bound", () => {
    const accounts = new Set<string>();
    const namespaces = new Set<string>();
    for (const kind of ["RoleBinding", "ClusterRoleBinding"]) {
      for (const binding of context.byKind(kind)) {
        if (!binding.ref.apiVersion.startsWith(`${RBAC_GROUP}/`)) continue;
        for (const subject of asArray(binding.object.subjects)) {
          const s = asObject(subject);
          if (typeof s.name !== "string") continue;
          if (s.kind === "ServiceAccount") {
            const namespace =
              typeof s.namespace === "string" && s.namespace !== "" ? s.namespace : namespaceKey(binding);
            accounts.add(`${namespace}/${s.name}`);
          } else if (s.kind === "Group" && s.name.startsWith("system:serviceaccounts:")) {
            namespaces.add(s.name.slice("system:serviceaccounts:".length));
          }
        }
      }
    }
    return { accounts, namespaces };
  });
}

/** Pods must not mount the token of a service account that no binding grants anything. */
export const automountUnboundServiceAccount: Rule = podRule(
  {
    id: "automount-unbound-service-account",
    title: "Token of an unbound service account is mounted",
    severity: "low",
    description:
      "The pod runs as a service account that no RoleBinding or ClusterRoleBinding grants anything, so it does not use the " +
      "Kubernetes API, yet its token is mounted. Anyone who gets into the pod gets a valid credential for the API server, " +
      "and a binding added to the account later silently widens what that credential can do.",
    remediation:
      "Set automountServiceAccountToken to false on the service account or in the pod spec, or bind the account the role it needs.",
    frameworks: {
      cis: ["5.1.6"],
      nsa: ["Protecting Pod service account tokens"],
      nist: ["4.3.2"],
      mitre: ["T1528"],
    },
    profiles: ["hardening"],
  },
  (template, context, resource) => {
    const name = serviceAccountOf(template);
    if (name === "default") return [];
    const setting = specOf(template).automountServiceAccountToken;
    if (setting === false) return [];
    const namespace = namespaceKey(resource);
    const account = (byNamespace(context, "ServiceAccount").get(namespace) ?? []).find(
      (candidate) => candidate.ref.name === name,
    );
    if (!account) return [];
    if (setting !== true && account.object.automountServiceAccountToken === false) return [];
    const annotations = asObject(asObject(account.object.metadata).annotations);
    if (WORKLOAD_IDENTITY_ANNOTATIONS.some((key) => key in annotations)) return [];
    const grants = bound(context);
    if (grants.namespaces.has(namespace) || grants.accounts.has(`${namespace}/${name}`)) return [];
    return [
      {
        path: [...template.specPath, "automountServiceAccountToken"],
        message: `${podsLabel(resource)} mounts the token of service account "${name}", which no RoleBinding or ClusterRoleBinding grants anything`,
      },
    ];
  },
);
