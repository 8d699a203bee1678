/**
 * PSS restricted `runAsNonRoot` (v1.0 on).
 *
 * Fields: `spec.securityContext.runAsNonRoot` and `securityContext.runAsNonRoot` of every
 * container, init container and ephemeral container.
 * - An explicit `false`, at pod or container level, is a violation.
 * - Every container must end up with `true`: its own, or the pod's when it has none of its
 *   own (unset or null). With the pod-level field unset, each container without its own
 *   value is a violation, reported at that container's `runAsNonRoot`. With the pod-level
 *   field `false`, the pod-level field is the violation.
 *
 * v1.35 on: a pod in a user namespace (`spec.hostUsers: false`) may set anything, because
 * root in the container is then an unprivileged user on the node.
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import {
  containerField,
  containerSecurityContextPath,
  inUserNamespace,
  isSet,
  podField,
  podSecurityContextPath,
  pssRule,
} from "./shared.ts";

function nonRoot(template: PodTemplate): Violation[] {
  const violations: Violation[] = [];
  const podValue = podField(template, ["securityContext", "runAsNonRoot"]);
  if (podValue === false) {
    violations.push({
      path: podSecurityContextPath(template, "runAsNonRoot"),
      message: "pod must not set securityContext.runAsNonRoot=false",
    });
  }
  for (const ref of containersOf(template)) {
    const value = containerField(ref, ["securityContext", "runAsNonRoot"]);
    const path = containerSecurityContextPath(ref, "runAsNonRoot");
    if (value === false) {
      violations.push({
        path,
        message: `${containerLabel(ref)} must not set securityContext.runAsNonRoot=false`,
      });
    } else if (!isSet(value) && !isSet(podValue)) {
      violations.push({
        path,
        message: `pod or ${containerLabel(ref)} must set securityContext.runAsNonRoot=true`,
      });
    }
  }
  return violations;
}

/** Pods or all their containers must set `runAsNonRoot: true`. */
export const pssRunAsNonRoot = pssRule({
  id: "pss-run-as-non-root",
  title: "Container may run as root",
  severity: "medium",
  description:
    "Without runAsNonRoot: true the kubelet starts a container as root whenever its image says so, and root in a container is root on the node's kernel. Pod Security restricted requires runAsNonRoot: true on the pod or on every container (from v1.35 not for pods in a user namespace).",
  remediation: "Set spec.securityContext.runAsNonRoot to true and run the image as a non-zero user.",
  level: "restricted",
  check: "runAsNonRoot",
  frameworks: {
    cis: ["5.2.7"],
    nsa: ["Use containers built to run applications as non-root users"],
    nist: ["4.4.3", "4.5.4"],
  },
  versions: [
    { since: 0, check: nonRoot },
    { since: 35, check: (template) => (inUserNamespace(template) ? [] : nonRoot(template)) },
  ],
});
