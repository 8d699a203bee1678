/**
 * PSS baseline `seLinuxOptions` (v1.0 on).
 *
 * Fields: `spec.securityContext.seLinuxOptions` and `securityContext.seLinuxOptions` of
 * every container, init container and ephemeral container; checked only where
 * `seLinuxOptions` is set (not null).
 * - `type`: unset, empty, `container_t`, `container_init_t` or `container_kvm_t`; from v1.31
 *   also `container_engine_t`. Any other type (`spc_t`, `unconfined_t`) is a violation.
 * - `user` and `role`: must be unset or empty; any value is a violation.
 * `level` is not restricted. Each offending field is a violation of its own.
 */
import type { FieldPath } from "../../resources/path.ts";
import type { PodTemplate } from "../../resources/pod-spec.ts";
import { containerLabel, containersOf } from "../pod-rule.ts";
import type { Violation } from "../rule.ts";
import {
  containerField,
  containerSecurityContextPath,
  isSet,
  mapValue,
  podField,
  podSecurityContextPath,
  pssRule,
  show,
  stringValue,
} from "./shared.ts";

const TYPES_1_0 = ["", "container_t", "container_init_t", "container_kvm_t"];
const TYPES_1_31 = [...TYPES_1_0, "container_engine_t"];

function seLinuxOptions(allowedTypes: readonly string[]) {
  return (template: PodTemplate): Violation[] => {
    const violations: Violation[] = [];
    const judge = (owner: string, options: unknown, path: FieldPath): void => {
      if (!isSet(options)) return;
      const fields = mapValue(options);
      const type = stringValue(fields.type);
      if (!allowedTypes.includes(type)) {
        violations.push({
          path: [...path, "type"],
          message: `${owner} must not set securityContext.seLinuxOptions.type=${show(type)}`,
        });
      }
      for (const field of ["user", "role"] as const) {
        const value = stringValue(fields[field]);
        if (value !== "") {
          violations.push({
            path: [...path, field],
            message: `${owner} must not set securityContext.seLinuxOptions.${field}=${show(value)}`,
          });
        }
      }
    };
    judge(
      "pod",
      podField(template, ["securityContext", "seLinuxOptions"]),
      podSecurityContextPath(template, "seLinuxOptions"),
    );
    for (const ref of containersOf(template)) {
      judge(
        containerLabel(ref),
        containerField(ref, ["securityContext", "seLinuxOptions"]),
        containerSecurityContextPath(ref, "seLinuxOptions"),
      );
    }
    return violations;
  };
}

/** Pods and containers must not set a custom SELinux user or role, or a privileged SELinux type. */
export const pssSeLinuxOptions = pssRule({
  id: "pss-se-linux-options",
  title: "SELinux options not allowed",
  severity: "medium",
  description:
    "SELinux confines containers with the container_t type; choosing another type such as spc_t, or a custom SELinux user or role, can run the container unconfined. Pod Security baseline allows only the container types and forbids user and role.",
  remediation:
    "Remove seLinuxOptions.user and seLinuxOptions.role and use a container_* seLinuxOptions.type or none.",
  level: "baseline",
  check: "seLinuxOptions",
  frameworks: { cis: ["5.7.3"], nsa: ["Hardening container environments"], nist: ["4.4.3"] },
  versions: [
    { since: 0, check: seLinuxOptions(TYPES_1_0) },
    { since: 31, check: seLinuxOptions(TYPES_1_31) },
  ],
});
