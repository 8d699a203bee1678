/**
 * PSS baseline `appArmorProfile` (all versions, v1.0 on, one behaviour; the check reads the
 * newer fields at every version). Baseline does not require an AppArmor profile, it only
 * forbids weakening the runtime default.
 *
 * Annotations: every pod annotation whose key starts with
 * `container.apparmor.security.beta.kubernetes.io/` (whether or not the rest names an
 * existing container). Allowed values: empty (or null), `runtime/default`, or
 * `localhost/<profile>`. Anything else (`unconfined`, a typo) is a violation.
 *
 * Fields: `spec.securityContext.appArmorProfile.type` and
 * `securityContext.appArmorProfile.type` of every container, init container and ephemeral
 * container. Allowed: profile unset or null, or type `RuntimeDefault` or `Localhost`. A set
 * profile with any other type (`Unconfined`, or no type at all) is a violation.
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import { containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import { badProfileTypes, mapValue, pssRule, show, stringValue } from "./shared.ts";

const ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";

function annotationAllowed(value: string): boolean {
  return value === "" || value === "runtime/default" || value.startsWith("localhost/");
}

function appArmor(template: PodTemplate): Violation[] {
  const violations = badProfileTypes(template, containersOf(template), "appArmorProfile", [
    "RuntimeDefault",
    "Localhost",
  ]);
  const annotations = mapValue(template.metadata.annotations);
  for (const key of Object.keys(annotations).sort()) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const value = stringValue(annotations[key]);
    if (annotationAllowed(value)) continue;
    violations.push({
      path: [...template.metadataPath, "annotations", key],
      message: `pod must not set annotation ${key}=${show(value)}`,
    });
  }
  return violations;
}

/** Pods and containers must not disable or replace the default AppArmor profile with an unknown one. */
export const pssAppArmorProfile = pssRule({
  id: "pss-app-armor-profile",
  title: "AppArmor profile disabled",
  severity: "medium",
  description:
    "On nodes with AppArmor the runtime confines containers with a default profile; the Unconfined profile removes that confinement. Pod Security baseline allows only the runtime default and localhost profiles, set with securityContext.appArmorProfile or the older beta annotations.",
  remediation:
    "Set appArmorProfile.type to RuntimeDefault or Localhost (or the annotation to runtime/default), or leave it unset.",
  level: "baseline",
  check: "appArmorProfile",
  frameworks: { cis: ["5.7.3"], nsa: ["Hardening container environments"], nist: ["4.4.3"] },
  versions: [{ since: 0, check: appArmor }],
});
