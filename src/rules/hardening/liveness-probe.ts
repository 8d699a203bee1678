/**
 * liveness-probe
 *
 * Field: `livenessProbe` of every regular container (`spec.containers[*]`).
 * Allowed values: any probe object. Missing fails. Not checked: init and ephemeral
 * containers, and pods that run to completion (Jobs, CronJobs, CRDs with a job template,
 * `restartPolicy` Never or OnFailure).
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { isObject } from "./lib/objects.ts";
import { isRunToCompletion } from "./lib/pods.ts";

/** Long-running containers should have a liveness probe (advice). */
export const livenessProbe: Rule = podRule(
  {
    id: "liveness-probe",
    title: "Container has no liveness probe",
    severity: "low",
    description:
      "Without a liveness probe a container that hangs or deadlocks keeps running and keeps receiving traffic until someone " +
      "notices. The kubelet restarts containers whose liveness probe fails, which restores availability without manual action.",
    remediation: "Add a livenessProbe that fails only when the process cannot recover without a restart.",
    frameworks: {},
    profiles: ["hardening"],
    status: "warn",
  },
  (template, _context, resource) => {
    if (isRunToCompletion(template, resource)) return [];
    const violations: Violation[] = [];
    for (const ref of containersOf(template, ["containers"])) {
      if (isObject(ref.container.livenessProbe)) continue;
      violations.push({
        path: [...ref.path, "livenessProbe"],
        message: `${containerLabel(ref)} has no livenessProbe`,
      });
    }
    return violations;
  },
);
