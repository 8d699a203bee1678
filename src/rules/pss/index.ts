/**
 * The Pod Security Standards rules: every check of upstream pod-security-admission, baseline
 * and restricted, with its version behaviour.
 */
import type { Rule } from "../rule.ts";
import { pssAllowPrivilegeEscalation } from "./pss-allow-privilege-escalation.ts";
import { pssAppArmorProfile } from "./pss-app-armor-profile.ts";
import { pssCapabilitiesBaseline } from "./pss-capabilities-baseline.ts";
import { pssCapabilitiesRestricted } from "./pss-capabilities-restricted.ts";
import { pssHostNamespaces } from "./pss-host-namespaces.ts";
import { pssHostPathVolumes } from "./pss-host-path-volumes.ts";
import { pssHostPorts } from "./pss-host-ports.ts";
import { pssHostProbesAndHostLifecycle } from "./pss-host-probes-and-host-lifecycle.ts";
import { pssPrivileged } from "./pss-privileged.ts";
import { pssProcMount } from "./pss-proc-mount.ts";
import { pssProcMountRestricted } from "./pss-proc-mount-restricted.ts";
import { pssRestrictedVolumes } from "./pss-restricted-volumes.ts";
import { pssRunAsNonRoot } from "./pss-run-as-non-root.ts";
import { pssRunAsUser } from "./pss-run-as-user.ts";
import { pssSeLinuxOptions } from "./pss-se-linux-options.ts";
import { pssSeccompProfileBaseline } from "./pss-seccomp-profile-baseline.ts";
import { pssSeccompProfileRestricted } from "./pss-seccomp-profile-restricted.ts";
import { pssSysctls } from "./pss-sysctls.ts";
import { pssWindowsHostProcess } from "./pss-windows-host-process.ts";

/** Every PSS rule, baseline checks first, each level in upstream's check-id order (Go byte order). */
export const PSS_RULES: readonly Rule[] = [
  pssAppArmorProfile,
  pssCapabilitiesBaseline,
  pssHostNamespaces,
  pssHostPathVolumes,
  pssHostPorts,
  pssHostProbesAndHostLifecycle,
  pssPrivileged,
  pssProcMount,
  pssSeLinuxOptions,
  pssSeccompProfileBaseline,
  pssSysctls,
  pssWindowsHostProcess,
  pssAllowPrivilegeEscalation,
  pssCapabilitiesRestricted,
  pssProcMountRestricted,
  pssRestrictedVolumes,
  pssRunAsNonRoot,
  pssRunAsUser,
  pssSeccompProfileRestricted,
];
