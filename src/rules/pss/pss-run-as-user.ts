/**
 * PSS restricted `runAsUser` (new in v1.23).
 *
 * Fields: `spec.securityContext.runAsUser` and `securityContext.runAsUser` of every
 * container, init container and ephemeral container. Allowed: unset, null or any non-zero
 * user id; each explicit `0` is a violation. (Running as root through the image's user is
 * the `runAsNonRoot` check's business.)
 *
 * v1.35 on: a pod in a user namespace (`spec.hostUsers: false`) may set 0, because uid 0 in
 * the container then maps to an unprivileged user on the node.
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import {
  containerField,
  containerSecurityContextPath,
  inUserNamespace,
  podField,
  podSecurityContextPath,
  pssRule,
} from "./shared.ts";

function notRootUser(template: PodTemplate): Violation[] {
  const violations: Violation[] = [];
  if (podField(template, ["securityContext", "runAsUser"]) === 0) {
    violations.push({
      path: podSecurityContextPath(template, "runAsUser"),
      message: "pod must not set securityContext.runAsUser=0",
    });
  }
  for (const ref of containersOf(template)) {
    if (containerField(ref, ["securityContext", "runAsUser"]) === 0) {
      violations.push({
        path: containerSecurityContextPath(ref, "runAsUser"),
        message: `${containerLabel(ref)} must not set securityContext.runAsUser=0`,
      });
    }
  }
  return violations;
}

/** Pods and containers must not set `runAsUser: 0`. */
export const pssRunAsUser = pssRule({
  id: "pss-run-as-user",
  title: "Container runs as user 0",
  severity: "medium",
  description:
    "runAsUser: 0 runs the container as root explicitly, and root in a container is root on the node's kernel. Pod Security restricted forbids it from v1.23 (from v1.35 not for pods in a user namespace).",
  remediation: "Set runAsUser to a non-zero user id, or remove it and let the image's non-root user apply.",
  level: "restricted",
  check: "runAsUser",
  frameworks: {
    cis: ["5.2.7"],
    nsa: ["Use containers built to run applications as non-root users"],
    nist: ["4.4.3", "4.5.4"],
  },
  versions: [
    { since: 23, check: notRootUser },
    { since: 35, check: (template) => (inUserNamespace(template) ? [] : notRootUser(template)) },
  ],
});
