/**
 * Paged listing of the kinds belay audits. Lists stream page by page (`limit` +
 * `continue`), so a caller can evaluate and drop a page before the next one arrives. List
 * items come without `apiVersion` and `kind`; they are set here. Secrets are never listed.
 */
import type { KubeObject } from "../resources/types.ts";
import { type AppError, appError, err, ok, type Result } from "../result.ts";
import { type KubeClient, statusMessage } from "./client.ts";

/** A kind belay lists: where it is served and whether it lives in a namespace. */
export interface KindSpec {
  kind: string;
  /** `""` for the core group. */
  group: string;
  version: string;
  /** Plural resource name in the URL. */
  resource: string;
  namespaced: boolean;
}

function spec(kind: string, group: string, version: string, resource: string, namespaced: boolean): KindSpec {
  return { kind, group, version, resource, namespaced };
}

/** Cluster-scoped kinds the audit evaluates (Namespaces are evaluated with their namespace). */
export const CLUSTER_KINDS: readonly KindSpec[] = [
  spec("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", false),
  spec("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", false),
];

/** The Namespace kind. */
export const NAMESPACE_KIND: KindSpec = spec("Namespace", "", "v1", "namespaces", false);

/** ValidatingAdmissionPolicies and their bindings: evaluated as policies, not audited as objects. */
export const POLICY_KINDS: readonly KindSpec[] = [
  spec(
    "ValidatingAdmissionPolicy",
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicies",
    false,
  ),
  spec(
    "ValidatingAdmissionPolicyBinding",
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicybindings",
    false,
  ),
];

/**
 * Namespaced kinds the audit evaluates, per namespace. LimitRanges are listed because rules
 * read their defaults. Secrets are deliberately absent: no rule needs them.
 */
export const NAMESPACED_KINDS: readonly KindSpec[] = [
  spec("Pod", "", "v1", "pods", true),
  spec("ReplicationController", "", "v1", "replicationcontrollers", true),
  spec("Service", "", "v1", "services", true),
  spec("ConfigMap", "", "v1", "configmaps", true),
  spec("ServiceAccount", "", "v1", "serviceaccounts", true),
  spec("LimitRange", "", "v1", "limitranges", true),
  spec("Deployment", "apps", "v1", "deployments", true),
  spec("ReplicaSet", "apps", "v1", "replicasets", true),
  spec("StatefulSet", "apps", "v1", "statefulsets", true),
  spec("DaemonSet", "apps", "v1", "daemonsets", true),
  spec("Job", "batch", "v1", "jobs", true),
  spec("CronJob", "batch", "v1", "cronjobs", true),
  spec("Ingress", "networking.k8s.io", "v1", "ingresses", true),
  spec("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", true),
  spec("Role", "rbac.authorization.k8s.io", "v1", "roles", true),
  spec("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", true),
];

/** `group/version` or `version` for the core group. */
export function apiVersionOf(kind: KindSpec): string {
  return kind.group === "" ? kind.version : `${kind.group}/${kind.version}`;
}

/** The collection path: `/api/v1/namespaces/NS/pods`, `/apis/apps/v1/deployments`. */
export function collectionPath(kind: KindSpec, namespace?: string): string {
  const base = kind.group === "" ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  return namespace !== undefined && kind.namespaced
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${kind.resource}`
    : `${base}/${kind.resource}`;
}

/**
 * Why a list failed: `unavailable` (the API server does not serve the kind, or the user may
 * not list it — callers warn and go on) or `failed` (anything else, including an unreachable
 * server).
 */
export interface ListError {
  reason: "unavailable" | "failed";
  message: string;
}

/** Options of {@link listPages}. */
export interface ListOptions {
  namespace?: string;
  /** Items per page (default 500). */
  limit?: number;
}

/**
 * List `kind` page by page. Yields each page's items (with `apiVersion` and `kind` set) as an
 * ok result; a failure is yielded once as an error result and ends the iteration. Never throws.
 *
 * @example for await (const page of listPages(client, POD)) if (page.ok) use(page.value)
 */
export async function* listPages(
  client: KubeClient,
  kind: KindSpec,
  options: ListOptions = {},
): AsyncGenerator<Result<KubeObject[], ListError>> {
  const limit = options.limit ?? 500;
  const path = collectionPath(kind, options.namespace);
  const where = `${kind.resource}.${kind.group === "" ? "" : `${kind.group}/`}${kind.version}${options.namespace !== undefined && kind.namespaced ? ` in namespace "${options.namespace}"` : ""}`;
  let token: string | undefined;
  do {
    const query = `?limit=${limit}${token ? `&continue=${encodeURIComponent(token)}` : ""}`;
    const sent = await client.send("GET", `${path}${query}`);
    if (!sent.ok) {
      yield err({ reason: "failed", message: sent.error.message });
      return;
    }
    const { status, body } = sent.value;
    if (status === 404 || status === 403 || status === 401) {
      const why =
        status === 404 ? "not served by this API server" : status === 403 ? "forbidden" : "unauthorized";
      yield err({
        reason: status === 401 ? "failed" : "unavailable",
        message: `cannot list ${where}: ${why}: ${statusMessage(sent.value)}`,
      });
      return;
    }
    if (status < 200 || status >= 300 || body === null || typeof body !== "object") {
      yield err({ reason: "failed", message: `cannot list ${where}: ${statusMessage(sent.value)}` });
      return;
    }
    const list = body as { items?: unknown; metadata?: { continue?: unknown } };
    const apiVersion = apiVersionOf(kind);
    const items = (Array.isArray(list.items) ? list.items : [])
      .filter((item): item is KubeObject => item !== null && typeof item === "object")
      .map((item) => ({ apiVersion, kind: kind.kind, ...item }));
    yield ok(items);
    token =
      typeof list.metadata?.continue === "string" && list.metadata.continue !== ""
        ? list.metadata.continue
        : undefined;
  } while (token);
}

/** Every item of `kind` (all pages); for small kinds such as policies and namespaces. Never throws. */
export async function listAll(
  client: KubeClient,
  kind: KindSpec,
  options: ListOptions = {},
): Promise<Result<KubeObject[], ListError>> {
  const items: KubeObject[] = [];
  for await (const page of listPages(client, kind, options)) {
    if (!page.ok) return page;
    items.push(...page.value);
  }
  return ok(items);
}

/**
 * Resolve `apiVersion` + `kind` (e.g. a VAP's paramKind) to a {@link KindSpec} through the
 * API server's discovery document. Never throws.
 */
export async function discoverKind(
  client: KubeClient,
  apiVersion: string,
  kind: string,
): Promise<Result<KindSpec, ListError>> {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/", 2) : ["", apiVersion];
  const path = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  const sent = await client.send("GET", path);
  if (!sent.ok) return err({ reason: "failed", message: sent.error.message });
  if (sent.value.status !== 200)
    return err({
      reason: "unavailable",
      message: `cannot discover ${apiVersion}: ${statusMessage(sent.value)}`,
    });
  const resources = (sent.value.body as { resources?: unknown }).resources;
  for (const r of Array.isArray(resources) ? resources : []) {
    const entry = r as { name?: unknown; kind?: unknown; namespaced?: unknown };
    if (entry.kind === kind && typeof entry.name === "string" && !entry.name.includes("/"))
      return ok(spec(kind, group ?? "", version ?? "", entry.name, entry.namespaced === true));
  }
  return err({ reason: "unavailable", message: `${apiVersion} ${kind} is not served by this API server` });
}

/** A ListError as an AppError (code `input`), for boundaries that report AppErrors. */
export function listErrorToAppError(error: ListError): AppError {
  return appError("input", error.message);
}
