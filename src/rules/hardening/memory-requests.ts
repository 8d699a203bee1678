/**
 * memory-requests
 *
 * Field: `resources.requests.memory` of every container and init container.
 * Allowed values: any quantity. Missing fails, unless `resources.limits.memory` is set (the API
 * server then defaults the request to the limit), or unless a LimitRange among the scanned
 * resources in the same namespace gives Containers a default (`default` or `defaultRequest`) for memory.
 */
import { podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { resourceCheck } from "./lib/resources.ts";

/** Containers should request memory so the scheduler can place and protect them. */
export const memoryRequests: Rule = podRule(
  {
    id: "memory-requests",
    title: "Container has no memory request",
    severity: "low",
    description:
      "Without a memory request the scheduler places the pod on nodes that may not have the memory it uses, and it is among the first " +
      "to be evicted under memory pressure. Requests also let the cluster enforce fair sharing between tenants.",
    remediation: "Set resources.requests.memory to the memory the container needs under normal load.",
    frameworks: { nsa: ["Resource policies"] },
    profiles: ["hardening"],
    status: "warn",
  },
  resourceCheck("requests", "memory"),
);
