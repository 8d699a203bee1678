/**
 * PSS baseline `procMount` (v1.0 on; at restricted level replaced from v1.35 by
 * `procMount_restricted`).
 *
 * Field: `securityContext.procMount` of every container, init container and ephemeral
 * container. Allowed: unset, null or `Default`. Any other value (`Unmasked`, or even the
 * empty string) is a violation.
 *
 * v1.35 on: a pod in a user namespace (`spec.hostUsers: false`) may set any value, because
 * an unmasked /proc there only exposes the pod's own user namespace.
 */
import { inUserNamespace, nonDefaultProcMounts, pssRule } from "./shared.ts";

/** Containers must keep the default masked /proc, unless the pod is in a user namespace. */
export const pssProcMount = pssRule({
  id: "pss-proc-mount",
  title: "Unmasked /proc mount",
  severity: "medium",
  description:
    "The default proc mount masks and read-only mounts sensitive /proc and /sys paths; an Unmasked procMount exposes kernel information and controls to the container. Pod Security baseline forbids it, except from v1.35 for pods in a user namespace (hostUsers: false).",
  remediation: "Remove securityContext.procMount or set it to Default.",
  level: "baseline",
  check: "procMount",
  frameworks: { cis: ["5.7.3"], nsa: ["Kubernetes Pod security"], nist: ["4.4.3"], mitre: ["T1611"] },
  versions: [
    { since: 0, check: nonDefaultProcMounts },
    { since: 35, check: (template) => (inUserNamespace(template) ? [] : nonDefaultProcMounts(template)) },
  ],
});
