/**
 * The CEL forms of built-in rules: the catalog template (`policies/<name>/`) that enforces
 * the same requirement as a native ValidatingAdmissionPolicy, so `belay export vap
 * --from-rules` / `--from-profile` can move enforcement into the API server. Pod Security
 * rules are enforced natively by PodSecurity admission labels (`belay export pss-labels`);
 * the templates listed for them are for clusters that want messages and params instead.
 * A template matches the built-in kinds only: a rule also checks pod templates in CRDs.
 * (Not listed: pss-capabilities-restricted — allowed-capabilities checks only added
 * capabilities, not `drop: [ALL]`; service-external-ips — the template allows CIDRs.)
 */

/** Rule id → catalog template name. */
export const RULE_VAP_TEMPLATES: Readonly<Record<string, string>> = {
  "pss-privileged": "disallow-privileged",
  "pss-host-namespaces": "disallow-host-namespaces",
  "pss-allow-privilege-escalation": "disallow-privilege-escalation",
  "pss-run-as-non-root": "run-as-non-root",
  "pss-host-ports": "host-port-range",
  "pss-restricted-volumes": "allowed-volume-types",
  "pss-host-path-volumes": "allowed-host-paths",
  "container-readonly-root-filesystem": "read-only-root-filesystem",
  "image-latest-tag": "disallow-latest-tag",
  "image-no-tag": "disallow-latest-tag",
  "image-no-digest": "image-digest-required",
  "service-nodeport": "restrict-service-types",
  "service-loadbalancer": "restrict-service-types",
  "rbac-cluster-admin-binding": "deny-cluster-admin-bindings",
  "cpu-limits": "container-resource-limits",
  "memory-limits": "container-resource-limits",
};
