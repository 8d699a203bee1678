/**
 * cpu-requests
 *
 * Field: `resources.requests.cpu` of every container and init container.
 * Allowed values: any quantity. Missing fails, unless `resources.limits.cpu` is set (the API
 * server then defaults the request to the limit), or unless a LimitRange among the scanned
 * resources in the same namespace gives Containers a default (`default` or `defaultRequest`) for cpu.
 */
import { podRule } from "../pod-rule.ts";
import type { Rule } from "../rule.ts";
import { resourceCheck } from "./lib/resources.ts";

/** Containers should request CPU so the scheduler can place and protect them. */
export const cpuRequests: Rule = podRule(
  {
    id: "cpu-requests",
    title: "Container has no CPU request",
    severity: "low",
    description:
      "Without a CPU request the scheduler cannot account for the container, so nodes get overcommitted and the pod is the first to be starved " +
      "under contention. Requests also let the cluster enforce fair sharing between tenants.",
    remediation: "Set resources.requests.cpu to the CPU the container needs under normal load.",
    frameworks: { nsa: ["Resource policies"] },
    profiles: ["hardening"],
    status: "warn",
  },
  resourceCheck("requests", "cpu"),
);
