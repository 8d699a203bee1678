/**
 * PSS baseline `hostProbesAndHostLifecycle` (new in v1.34; absent before).
 *
 * Probes and lifecycle hooks are executed by the kubelet from the node. A `host` other than
 * the pod's own IP makes the kubelet connect to an arbitrary address on the pod's behalf.
 *
 * Fields, in every container, init container and ephemeral container:
 * - `livenessProbe`, `readinessProbe`, `startupProbe`: `httpGet.host` and `tcpSocket.host`;
 * - `lifecycle.postStart`, `lifecycle.preStop`: `httpGet.host` and `tcpSocket.host` (a TCP
 *   lifecycle handler is deprecated but still checked).
 * Allowed: unset, null or the empty string. Each non-empty host is a violation of its own.
 */
import type { FieldPath } from "../../resources/path.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import { containerField, pssRule, show, stringValue } from "./shared.ts";

const HANDLERS: readonly FieldPath[] = [
  ["livenessProbe"],
  ["readinessProbe"],
  ["startupProbe"],
  ["lifecycle", "postStart"],
  ["lifecycle", "preStop"],
];
const ACTIONS = ["httpGet", "tcpSocket"] as const;

/** Probes and lifecycle handlers must not set a host. */
export const pssHostProbesAndHostLifecycle = pssRule({
  id: "pss-host-probes-and-host-lifecycle",
  title: "Probe or lifecycle handler targets another host",
  severity: "medium",
  description:
    "An httpGet or tcpSocket probe or lifecycle handler with a host makes the kubelet open connections from the node to any address, which can reach services the pod itself may not (a server-side request forgery through the kubelet). Pod Security baseline forbids setting host from v1.34.",
  remediation:
    "Remove the host field from the probe or lifecycle handler so the kubelet targets the pod's own IP.",
  level: "baseline",
  check: "hostProbesAndHostLifecycle",
  frameworks: { nsa: ["Network separation and hardening"], nist: ["4.4.2"] },
  versions: [
    {
      since: 34,
      check: (template) => {
        const violations: Violation[] = [];
        for (const ref of containersOf(template)) {
          for (const handler of HANDLERS) {
            for (const action of ACTIONS) {
              const field = [...handler, action, "host"];
              const host = stringValue(containerField(ref, field));
              if (host !== "") {
                violations.push({
                  path: [...ref.path, ...field],
                  message: `${containerLabel(ref)} must not set ${field.join(".")}=${show(host)}`,
                });
              }
            }
          }
        }
        return violations;
      },
    },
  ],
});
