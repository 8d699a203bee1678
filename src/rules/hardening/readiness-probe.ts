/**
 * readiness-probe
 *
 * Field: `readinessProbe` of regular containers (`spec.containers[*]`) that serve traffic:
 * those that declare a `ports` entry, or, when none of the pod's containers declares one but
 * a Service among the scanned resources in the same namespace selects the pod, every
 * container. Allowed values: any probe object. Missing fails. Not checked: init and ephemeral
 * containers, and pods that run to completion (Jobs, CronJobs, CRDs with a job template,
 * `restartPolicy` Never or OnFailure).
 */

import type { ContainerRef } from "../../resources/pod-spec.ts";
import { matchesServiceSelector } from "../../resources/selectors.ts";
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { byNamespace } from "./lib/memo.ts";
import { asArray, asObject, isObject, labelsOf, namespaceKey } from "./lib/objects.ts";
import { isRunToCompletion } from "./lib/pods.ts";

/** Containers that serve traffic should have a readiness probe (advice). */
export const readinessProbe: Rule = podRule(
  {
    id: "readiness-probe",
    title: "Container has no readiness probe",
    severity: "low",
    description:
      "Without a readiness probe a pod receives Service traffic as soon as its containers start, before the application is " +
      "ready, and keeps receiving it when the application stops serving. Rollouts then drop requests and broken pods stay in rotation.",
    remediation: "Add a readinessProbe that succeeds only when the container can serve requests.",
    frameworks: {},
    profiles: ["hardening"],
    status: "warn",
  },
  (template, context, resource) => {
    if (isRunToCompletion(template, resource)) return [];
    const containers = containersOf(template, ["containers"]);
    let serving: readonly ContainerRef[] = containers.filter(
      (ref) => asArray(ref.container.ports).length > 0,
    );
    if (serving.length === 0) {
      const labels = labelsOf(template.metadata);
      const namespace = namespaceKey(resource);
      const selected = (byNamespace(context, "Service").get(namespace) ?? []).some((service) =>
        matchesServiceSelector(asObject(service.object.spec).selector, labels),
      );
      if (selected) serving = containers;
    }
    const violations: Violation[] = [];
    for (const ref of serving) {
      if (isObject(ref.container.readinessProbe)) continue;
      violations.push({
        path: [...ref.path, "readinessProbe"],
        message: `${containerLabel(ref)} has no readinessProbe`,
      });
    }
    return violations;
  },
);
