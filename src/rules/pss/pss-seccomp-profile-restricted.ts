/**
 * PSS restricted `seccompProfile_restricted` (new in v1.19; replaces
 * `seccompProfile_baseline` at restricted level from then on, so the alpha annotations are
 * no longer checked there).
 *
 * Fields: `spec.securityContext.seccompProfile.type` and `securityContext.seccompProfile.type`
 * of every container, init container and ephemeral container.
 * - Any profile that is set must have type `RuntimeDefault` or `Localhost` (a set profile
 *   without a type is a violation).
 * - Every container must end up with a profile: either its own, or the pod's when the pod
 *   sets an allowed one. With no pod-level profile, each container without its own is a
 *   violation (reported at that container's `seccompProfile.type`). With a forbidden
 *   pod-level profile, the pod-level field is the violation.
 *
 * v1.25 on: a pod with `spec.os.name: windows` is exempt (seccomp does not exist on Windows).
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import {
  badProfileTypes,
  containerField,
  containerSecurityContextPath,
  isSet,
  isWindowsPod,
  orList,
  podField,
  pssRule,
} from "./shared.ts";

const ALLOWED = ["RuntimeDefault", "Localhost"];

function restrictedSeccomp(template: PodTemplate): Violation[] {
  const containers = containersOf(template);
  const violations = badProfileTypes(template, containers, "seccompProfile", ALLOWED);
  // A forbidden pod-level profile is already a violation; containers that inherit it are not
  // reported again. Only a pod without any profile leaves containers to set their own.
  if (!isSet(podField(template, ["securityContext", "seccompProfile"]))) {
    for (const ref of containers) {
      if (isSet(containerField(ref, ["securityContext", "seccompProfile"]))) continue;
      violations.push({
        path: containerSecurityContextPath(ref, "seccompProfile", "type"),
        message: `pod or ${containerLabel(ref)} must set securityContext.seccompProfile.type to ${orList(ALLOWED)}`,
      });
    }
  }
  return violations;
}

/** Pods or all their containers must set seccomp profile RuntimeDefault or Localhost. */
export const pssSeccompProfileRestricted = pssRule({
  id: "pss-seccomp-profile-restricted",
  title: "Seccomp profile not set",
  severity: "medium",
  description:
    "Without a seccomp profile many runtimes run containers unconfined, with every system call available to an attacker. Pod Security restricted requires the RuntimeDefault or Localhost profile on the pod or on every container.",
  remediation:
    "Set spec.securityContext.seccompProfile.type to RuntimeDefault (or Localhost with a reviewed profile).",
  level: "restricted",
  check: "seccompProfile_restricted",
  frameworks: { cis: ["5.7.2"], nsa: ["Hardening container environments"], nist: ["4.4.3", "4.5.2"] },
  versions: [
    { since: 19, check: restrictedSeccomp, overrides: ["pss-seccomp-profile-baseline"] },
    {
      since: 25,
      check: (template) => (isWindowsPod(template) ? [] : restrictedSeccomp(template)),
      overrides: ["pss-seccomp-profile-baseline"],
    },
  ],
});
