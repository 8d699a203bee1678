/**
 * memory-limits
 *
 * Field: `resources.limits.memory` of every container and init container.
 * Allowed values: any quantity. Missing fails, unless a LimitRange among the scanned
 * resources in the same namespace gives Containers a default (`default`) for memory.
 */
import { podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { resourceCheck } from "./lib/resources.ts";

/** Containers must cap their memory use. */
export const memoryLimits: Rule = podRule(
  {
    id: "memory-limits",
    title: "Container has no memory limit",
    severity: "medium",
    description:
      "A container without a memory limit can take all memory of its node, causing out-of-memory kills of other pods and node " +
      "instability: an easy denial of service, by a bug or an attacker. A limit confines the damage to the container itself.",
    remediation: "Set resources.limits.memory to the most memory the container may use.",
    frameworks: { nsa: ["Resource policies"], mitre: ["T1499"] },
    profiles: ["hardening"],
  },
  resourceCheck("limits", "memory"),
);
