/**
 * PSS restricted `capabilities_restricted` (new in v1.22; replaces `capabilities_baseline`
 * at restricted level from then on).
 *
 * Fields, in every container, init container and ephemeral container:
 * - `securityContext.capabilities.drop` must contain the exact string `ALL`; a missing
 *   security context, capabilities or drop list is a violation;
 * - `securityContext.capabilities.add` may be empty or missing, or contain only
 *   `NET_BIND_SERVICE`; each other entry is a violation of its own.
 *
 * v1.25 on: a pod with `spec.os.name: windows` is exempt (Windows has no Linux capabilities;
 * the API server rejects the field for such pods).
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import {
  containerField,
  containerSecurityContextPath,
  isWindowsPod,
  listValue,
  pssRule,
  show,
} from "./shared.ts";

function restrictedCapabilities(template: PodTemplate): Violation[] {
  const violations: Violation[] = [];
  for (const ref of containersOf(template)) {
    const drop = listValue(containerField(ref, ["securityContext", "capabilities", "drop"]));
    if (!drop.includes("ALL")) {
      violations.push({
        path: containerSecurityContextPath(ref, "capabilities", "drop"),
        message: `${containerLabel(ref)} must set securityContext.capabilities.drop=["ALL"]`,
      });
    }
    listValue(containerField(ref, ["securityContext", "capabilities", "add"])).forEach(
      (capability, index) => {
        if (capability === "NET_BIND_SERVICE") return;
        violations.push({
          path: containerSecurityContextPath(ref, "capabilities", "add", index),
          message: `${containerLabel(ref)} must not add capability ${show(capability)} (only "NET_BIND_SERVICE" is allowed)`,
        });
      },
    );
  }
  return violations;
}

/** Containers must drop ALL capabilities and may add back only NET_BIND_SERVICE. */
export const pssCapabilitiesRestricted = pssRule({
  id: "pss-capabilities-restricted",
  title: "Capabilities not dropped",
  severity: "medium",
  description:
    "Even the runtime's default capabilities (such as NET_RAW, CHOWN or SETUID) widen what an attacker can do inside a compromised container. Pod Security restricted requires dropping ALL capabilities and allows adding back only NET_BIND_SERVICE.",
  remediation: 'Set securityContext.capabilities.drop to ["ALL"] and add back at most NET_BIND_SERVICE.',
  level: "restricted",
  check: "capabilities_restricted",
  frameworks: { cis: ["5.2.9", "5.2.10"], nsa: ["Kubernetes Pod security"], nist: ["4.4.3"] },
  versions: [
    { since: 22, check: restrictedCapabilities, overrides: ["pss-capabilities-baseline"] },
    {
      since: 25,
      check: (template) => (isWindowsPod(template) ? [] : restrictedCapabilities(template)),
      overrides: ["pss-capabilities-baseline"],
    },
  ],
});
