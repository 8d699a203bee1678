/**
 * PSS baseline `capabilities_baseline` (all versions, v1.0 on). At restricted level it is
 * replaced from v1.22 by `capabilities_restricted`.
 *
 * Field: `securityContext.capabilities.add[*]` of every container, init container and
 * ephemeral container. Allowed: an empty or missing list, or only names from the runtime's
 * default set: AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD,
 * NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT. Names are compared
 * exactly (no `CAP_` prefix, case-sensitive); each other entry is a violation of its own.
 */
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import { containerField, containerSecurityContextPath, listValue, pssRule, show } from "./shared.ts";

// The capabilities container runtimes grant by default: adding them again grants nothing new.
const DEFAULT_CAPABILITIES: ReadonlySet<string> = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

/** Containers may only add capabilities from the default set. */
export const pssCapabilitiesBaseline = pssRule({
  id: "pss-capabilities-baseline",
  title: "Non-default capability added",
  severity: "high",
  description:
    "Capabilities beyond the container runtime's default set, such as SYS_ADMIN, NET_ADMIN, NET_RAW or SYS_PTRACE, give a container kernel powers that are commonly used to escape to the node or attack its neighbours. Pod Security baseline allows adding only default capabilities.",
  remediation:
    "Remove every capability outside the runtime default set from securityContext.capabilities.add.",
  level: "baseline",
  check: "capabilities_baseline",
  frameworks: {
    cis: ["5.2.8", "5.2.9"],
    nsa: ["Kubernetes Pod security"],
    nist: ["4.4.3"],
    mitre: ["T1611"],
  },
  versions: [
    {
      since: 0,
      check: (template) => {
        const violations: Violation[] = [];
        for (const ref of containersOf(template)) {
          const added = listValue(containerField(ref, ["securityContext", "capabilities", "add"]));
          added.forEach((capability, index) => {
            if (typeof capability === "string" && DEFAULT_CAPABILITIES.has(capability)) return;
            violations.push({
              path: containerSecurityContextPath(ref, "capabilities", "add", index),
              message: `${containerLabel(ref)} must not add capability ${show(capability)} (not in the default set)`,
            });
          });
        }
        return violations;
      },
    },
  ],
});
