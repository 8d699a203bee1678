/**
 * Facts about pod templates that several rules share: batch workloads, Windows pods, the
 * effective service account.
 */
import type { PodTemplate } from "../../../resources/pod-spec.ts";
import type { Resource } from "../../../resources/types.ts";
import { asObject } from "./objects.ts";

/** The pod spec as an untyped mapping, for defensive reads. */
export function specOf(template: PodTemplate): Record<string, unknown> {
  return template.spec as unknown as Record<string, unknown>;
}

/**
 * Whether pods of this template run to completion (Jobs, CronJobs, CRDs with a job template,
 * pods with `restartPolicy` Never or OnFailure): probes and long-running advice do not apply.
 */
export function isRunToCompletion(template: PodTemplate, resource: Resource): boolean {
  const kind = resource.ref.kind;
  if (kind === "Job" || kind === "CronJob" || template.specPath.includes("jobTemplate")) return true;
  const restartPolicy = specOf(template).restartPolicy;
  return restartPolicy === "Never" || restartPolicy === "OnFailure";
}

/** Whether the pod declares `spec.os.name: windows` (Linux-only settings do not apply). */
export function isWindowsPod(template: PodTemplate): boolean {
  return asObject(specOf(template).os).name === "windows";
}

/**
 * The service account pods of this template run as: `serviceAccountName`, else the
 * deprecated `serviceAccount`, else `default` (as the API server defaults it).
 */
export function serviceAccountOf(template: PodTemplate): string {
  const spec = specOf(template);
  if (typeof spec.serviceAccountName === "string" && spec.serviceAccountName !== "")
    return spec.serviceAccountName;
  if (typeof spec.serviceAccount === "string" && spec.serviceAccount !== "") return spec.serviceAccount;
  return "default";
}

/**
 * The singular subject of pod-level messages: `Pod "web"` for a Pod, `the pod template of
 * Deployment "web"` for a workload.
 */
export function podsLabel(resource: Resource): string {
  const name = `${resource.ref.kind} "${resource.ref.name}"`;
  return resource.ref.kind === "Pod" ? name : `the pod template of ${name}`;
}
