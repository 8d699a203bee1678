/**
 * run-as-high-uid
 *
 * Field: the effective `runAsUser` of each container and init container: the container's
 * `securityContext.runAsUser`, else the pod's `spec.securityContext.runAsUser`.
 * Allowed values: an integer >= 10000. Unset fails (the image decides the UID). UID 0 is left
 * to the Pod Security Standards runAsUser check. Windows pods are skipped. A low pod-level
 * UID is reported once, at the pod field, naming the containers that inherit it.
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { asObject, quoteList } from "./lib/objects.ts";
import { isWindowsPod, specOf } from "./lib/pods.ts";

/** The lowest UID considered clear of host and image system users. */
export const HIGH_UID_MIN = 10000;

function isLow(uid: unknown): uid is number {
  return typeof uid === "number" && uid > 0 && uid < HIGH_UID_MIN;
}

/** Containers should run as a UID of 10000 or more, not one that may exist on the host. */
export const runAsHighUid: Rule = podRule(
  {
    id: "run-as-high-uid",
    title: "Container does not run as a high UID",
    severity: "low",
    description:
      "Low UIDs are used by system accounts on the node and in images; a container that breaks out as such a UID gets that " +
      "account's access on the host. Running as a UID of 10000 or more, set explicitly, avoids overlapping with host users.",
    remediation:
      "Set securityContext.runAsUser to a UID of 10000 or more in the pod or container security context.",
    frameworks: {
      cis: ["5.7.3"],
      nsa: ["Use containers built to run applications as non-root users"],
      nist: ["4.4.3"],
    },
    profiles: ["hardening"],
    status: "warn",
  },
  (template) => {
    if (isWindowsPod(template)) return [];
    const podUid = asObject(specOf(template).securityContext).runAsUser;
    const violations: Violation[] = [];
    const inheriting: string[] = [];
    for (const ref of containersOf(template, ["initContainers", "containers"])) {
      const own = asObject(ref.container.securityContext).runAsUser;
      const path = [...ref.path, "securityContext", "runAsUser"];
      if (own !== undefined && own !== null) {
        if (isLow(own))
          violations.push({
            path,
            message: `${containerLabel(ref)} runs as UID ${own} (securityContext.runAsUser), below ${HIGH_UID_MIN}`,
          });
      } else if (podUid === undefined || podUid === null) {
        violations.push({
          path,
          message: `${containerLabel(ref)} sets no securityContext.runAsUser; the image decides its UID`,
        });
      } else if (isLow(podUid)) {
        inheriting.push(ref.container.name ?? `#${ref.index}`);
      }
    }
    if (inheriting.length > 0) {
      violations.push({
        path: [...template.specPath, "securityContext", "runAsUser"],
        message: `containers ${quoteList(inheriting)} run as UID ${podUid} (the pod's securityContext.runAsUser), below ${HIGH_UID_MIN}`,
      });
    }
    return violations;
  },
);
