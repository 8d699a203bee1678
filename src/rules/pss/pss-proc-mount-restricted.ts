/**
 * PSS restricted `procMount_restricted` (new in v1.35; replaces `procMount` at restricted
 * level from then on).
 *
 * Field: `securityContext.procMount` of every container, init container and ephemeral
 * container. Allowed: unset, null or `Default`, with no exception for user-namespace pods:
 * restricted keeps the unconditional rule that baseline relaxed in v1.35. Before v1.35 the
 * baseline check (unconditional then) covers restricted too.
 */
import { nonDefaultProcMounts, pssRule } from "./shared.ts";

/** Containers must keep the default masked /proc, even in a user namespace. */
export const pssProcMountRestricted = pssRule({
  id: "pss-proc-mount-restricted",
  title: "Unmasked /proc mount (restricted)",
  severity: "medium",
  description:
    "The default proc mount masks sensitive /proc and /sys paths. From v1.35 Pod Security baseline allows an Unmasked procMount in user-namespace pods; restricted still forbids it for every pod.",
  remediation: "Remove securityContext.procMount or set it to Default.",
  level: "restricted",
  check: "procMount_restricted",
  frameworks: { cis: ["5.7.3"], nsa: ["Kubernetes Pod security"], nist: ["4.4.3"], mitre: ["T1611"] },
  versions: [{ since: 35, check: nonDefaultProcMounts, overrides: ["pss-proc-mount"] }],
});
