/**
 * PSS baseline `hostPorts` (all versions, v1.0 on).
 *
 * A host port binds a port on the node's own network interfaces and forwards it to the
 * container, bypassing Services and NetworkPolicies that select on pod IPs.
 *
 * Field: `ports[*].hostPort` of every container, init container and ephemeral container.
 * Allowed: unset, null or 0. Every other port number is a violation of its own.
 */
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import { containerField, listValue, mapValue, pssRule } from "./shared.ts";

/** Containers must not use host ports. */
export const pssHostPorts = pssRule({
  id: "pss-host-ports",
  title: "Host port used",
  severity: "medium",
  description:
    "A hostPort exposes the container on the node's IP address, outside the control of Services and NetworkPolicy, and ties the pod to nodes where the port is free. Pod Security baseline forbids host ports.",
  remediation: "Remove hostPort from the container ports and expose the pod through a Service instead.",
  level: "baseline",
  check: "hostPorts",
  frameworks: { cis: ["5.2.13"], nsa: ["Network separation and hardening"], nist: ["4.4.2"] },
  versions: [
    {
      since: 0,
      check: (template) => {
        const violations: Violation[] = [];
        for (const ref of containersOf(template)) {
          listValue(containerField(ref, ["ports"])).forEach((port, index) => {
            const hostPort = mapValue(port).hostPort;
            if (typeof hostPort === "number" && hostPort !== 0) {
              violations.push({
                path: [...ref.path, "ports", index, "hostPort"],
                message: `${containerLabel(ref)} must not use hostPort ${hostPort}`,
              });
            }
          });
        }
        return violations;
      },
    },
  ],
});
