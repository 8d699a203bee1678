/**
 * The hardening rule set: the checks every serious Kubernetes scanner has beyond the Pod
 * Security Standards (resources, probes, images, service accounts, secrets, namespaces,
 * exposure, host mounts, network policies, RBAC, removed APIs).
 */
import type { Rule } from "../rule.ts";
import { automountServiceAccountToken } from "./automount-service-account-token.ts";
import { automountUnboundServiceAccount } from "./automount-unbound-service-account.ts";
import { containerReadonlyRootFilesystem } from "./container-readonly-root-filesystem.ts";
import { cpuLimits } from "./cpu-limits.ts";
import { cpuRequests } from "./cpu-requests.ts";
import { dangerousCapabilities } from "./dangerous-capabilities.ts";
import { defaultNamespace } from "./default-namespace.ts";
import { defaultServiceAccount } from "./default-service-account.ts";
import { deprecatedApiVersion } from "./deprecated-api-version.ts";
import { dockerSocketMount } from "./docker-socket-mount.ts";
import { imageLatestTag } from "./image-latest-tag.ts";
import { imageNoDigest } from "./image-no-digest.ts";
import { imageNoTag } from "./image-no-tag.ts";
import { imagePullPolicy } from "./image-pull-policy.ts";
import { ingressNoTls } from "./ingress-no-tls.ts";
import { legacyServiceAccountToken } from "./legacy-service-account-token.ts";
import { livenessProbe } from "./liveness-probe.ts";
import { memoryLimits } from "./memory-limits.ts";
import { memoryRequests } from "./memory-requests.ts";
import { namespaceNoDefaultDeny } from "./namespace-no-default-deny.ts";
import { namespacePssLabelMissing } from "./namespace-pss-label-missing.ts";
import { namespacePssPrivileged } from "./namespace-pss-privileged.ts";
import { rbacClusterAdminBinding } from "./rbac-cluster-admin-binding.ts";
import { rbacDangerousVerbs } from "./rbac-dangerous-verbs.ts";
import { rbacNodesProxy } from "./rbac-nodes-proxy.ts";
import { rbacPodsExec } from "./rbac-pods-exec.ts";
import { rbacSecretsAccess } from "./rbac-secrets-access.ts";
import { rbacWildcard } from "./rbac-wildcard.ts";
import { readinessProbe } from "./readiness-probe.ts";
import { runAsHighUid } from "./run-as-high-uid.ts";
import { secretEnvVar } from "./secret-env-var.ts";
import { secretsInConfigmap } from "./secrets-in-configmap.ts";
import { secretsInEnv } from "./secrets-in-env.ts";
import { sensitiveHostPath } from "./sensitive-host-path.ts";
import { serviceExternalIps } from "./service-external-ips.ts";
import { serviceLoadbalancer } from "./service-loadbalancer.ts";
import { serviceNodeport } from "./service-nodeport.ts";
import { sshPort } from "./ssh-port.ts";
import { workloadNoNetworkpolicy } from "./workload-no-networkpolicy.ts";

/** Every hardening rule, in id order. Listed explicitly: no registration by import side effect. */
export const HARDENING_RULES: readonly Rule[] = [
  automountServiceAccountToken,
  automountUnboundServiceAccount,
  containerReadonlyRootFilesystem,
  cpuLimits,
  cpuRequests,
  dangerousCapabilities,
  defaultNamespace,
  defaultServiceAccount,
  deprecatedApiVersion,
  dockerSocketMount,
  imageLatestTag,
  imageNoDigest,
  imageNoTag,
  imagePullPolicy,
  ingressNoTls,
  legacyServiceAccountToken,
  livenessProbe,
  memoryLimits,
  memoryRequests,
  namespaceNoDefaultDeny,
  namespacePssLabelMissing,
  namespacePssPrivileged,
  rbacClusterAdminBinding,
  rbacDangerousVerbs,
  rbacNodesProxy,
  rbacPodsExec,
  rbacSecretsAccess,
  rbacWildcard,
  readinessProbe,
  runAsHighUid,
  secretEnvVar,
  secretsInConfigmap,
  secretsInEnv,
  sensitiveHostPath,
  serviceExternalIps,
  serviceLoadbalancer,
  serviceNodeport,
  sshPort,
  workloadNoNetworkpolicy,
];
