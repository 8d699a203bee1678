/**
 * dangerous-capabilities
 *
 * Field: `securityContext.capabilities.add[*]` of every container, init container and
 * ephemeral container. Disallowed values (case-insensitive, with or without the `CAP_`
 * prefix): ALL, SYS_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_PTRACE, SYS_BOOT, SYS_TIME,
 * DAC_READ_SEARCH, NET_ADMIN, BPF, PERFMON, MAC_ADMIN, MAC_OVERRIDE. Each such entry is one
 * violation. The Pod Security Standards capability checks still apply on their own; this
 * rule singles out the capabilities that lead to the host.
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { asObject, stringEntries } from "./lib/objects.ts";

/** Capabilities that give a container a known path to the kernel or the host, and why. */
export const DANGEROUS_CAPABILITIES: ReadonlyMap<string, string> = new Map([
  ["ALL", "every capability"],
  ["SYS_ADMIN", "mounts, namespaces and most of root's powers"],
  ["SYS_MODULE", "loading kernel modules"],
  ["SYS_RAWIO", "raw access to devices and memory"],
  ["SYS_PTRACE", "tracing and injecting into other processes"],
  ["SYS_BOOT", "rebooting the node"],
  ["SYS_TIME", "setting the node's clock"],
  ["DAC_READ_SEARCH", "reading any file by handle, a known escape"],
  ["NET_ADMIN", "reconfiguring the network stack"],
  ["BPF", "loading eBPF programs into the kernel"],
  ["PERFMON", "kernel performance monitoring"],
  ["MAC_ADMIN", "changing the mandatory access control policy"],
  ["MAC_OVERRIDE", "bypassing mandatory access control"],
]);

/** `cap_sys_admin` → `SYS_ADMIN`. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith("CAP_") ? upper.slice(4) : upper;
}

/** Containers must not add capabilities that lead to the host. */
export const dangerousCapabilities: Rule = podRule(
  {
    id: "dangerous-capabilities",
    title: "Container adds a dangerous capability",
    severity: "critical",
    description:
      "Some Linux capabilities hand a container powers that lead straight to the kernel or the host: SYS_ADMIN, SYS_MODULE, " +
      "SYS_PTRACE, DAC_READ_SEARCH, BPF and the like make container escapes routine. Workloads almost never need them; " +
      "those that do should be isolated and reviewed.",
    remediation:
      "Remove the capability from securityContext.capabilities.add and drop ALL capabilities instead.",
    frameworks: {
      cis: ["5.2.9"],
      nsa: ["Kubernetes Pod security"],
      nist: ["4.4.3"],
      mitre: ["T1611", "T1068"],
    },
    profiles: ["hardening"],
  },
  (template) => {
    const violations: Violation[] = [];
    for (const ref of containersOf(template)) {
      const add = asObject(asObject(ref.container.securityContext).capabilities).add;
      for (const entry of stringEntries(add)) {
        const capability = normalizeCapability(entry.value);
        const why = DANGEROUS_CAPABILITIES.get(capability);
        if (why === undefined) continue;
        violations.push({
          path: [...ref.path, "securityContext", "capabilities", "add", entry.index],
          message: `${containerLabel(ref)} adds capability "${entry.value}" (${why}) in securityContext.capabilities.add`,
        });
      }
    }
    return violations;
  },
);
