/**
 * cpu-limits
 *
 * Field: `resources.limits.cpu` of every container and init container.
 * Allowed values: any quantity. Missing fails, unless a LimitRange among the scanned
 * resources in the same namespace gives Containers a default (`default`) for cpu.
 */
import { podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { resourceCheck } from "./lib/resources.ts";

/** Containers should cap their CPU use (advice). */
export const cpuLimits: Rule = podRule(
  {
    id: "cpu-limits",
    title: "Container has no CPU limit",
    severity: "info",
    description:
      "A container without a CPU limit can use every idle core of its node, so a runaway or hijacked process (a crypto miner, a busy loop) " +
      "degrades its neighbours. Some teams leave CPU unlimited on purpose to avoid throttling; this is advice, not a block.",
    remediation: "Set resources.limits.cpu to the most CPU the container may use.",
    frameworks: { nsa: ["Resource policies"], mitre: ["T1496"] },
    profiles: ["hardening"],
    status: "warn",
  },
  resourceCheck("limits", "cpu"),
);
