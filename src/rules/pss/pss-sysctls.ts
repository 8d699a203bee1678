/**
 * PSS baseline `sysctls` (v1.0 on; the allowed list grows with versions).
 *
 * Field: `spec.securityContext.sysctls[*].name`. Each entry whose name is not in the allowed
 * list for the version is a violation (an entry without a name too). The list holds sysctls
 * that are namespaced per pod and isolated from other pods on the node:
 * - v1.0: `kernel.shm_rmid_forced`, `net.ipv4.ip_local_port_range`,
 *   `net.ipv4.tcp_syncookies`, `net.ipv4.ping_group_range`,
 *   `net.ipv4.ip_unprivileged_port_start`;
 * - v1.27 adds `net.ipv4.ip_local_reserved_ports`;
 * - v1.29 adds `net.ipv4.tcp_keepalive_time`, `net.ipv4.tcp_fin_timeout`,
 *   `net.ipv4.tcp_keepalive_intvl`, `net.ipv4.tcp_keepalive_probes`;
 * - v1.32 adds `net.ipv4.tcp_rmem`, `net.ipv4.tcp_wmem`;
 * - v1.37 adds `net.ipv4.tcp_slow_start_after_idle`, `net.ipv4.tcp_notsent_lowat`.
 * Values are not checked, and names are compared exactly (`net/ipv4/...` spellings are not
 * recognised as allowed).
 */
import type { PodTemplate } from "../../resources/pod-spec.ts";
import type { Violation } from "../rule.ts";
import {
  listValue,
  mapValue,
  podField,
  podSecurityContextPath,
  pssRule,
  show,
  stringValue,
} from "./shared.ts";

const ALLOWED_1_0 = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
];
const ALLOWED_1_27 = [...ALLOWED_1_0, "net.ipv4.ip_local_reserved_ports"];
const ALLOWED_1_29 = [
  ...ALLOWED_1_27,
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
];
const ALLOWED_1_32 = [...ALLOWED_1_29, "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const ALLOWED_1_37 = [...ALLOWED_1_32, "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"];

function sysctls(allowed: readonly string[]) {
  const allowedSet = new Set(allowed);
  return (template: PodTemplate): Violation[] => {
    const violations: Violation[] = [];
    listValue(podField(template, ["securityContext", "sysctls"])).forEach((entry, index) => {
      const name = stringValue(mapValue(entry).name);
      if (allowedSet.has(name)) return;
      violations.push({
        path: podSecurityContextPath(template, "sysctls", index, "name"),
        message: `pod must not set sysctl ${show(name)}`,
      });
    });
    return violations;
  };
}

/** Pods may only set sysctls from the safe, namespaced set. */
export const pssSysctls = pssRule({
  id: "pss-sysctls",
  title: "Unsafe sysctl",
  severity: "medium",
  description:
    "Sysctls outside the safe set can change kernel behaviour for the whole node or disable security mechanisms, affecting every other pod. Pod Security baseline allows only sysctls that are namespaced and isolated per pod.",
  remediation: "Remove every sysctl outside the safe set from spec.securityContext.sysctls.",
  level: "baseline",
  check: "sysctls",
  frameworks: { cis: ["5.7.3"], nsa: ["Kubernetes Pod security"], nist: ["4.5.2"] },
  versions: [
    { since: 0, check: sysctls(ALLOWED_1_0) },
    { since: 27, check: sysctls(ALLOWED_1_27) },
    { since: 29, check: sysctls(ALLOWED_1_29) },
    { since: 32, check: sysctls(ALLOWED_1_32) },
    { since: 37, check: sysctls(ALLOWED_1_37) },
  ],
});
