/**
 * PSS baseline `windowsHostProcess` (all versions, v1.0 on).
 *
 * A Windows HostProcess container runs directly on the Windows node, with the node's
 * network and file system and, usually, an administrator account.
 *
 * Fields: `spec.securityContext.windowsOptions.hostProcess` and
 * `securityContext.windowsOptions.hostProcess` of every container, init container and
 * ephemeral container. Allowed: unset, null or `false`; each `true` is a violation.
 */
import type { FieldPath } from "../../resources/path.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import {
  containerField,
  containerSecurityContextPath,
  podField,
  podSecurityContextPath,
  pssRule,
} from "./shared.ts";

const FIELD: FieldPath = ["windowsOptions", "hostProcess"];

/** Pods and containers must not run as Windows HostProcess containers. */
export const pssWindowsHostProcess = pssRule({
  id: "pss-windows-host-process",
  title: "Windows HostProcess container",
  severity: "critical",
  description:
    "A Windows HostProcess container is not isolated from the node: it runs as a process on the host with access to its network, file system and devices, the Windows equivalent of a privileged container. Pod Security baseline forbids it.",
  remediation: "Remove securityContext.windowsOptions.hostProcess or set it to false.",
  level: "baseline",
  check: "windowsHostProcess",
  frameworks: { cis: ["5.2.11"], nsa: ["Kubernetes Pod security"], nist: ["4.4.3"], mitre: ["T1611"] },
  versions: [
    {
      since: 0,
      check: (template) => {
        const violations: Violation[] = [];
        if (podField(template, ["securityContext", ...FIELD]) === true) {
          violations.push({
            path: podSecurityContextPath(template, ...FIELD),
            message: "pod must not set securityContext.windowsOptions.hostProcess=true",
          });
        }
        for (const ref of containersOf(template)) {
          if (containerField(ref, ["securityContext", ...FIELD]) === true) {
            violations.push({
              path: containerSecurityContextPath(ref, ...FIELD),
              message: `${containerLabel(ref)} must not set securityContext.windowsOptions.hostProcess=true`,
            });
          }
        }
        return violations;
      },
    },
  ],
});
