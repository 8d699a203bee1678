/**
 * PSS baseline `hostNamespaces` (all versions, v1.0 on).
 *
 * Sharing the node's network, process or IPC namespace lets a pod see and talk to
 * everything on the node that those namespaces isolate.
 *
 * Fields: `spec.hostNetwork`, `spec.hostPID`, `spec.hostIPC`. Allowed: unset, null or
 * `false`; each one set to `true` is a violation of its own.
 */
import type { Violation } from "../rule.ts";
import { podField, pssRule } from "./shared.ts";

const FIELDS = ["hostNetwork", "hostPID", "hostIPC"] as const;

/** Pods must not share the host's network, PID or IPC namespace. */
export const pssHostNamespaces = pssRule({
  id: "pss-host-namespaces",
  title: "Host namespaces shared",
  severity: "high",
  description:
    "hostNetwork, hostPID and hostIPC put the pod in the node's namespaces: it can sniff and bind host network traffic, see and signal every process on the node, or reach host shared memory. Pod Security baseline forbids all three.",
  remediation: "Remove hostNetwork, hostPID and hostIPC from the pod spec or set them to false.",
  level: "baseline",
  check: "hostNamespaces",
  frameworks: {
    cis: ["5.2.3", "5.2.4", "5.2.5"],
    nsa: ["Kubernetes Pod security"],
    nist: ["4.4.3", "4.3.3"],
    mitre: ["T1611"],
  },
  versions: [
    {
      since: 0,
      check: (template) => {
        const violations: Violation[] = [];
        for (const field of FIELDS) {
          if (podField(template, [field]) === true) {
            violations.push({
              path: [...template.specPath, field],
              message: `pod must not set ${field}=true`,
            });
          }
        }
        return violations;
      },
    },
  ],
});
