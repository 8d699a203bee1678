/**
 * container-readonly-root-filesystem
 *
 * Fields: `spec.containers[*].securityContext.readOnlyRootFilesystem` and
 * `spec.initContainers[*].securityContext.readOnlyRootFilesystem` of every pod template.
 * Allowed values: `true`. Missing, `false` or anything else fails. Ephemeral (debug)
 * containers are not checked; pods with `spec.os.name: windows` are skipped (Windows does
 * not support the setting).
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { asObject } from "./lib/objects.ts";
import { isWindowsPod } from "./lib/pods.ts";

/** Containers must mount their root filesystem read-only. */
export const containerReadonlyRootFilesystem: Rule = podRule(
  {
    id: "container-readonly-root-filesystem",
    title: "Container root filesystem is writable",
    severity: "medium",
    description:
      "A writable root filesystem lets an intruder drop tools, modify binaries and persist changes inside a running container. " +
      "Mounting it read-only makes the container immutable at run time; data that must be written belongs in emptyDir or persistent volumes.",
    remediation:
      "Set securityContext.readOnlyRootFilesystem to true and mount an emptyDir volume for paths the application writes to.",
    frameworks: {
      cis: ["5.7.3"],
      nsa: ["Use immutable container file systems"],
      nist: ["4.4.3"],
    },
    profiles: ["hardening"],
  },
  (template) => {
    if (isWindowsPod(template)) return [];
    const violations: Violation[] = [];
    for (const ref of containersOf(template, ["initContainers", "containers"])) {
      const value = asObject(ref.container.securityContext).readOnlyRootFilesystem;
      if (value === true) continue;
      violations.push({
        path: [...ref.path, "securityContext", "readOnlyRootFilesystem"],
        message:
          value === undefined
            ? `${containerLabel(ref)} does not set securityContext.readOnlyRootFilesystem=true`
            : `${containerLabel(ref)} sets securityContext.readOnlyRootFilesystem=${JSON.stringify(value)}, must be true`,
      });
    }
    return violations;
  },
);
