/**
 * Safe defaults for `/mutate` (opt-in): a JSON Patch (RFC 6902) that sets, where unset,
 *
 * - `securityContext.allowPrivilegeEscalation: false` on every container and init container,
 *   except containers that are privileged or add CAP_SYS_ADMIN (the API server rejects
 *   `false` together with either: pkg/apis/core/validation `validateContainerSecurityContext`);
 * - the pod-level `securityContext.seccompProfile: {type: RuntimeDefault}`, unless the pod
 *   sets a seccomp annotation (the deprecated form the API server still syncs to the field).
 *
 * Never changes a value the user set (an explicit `true` or `Unconfined` stays), never
 * touches Windows pods (`spec.os.name: windows`, where both fields are forbidden), and
 * `runAsNonRoot` is left alone: whether an image runs as root is not knowable here.
 * Pure: no I/O.
 */
import type { KubeObject } from "../resources/types.ts";

/** One RFC 6902 operation; belay only adds. */
export interface PatchOperation {
  op: "add";
  path: string;
  value: unknown;
}

/** Where the pod spec sits in each kind belay mutates. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ["spec"],
  PodTemplate: ["template", "spec"],
  Deployment: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  ReplicationController: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

/** Kinds `/mutate` changes. */
export const MUTATED_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

const SECCOMP_ANNOTATION_POD = "seccomp.security.alpha.kubernetes.io/pod";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON Pointer escaping (RFC 6901). */
function pointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/** Set `key: value` in the map at `at` (a JSON pointer path), creating the map when absent. */
function setDefault(
  ops: PatchOperation[],
  at: readonly (string | number)[],
  map: unknown,
  key: string,
  value: unknown,
): void {
  if (!isRecord(map)) ops.push({ op: "add", path: pointer(at), value: { [key]: value } });
  else if (map[key] === undefined || map[key] === null)
    ops.push({ op: "add", path: pointer([...at, key]), value });
}

/**
 * The patch that applies belay's safe defaults to `object`, or `[]` when nothing is missing,
 * the kind is not a pod or workload, or its pod spec is malformed. Never throws.
 *
 * @example safeDefaultsPatch(pod) // [{op: "add", path: "/spec/securityContext/seccompProfile", value: {type: "RuntimeDefault"}}, ...]
 */
export function safeDefaultsPatch(object: KubeObject): PatchOperation[] {
  const kind = typeof object.kind === "string" ? object.kind : "";
  const path = POD_SPEC_PATHS[kind];
  if (path === undefined) return [];
  let node: unknown = object;
  let template: unknown = object;
  for (const segment of path) {
    if (!isRecord(node)) return [];
    if (segment === "spec") template = node;
    node = node[segment];
  }
  const spec = node;
  if (!isRecord(spec)) return [];
  if (isRecord(spec.os) && spec.os.name === "windows") return [];
  const ops: PatchOperation[] = [];

  const metadata = isRecord(template) && isRecord(template.metadata) ? template.metadata : undefined;
  const annotations = isRecord(metadata?.annotations) ? metadata.annotations : {};
  const podContext = spec.securityContext;
  const hasSeccomp =
    isRecord(podContext) && podContext.seccompProfile !== undefined && podContext.seccompProfile !== null;
  if (!hasSeccomp && annotations[SECCOMP_ANNOTATION_POD] === undefined)
    setDefault(ops, [...path, "securityContext"], podContext, "seccompProfile", { type: "RuntimeDefault" });

  for (const list of ["initContainers", "containers"] as const) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((container: unknown, index) => {
      if (!isRecord(container)) return;
      const context = container.securityContext;
      if (isRecord(context)) {
        if (context.privileged === true) return;
        const add = isRecord(context.capabilities) ? context.capabilities.add : undefined;
        if (Array.isArray(add) && add.some((c) => c === "SYS_ADMIN" || c === "CAP_SYS_ADMIN")) return;
      }
      setDefault(ops, [...path, list, index, "securityContext"], context, "allowPrivilegeEscalation", false);
    });
  }
  return ops;
}

/** The field paths a patch sets, for the decision log (`spec.containers[0].securityContext.allowPrivilegeEscalation`). */
export function patchedFields(ops: readonly PatchOperation[]): string[] {
  return ops.map((op) => {
    const segments = op.path
      .split("/")
      .slice(1)
      .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
    const base = segments.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : `${i === 0 ? "" : "."}${s}`)).join("");
    return isRecord(op.value) && !("type" in op.value) ? `${base}.${Object.keys(op.value)[0]}` : base;
  });
}
