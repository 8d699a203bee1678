/**
 * PSS restricted `allowPrivilegeEscalation` (new in v1.8, when the field was added).
 *
 * Field: `securityContext.allowPrivilegeEscalation` of every container, init container and
 * ephemeral container. Allowed: exactly `false`. Unset and null are violations too: the
 * runtime default allows escalation (no_new_privs is not set).
 *
 * v1.25 on: a pod with `spec.os.name: windows` is exempt (the field does not exist on
 * Windows; the API server rejects it for such pods).
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import { containerField, containerSecurityContextPath, isWindowsPod, pssRule } from "./shared.ts";

function noEscalation(template: PodTemplate): Violation[] {
  const violations: Violation[] = [];
  for (const ref of containersOf(template)) {
    if (containerField(ref, ["securityContext", "allowPrivilegeEscalation"]) === false) continue;
    violations.push({
      path: containerSecurityContextPath(ref, "allowPrivilegeEscalation"),
      message: `${containerLabel(ref)} must set securityContext.allowPrivilegeEscalation=false`,
    });
  }
  return violations;
}

/** Containers must set `securityContext.allowPrivilegeEscalation: false`. */
export const pssAllowPrivilegeEscalation = pssRule({
  id: "pss-allow-privilege-escalation",
  title: "Privilege escalation allowed",
  severity: "medium",
  description:
    "Unless allowPrivilegeEscalation is false, a process in the container can gain more privileges than its parent, for example through setuid binaries or file capabilities. Pod Security restricted requires it to be set to false explicitly.",
  remediation: "Set securityContext.allowPrivilegeEscalation to false in every container.",
  level: "restricted",
  check: "allowPrivilegeEscalation",
  frameworks: { cis: ["5.2.6"], nsa: ["Kubernetes Pod security"], nist: ["4.4.3"], mitre: ["T1068"] },
  versions: [
    { since: 8, check: noEscalation },
    { since: 25, check: (template) => (isWindowsPod(template) ? [] : noEscalation(template)) },
  ],
});
