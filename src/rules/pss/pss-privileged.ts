/**
 * PSS baseline `privileged` (all versions, v1.0 on).
 *
 * A privileged container runs with nearly every protection of the host turned off: all
 * capabilities, every device, no seccomp or AppArmor confinement.
 *
 * Field: `securityContext.privileged` of every container, init container and ephemeral
 * container. Allowed: unset, null, or `false`. Only an explicit `true` is a violation.
 */

import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import { containerField, containerSecurityContextPath, pssRule } from "./shared.ts";

/** Containers must not set `securityContext.privileged: true`. */
export const pssPrivileged = pssRule({
  id: "pss-privileged",
  title: "Privileged container",
  severity: "critical",
  description:
    "A privileged container gets all capabilities and host devices and escapes most isolation; a compromise of it is a compromise of the node. Pod Security baseline forbids it.",
  remediation: "Remove securityContext.privileged or set it to false.",
  level: "baseline",
  check: "privileged",
  frameworks: { cis: ["5.2.2"], nsa: ["Kubernetes Pod security"], nist: ["4.4.3"], mitre: ["T1611"] },
  versions: [
    {
      since: 0,
      check: (template) => {
        const violations: Violation[] = [];
        for (const ref of containersOf(template)) {
          if (containerField(ref, ["securityContext", "privileged"]) === true) {
            violations.push({
              path: containerSecurityContextPath(ref, "privileged"),
              message: `${containerLabel(ref)} must not set securityContext.privileged=true`,
            });
          }
        }
        return violations;
      },
    },
  ],
});
