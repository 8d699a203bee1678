/**
 * PSS baseline `seccompProfile_baseline` (v1.0 on; at restricted level replaced from v1.19
 * by `seccompProfile_restricted`). Baseline does not require a seccomp profile, it only
 * forbids choosing a weak one.
 *
 * v1.0 to v1.18: the alpha annotations are checked, the fields are not.
 * - `metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]`;
 * - `metadata.annotations["container.seccomp.security.alpha.kubernetes.io/<name>"]` for the
 *   name of every container, init container and ephemeral container.
 * Allowed: key absent, or value `runtime/default`, `docker/default` or `localhost/<profile>`.
 * A present key with any other value, the empty string included, is a violation.
 *
 * v1.19 on: the fields are checked, the annotations are not.
 * - `spec.securityContext.seccompProfile.type` and `securityContext.seccompProfile.type` of
 *   every container, init container and ephemeral container.
 * Allowed: profile unset or null, or type `RuntimeDefault` or `Localhost`. A set profile with
 * any other type (`Unconfined`, or no type) is a violation.
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import { badProfileTypes, mapValue, pssRule, show, stringValue } from "./shared.ts";

const POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/";

function annotationAllowed(value: string): boolean {
  return value === "runtime/default" || value === "docker/default" || value.startsWith("localhost/");
}

function seccompAnnotations(template: PodTemplate): Violation[] {
  const annotations = mapValue(template.metadata.annotations);
  const violations: Violation[] = [];
  const judge = (owner: string, key: string): void => {
    if (!Object.hasOwn(annotations, key)) return;
    // A null annotation value decodes to the empty string, which is not an allowed profile.
    const value = stringValue(annotations[key]);
    if (annotationAllowed(value)) return;
    violations.push({
      path: [...template.metadataPath, "annotations", key],
      message: `${owner} must not set annotation ${key}=${show(value)}`,
    });
  };
  judge("pod", POD_ANNOTATION);
  const seen = new Set<string>();
  for (const ref of containersOf(template)) {
    const key = CONTAINER_ANNOTATION_PREFIX + stringValue(ref.container.name);
    if (seen.has(key)) continue;
    seen.add(key);
    judge(containerLabel(ref), key);
  }
  return violations;
}

/** Pods and containers must not choose an unconfined or unknown seccomp profile. */
export const pssSeccompProfileBaseline = pssRule({
  id: "pss-seccomp-profile-baseline",
  title: "Seccomp profile disabled",
  severity: "medium",
  description:
    "Seccomp filters the system calls a container may make; the Unconfined profile turns the filter off and exposes the whole kernel attack surface. Pod Security baseline allows only the RuntimeDefault and Localhost profiles (before v1.19 the equivalent alpha annotations).",
  remediation: "Set securityContext.seccompProfile.type to RuntimeDefault or Localhost, or leave it unset.",
  level: "baseline",
  check: "seccompProfile_baseline",
  frameworks: { cis: ["5.7.2"], nsa: ["Hardening container environments"], nist: ["4.4.3", "4.5.2"] },
  versions: [
    { since: 0, check: seccompAnnotations },
    {
      since: 19,
      check: (template) =>
        badProfileTypes(template, containersOf(template), "seccompProfile", ["RuntimeDefault", "Localhost"]),
    },
  ],
});
