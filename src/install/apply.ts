/**
 * Applying the installation through the API server with server-side apply (field manager
 * `belay`): every object is PATCHed as `application/apply-patch+yaml`, so a second apply of
 * the same objects changes nothing and fields other managers own are left alone. Edge module.
 */
import { type KubeClient, statusMessage } from "../kube/client.ts";
import type { KubeObject } from "../resources/types.ts";
import { appError, err, ok, type Result } from "../result.ts";

/** Where each kind `belay install` emits is served. */
const RESOURCES: Readonly<Record<string, { plural: string; namespaced: boolean }>> = {
  CustomResourceDefinition: { plural: "customresourcedefinitions", namespaced: false },
  Namespace: { plural: "namespaces", namespaced: false },
  ServiceAccount: { plural: "serviceaccounts", namespaced: true },
  ClusterRole: { plural: "clusterroles", namespaced: false },
  ClusterRoleBinding: { plural: "clusterrolebindings", namespaced: false },
  Role: { plural: "roles", namespaced: true },
  RoleBinding: { plural: "rolebindings", namespaced: true },
  ConfigMap: { plural: "configmaps", namespaced: true },
  Secret: { plural: "secrets", namespaced: true },
  Service: { plural: "services", namespaced: true },
  NetworkPolicy: { plural: "networkpolicies", namespaced: true },
  Deployment: { plural: "deployments", namespaced: true },
  PodDisruptionBudget: { plural: "poddisruptionbudgets", namespaced: true },
  ValidatingWebhookConfiguration: { plural: "validatingwebhookconfigurations", namespaced: false },
};

interface Meta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
}

function metaOf(object: unknown): Meta {
  const m = ((object as KubeObject | undefined)?.metadata ?? {}) as Record<string, unknown>;
  return {
    name: String(m.name ?? ""),
    ...(typeof m.namespace === "string" ? { namespace: m.namespace } : {}),
    ...(typeof m.resourceVersion === "string" ? { resourceVersion: m.resourceVersion } : {}),
  };
}

/** The URL of one object: `/apis/apps/v1/namespaces/ns/deployments/name`. Throws for kinds belay does not emit (a bug). */
export function objectPath(object: KubeObject): string {
  const kind = String(object.kind);
  const where = RESOURCES[kind];
  if (where === undefined) throw new Error(`objectPath: belay install does not emit ${kind}`);
  const apiVersion = String(object.apiVersion);
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const { name, namespace } = metaOf(object);
  const ns = where.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? "")}` : "";
  return `${base}${ns}/${where.plural}/${encodeURIComponent(name)}`;
}

/** `deployment.apps/belay-webhook`, as kubectl names objects. */
export function displayName(object: KubeObject): string {
  const apiVersion = String(object.apiVersion);
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  const kind = String(object.kind).toLowerCase();
  return `${kind}${group === "" ? "" : `.${group}`}/${metaOf(object).name}`;
}

/** What one apply did. */
export interface ApplyOutcome {
  object: string;
  action: "created" | "configured" | "unchanged";
  resourceVersion: string;
}

/**
 * Server-side apply `object` (field manager `belay`, conflicts forced: belay owns what it
 * installs). Never throws; an API error names the object and the API server's message.
 */
export async function applyObject(client: KubeClient, object: KubeObject): Promise<Result<ApplyOutcome>> {
  const path = objectPath(object);
  const name = displayName(object);
  const before = await client.send("GET", path);
  if (!before.ok) return before;
  const existed = before.value.status === 200;
  if (!existed && before.value.status !== 404)
    return err(appError("input", `cannot read ${name}: ${statusMessage(before.value)}`));
  const applied = await client.send(
    "PATCH",
    `${path}?fieldManager=belay&force=true`,
    object,
    "application/apply-patch+yaml",
  );
  if (!applied.ok) return applied;
  if (applied.value.status >= 300)
    return err(appError("input", `cannot apply ${name}: ${statusMessage(applied.value)}`));
  const after = metaOf(applied.value.body).resourceVersion ?? "";
  const action = !existed
    ? "created"
    : metaOf(before.value.body).resourceVersion === after
      ? "unchanged"
      : "configured";
  return ok({ object: name, action, resourceVersion: after });
}

/** The Secret `namespace/name` as the API server returns it, or undefined when absent. Never throws. */
export async function readSecret(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Result<KubeObject | undefined>> {
  const got = await client.send(
    "GET",
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
  );
  if (!got.ok) return got;
  if (got.value.status === 404) return ok(undefined);
  if (got.value.status !== 200)
    return err(appError("input", `cannot read secret/${name} in ${namespace}: ${statusMessage(got.value)}`));
  return ok(got.value.body as KubeObject);
}

/**
 * Wait until the Deployment `namespace/name` has at least one ready replica of its current
 * generation, polling every `intervalMs` until `timeoutMs`. Resolves true when ready. Never throws.
 */
export async function waitForReady(
  client: KubeClient,
  namespace: string,
  name: string,
  timeoutMs: number,
  intervalMs = 2000,
): Promise<boolean> {
  const path = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${encodeURIComponent(name)}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await client.send("GET", path);
    if (got.ok && got.value.status === 200) {
      const d = got.value.body as {
        metadata?: { generation?: number };
        status?: { observedGeneration?: number; readyReplicas?: number };
      };
      if (
        (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
        (d.status?.readyReplicas ?? 0) >= 1
      )
        return true;
    }
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}
