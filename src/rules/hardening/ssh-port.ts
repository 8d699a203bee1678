/**
 * ssh-port
 *
 * Field: `ports[*].containerPort` of every container, init container and ephemeral
 * container. Disallowed value: `22` with protocol TCP (or no protocol, which defaults to TCP).
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { asArray, isObject } from "./lib/objects.ts";

/** Containers should not expose SSH. */
export const sshPort: Rule = podRule(
  {
    id: "ssh-port",
    title: "Container exposes the SSH port",
    severity: "low",
    description:
      "An SSH server in a container is a second way in that bypasses Kubernetes' authentication, RBAC and audit logging, " +
      "usually with long-lived keys or passwords. Interactive access belongs to kubectl exec under RBAC, or better, to " +
      "short-lived just-in-time grants.",
    remediation:
      "Remove the SSH server and port 22 from the container and use kubectl exec or debug under RBAC instead.",
    frameworks: {
      nsa: ["Hardening container environments"],
      nist: ["4.4.3"],
      mitre: ["T1021"],
    },
    profiles: ["hardening"],
  },
  (template) => {
    const violations: Violation[] = [];
    for (const ref of containersOf(template)) {
      asArray(ref.container.ports).forEach((port, index) => {
        if (!isObject(port) || port.containerPort !== 22) return;
        if (port.protocol !== undefined && port.protocol !== "TCP") return;
        violations.push({
          path: [...ref.path, "ports", index, "containerPort"],
          message: `${containerLabel(ref)} exposes containerPort 22 (SSH)`,
        });
      });
    }
    return violations;
  },
);
