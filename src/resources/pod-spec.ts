/**
 * Pod templates inside every workload kind, with the field path of each, so a rule can be
 * written once against a pod spec and report exact paths for any kind.
 */
import type { V1Container, V1ObjectMeta, V1PodSpec } from "@kubernetes/client-node";
import { ObjectMemo } from "../object-memo.ts";
import type { FieldPath } from "./path.ts";
import type { KubeObject } from "./types.ts";

/** A pod spec found in an object, with the metadata that goes with it. */
export interface PodTemplate {
  spec: V1PodSpec;
  /** Pod metadata (annotations and labels of the pod, not of the controller). */
  metadata: V1ObjectMeta;
  /** Path of `spec` in the object, e.g. `["spec", "template", "spec"]`. */
  specPath: FieldPath;
  /** Path of the pod's metadata in the object. */
  metadataPath: FieldPath;
}

/** Which list of a pod spec a container is in. */
export type ContainerListName = "containers" | "initContainers" | "ephemeralContainers";

/** A container with where it sits. */
export interface ContainerRef {
  container: V1Container;
  list: ContainerListName;
  index: number;
  /** Path of the container in the object. */
  path: FieldPath;
}

const TEMPLATE_PATHS: Record<string, FieldPath> = {
  Pod: [],
  PodTemplate: ["template"],
  Deployment: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  Job: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

/** Paths probed in kinds belay does not know (CRDs such as Argo Rollouts or Knative). */
const GENERIC_TEMPLATE_PATHS: FieldPath[] = [
  ["spec", "template"],
  ["spec", "jobTemplate", "spec", "template"],
];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function at(object: KubeObject, path: FieldPath): unknown {
  let current: unknown = object;
  for (const part of path) {
    if (!isObject(current)) return undefined;
    current = current[part as string];
  }
  return current;
}

/**
 * The pod templates of an object: one for a Pod or a known workload kind, one for an unknown
 * kind with `spec.template.spec` or `spec.jobTemplate.spec.template.spec`, none otherwise.
 */
export function podTemplates(object: KubeObject): readonly PodTemplate[] {
  // Every pod rule asks for the same object's templates: compute them once per object.
  return templateCache.getOrCompute(object, findTemplates);
}

const templateCache = new ObjectMemo<KubeObject, readonly PodTemplate[]>("podTemplates");
const containerCache = new ObjectMemo<PodTemplate, readonly ContainerRef[]>("containers");

function findTemplates(object: KubeObject): PodTemplate[] {
  const kind = String(object.kind);
  const known = TEMPLATE_PATHS[kind];
  const candidates = known !== undefined ? [known] : GENERIC_TEMPLATE_PATHS;
  const templates: PodTemplate[] = [];
  for (const base of candidates) {
    const spec = at(object, [...base, "spec"]);
    if (!isObject(spec)) continue;
    // A Pod's own spec is always a pod spec; in unknown kinds require containers to avoid
    // mistaking an unrelated `spec.template.spec` for one.
    if (known === undefined && !Array.isArray(spec.containers)) continue;
    const metadata = at(object, [...base, "metadata"]);
    templates.push({
      spec: spec as unknown as V1PodSpec,
      metadata: (isObject(metadata) ? metadata : {}) as V1ObjectMeta,
      specPath: [...base, "spec"],
      metadataPath: [...base, "metadata"],
    });
    break;
  }
  return templates;
}

const LISTS: ContainerListName[] = ["initContainers", "containers", "ephemeralContainers"];

/** Every container of a pod template (init, regular, ephemeral), with its path. */
export function containersOf(
  template: PodTemplate,
  lists: readonly ContainerListName[] = LISTS,
): readonly ContainerRef[] {
  if (lists === LISTS) return containerCache.getOrCompute(template, (t) => findContainers(t, LISTS));
  return findContainers(template, lists);
}

function findContainers(template: PodTemplate, lists: readonly ContainerListName[]): ContainerRef[] {
  const refs: ContainerRef[] = [];
  for (const list of lists) {
    const items = (template.spec as unknown as Record<string, unknown>)[list];
    if (!Array.isArray(items)) continue;
    items.forEach((container, index) => {
      if (isObject(container)) {
        refs.push({
          container: container as unknown as V1Container,
          list,
          index,
          path: [...template.specPath, list, index],
        });
      }
    });
  }
  return refs;
}
