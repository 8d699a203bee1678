/**
 * A deterministic cluster corpus for the audit scale test and `npm run bench:audit`:
 * namespaces full of ConfigMaps, ServiceAccounts, paused Deployments, Pods, Roles,
 * RoleBindings and NetworkPolicies, a known fraction of them violating one of
 * {@link SEED_RULES}, and the exact set of findings (rule id + object) an audit with those
 * rules must report. Objects are created with bounded concurrency; nothing here is random.
 *
 * Violations (object index `i` within its namespace, namespace index `n`):
 * - Namespace: `n % 10 == 3` has no Pod Security label (namespace-pss-label-missing),
 *   `n % 10 == 7` enforces `privileged` (namespace-pss-privileged), the others `baseline`.
 * - Deployment: `i % 7 == 0` privileged container (pss-privileged), `i % 7 == 1`
 *   hostNetwork (pss-host-namespaces). Pod Security admission only warns for controllers,
 *   so these exist in every namespace; paused, they never create ReplicaSets.
 * - Pod: `i % 5 == 0` image `:latest` (image-latest-tag; baseline admits it).
 * - Role: `i % 3 == 0` wildcard rule (rbac-wildcard).
 * - ClusterRole (`<prefix>-cr-<k>`): even `k` wildcard (rbac-wildcard).
 */
import type { RawClient } from "./pss-support.ts";

/** The rules an audit of the corpus runs: exactly these produce the expected findings. */
export const SEED_RULES = [
  "namespace-pss-label-missing",
  "namespace-pss-privileged",
  "pss-privileged",
  "pss-host-namespaces",
  "image-latest-tag",
  "rbac-wildcard",
] as const;

/** The mix of one namespace: 100 objects. */
export const PER_NAMESPACE = {
  configmaps: 40,
  deployments: 20,
  pods: 15,
  serviceaccounts: 10,
  roles: 5,
  rolebindings: 5,
  networkpolicies: 5,
} as const;

/** Objects of one namespace, including the Namespace itself. */
export const OBJECTS_PER_NAMESPACE = Object.values(PER_NAMESPACE).reduce((a, b) => a + b, 0) + 1;

/** One object to create: where to POST it and what. */
export interface SeedObject {
  path: string;
  body: Record<string, unknown>;
}

/** The name of namespace `n` of a corpus. */
export function seedNamespace(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(3, "0")}`;
}

const image = (tag: string) => `registry.example/app:${tag}`;

function namespaceLabels(n: number): Record<string, string> {
  if (n % 10 === 3) return {};
  return { "pod-security.kubernetes.io/enforce": n % 10 === 7 ? "privileged" : "baseline" };
}

/** The Namespace objects of namespaces `from` … `to - 1`. */
export function seedNamespaces(prefix: string, from: number, to: number): SeedObject[] {
  const out: SeedObject[] = [];
  for (let n = from; n < to; n++)
    out.push({
      path: "/api/v1/namespaces",
      body: { metadata: { name: seedNamespace(prefix, n), labels: namespaceLabels(n) } },
    });
  return out;
}

/** The namespaced objects of namespace `n` (ServiceAccounts first: pods may use them). */
export function seedNamespaceObjects(prefix: string, n: number): SeedObject[] {
  const ns = seedNamespace(prefix, n);
  const core = `/api/v1/namespaces/${ns}`;
  const apps = `/apis/apps/v1/namespaces/${ns}`;
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}`;
  const net = `/apis/networking.k8s.io/v1/namespaces/${ns}`;
  const out: SeedObject[] = [];
  for (let i = 0; i < PER_NAMESPACE.serviceaccounts; i++)
    out.push({
      path: `${core}/serviceaccounts`,
      body: { metadata: { name: `sa-${i}` }, automountServiceAccountToken: false },
    });
  for (let i = 0; i < PER_NAMESPACE.configmaps; i++)
    out.push({
      path: `${core}/configmaps`,
      body: {
        metadata: { name: `cm-${i}`, labels: { app: `app-${i % 10}` } },
        data: { "app.conf": `n=${i}` },
      },
    });
  for (let i = 0; i < PER_NAMESPACE.deployments; i++) {
    const container: Record<string, unknown> = { name: "app", image: image("1.0") };
    if (i % 7 === 0) container.securityContext = { privileged: true };
    out.push({
      path: `${apps}/deployments`,
      body: {
        metadata: { name: `deploy-${i}` },
        spec: {
          paused: true,
          replicas: 1,
          selector: { matchLabels: { app: `deploy-${i}` } },
          template: {
            metadata: { labels: { app: `deploy-${i}` } },
            spec: { ...(i % 7 === 1 ? { hostNetwork: true } : {}), containers: [container] },
          },
        },
      },
    });
  }
  for (let i = 0; i < PER_NAMESPACE.pods; i++)
    out.push({
      path: `${core}/pods`,
      body: {
        metadata: { name: `pod-${i}`, labels: { app: `pod-${i}` } },
        spec: {
          serviceAccountName: `sa-${i % PER_NAMESPACE.serviceaccounts}`,
          containers: [{ name: "app", image: image(i % 5 === 0 ? "latest" : "1.0") }],
        },
      },
    });
  for (let i = 0; i < PER_NAMESPACE.roles; i++)
    out.push({
      path: `${rbac}/roles`,
      body: {
        metadata: { name: `role-${i}` },
        rules:
          i % 3 === 0
            ? [{ apiGroups: [""], resources: ["configmaps"], verbs: ["*"] }]
            : [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    });
  for (let i = 0; i < PER_NAMESPACE.rolebindings; i++)
    out.push({
      path: `${rbac}/rolebindings`,
      body: {
        metadata: { name: `rb-${i}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `role-${i}` },
        subjects: [{ kind: "ServiceAccount", name: `sa-${i}`, namespace: ns }],
      },
    });
  for (let i = 0; i < PER_NAMESPACE.networkpolicies; i++)
    out.push({
      path: `${net}/networkpolicies`,
      body: {
        metadata: { name: `np-${i}` },
        spec: {
          podSelector: { matchLabels: { app: `pod-${i}` } },
          policyTypes: ["Ingress"],
          ingress: [{ from: [{ podSelector: { matchLabels: { app: `deploy-${i}` } } }] }],
        },
      },
    });
  return out;
}

/** ClusterRoles `<prefix>-cr-0` … `<prefix>-cr-(count-1)`. */
export function seedClusterRoles(prefix: string, count: number): SeedObject[] {
  return Array.from({ length: count }, (_, k) => ({
    path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    body: {
      metadata: { name: `${prefix}-cr-${k}` },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: k % 2 === 0 ? ["*"] : ["get"] }],
    },
  }));
}

/**
 * The findings an audit with {@link SEED_RULES} reports for namespaces `0 … namespaces - 1`
 * and `clusterRoles` ClusterRoles, as `ruleId Kind namespace/name` strings (one per object
 * and rule, however many fields the rule reports), sorted.
 */
export function expectedFindings(prefix: string, namespaces: number, clusterRoles: number): string[] {
  const out: string[] = [];
  for (let n = 0; n < namespaces; n++) {
    const ns = seedNamespace(prefix, n);
    if (n % 10 === 3) out.push(`namespace-pss-label-missing Namespace /${ns}`);
    if (n % 10 === 7) out.push(`namespace-pss-privileged Namespace /${ns}`);
    for (let i = 0; i < PER_NAMESPACE.deployments; i++) {
      if (i % 7 === 0) out.push(`pss-privileged Deployment ${ns}/deploy-${i}`);
      if (i % 7 === 1) out.push(`pss-host-namespaces Deployment ${ns}/deploy-${i}`);
    }
    for (let i = 0; i < PER_NAMESPACE.pods; i += 5) out.push(`image-latest-tag Pod ${ns}/pod-${i}`);
    for (let i = 0; i < PER_NAMESPACE.roles; i += 3) out.push(`rbac-wildcard Role ${ns}/role-${i}`);
  }
  for (let k = 0; k < clusterRoles; k += 2) out.push(`rbac-wildcard ClusterRole /${prefix}-cr-${k}`);
  return out.sort();
}

/**
 * Create `objects` through `client` with at most `concurrency` requests in flight. Throws on
 * the first failure (409 AlreadyExists is fine: seeding can resume).
 */
export async function createAll(
  client: RawClient,
  objects: readonly SeedObject[],
  concurrency = 16,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const object = objects[next++] as SeedObject;
      for (let attempt = 0; ; attempt++) {
        const res = await client.send("POST", object.path, JSON.stringify(object.body));
        if (res.status < 300 || res.status === 409) break;
        // A namespace's default ServiceAccount may not exist yet (pods), or the server is busy.
        if ((res.status === 403 || res.status === 429 || res.status >= 500) && attempt < 50) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        throw new Error(
          `POST ${object.path} ${String(object.body.metadata && (object.body.metadata as { name: string }).name)}: ${res.status} ${res.body}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, worker));
}

/**
 * Seed namespaces `from … to - 1` (and their objects) with bounded concurrency, namespaces
 * first. Returns how many objects were created.
 */
export async function seedRange(
  client: RawClient,
  prefix: string,
  from: number,
  to: number,
  concurrency = 16,
): Promise<number> {
  const namespaces = seedNamespaces(prefix, from, to);
  await createAll(client, namespaces, concurrency);
  let count = namespaces.length;
  // Namespace by namespace in chunks, so ServiceAccounts exist before the pods that use them.
  const CHUNK = 5;
  for (let n = from; n < to; n += CHUNK) {
    const objects: SeedObject[] = [];
    for (let m = n; m < Math.min(to, n + CHUNK); m++) objects.push(...seedNamespaceObjects(prefix, m));
    const accounts = objects.filter((o) => o.path.endsWith("/serviceaccounts"));
    await createAll(client, accounts, concurrency);
    await createAll(
      client,
      objects.filter((o) => !o.path.endsWith("/serviceaccounts")),
      concurrency,
    );
    count += objects.length;
  }
  return count;
}

/** Install belay's wgpolicyk8s.io report CRDs (deploy/crds/) and wait until they are served. */
export async function installReportCrds(client: RawClient): Promise<void> {
  const { readFile } = await import("node:fs/promises");
  const { load } = await import("js-yaml");
  for (const file of ["wgpolicyk8s.io_policyreports.yaml", "wgpolicyk8s.io_clusterpolicyreports.yaml"]) {
    const crd = load(await readFile(new URL(`../../deploy/crds/${file}`, import.meta.url), "utf8")) as {
      metadata: { name: string };
    };
    const created = await client.send(
      "POST",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      JSON.stringify(crd),
    );
    if (created.status >= 300 && created.status !== 409)
      throw new Error(`cannot create CRD ${crd.metadata.name}: ${created.status} ${created.body}`);
    for (const deadline = Date.now() + 30_000; ; ) {
      const got = await client.send(
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      );
      const conditions =
        (JSON.parse(got.body) as { status?: { conditions?: { type: string; status: string }[] } }).status
          ?.conditions ?? [];
      if (conditions.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`${crd.metadata.name} not established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Established is not yet usable: until the resource's storage has initialised, the API
  // server answers 429 "storage is (re)initializing" to reads and writes.
  for (const path of [
    "/apis/wgpolicyk8s.io/v1alpha2/policyreports?limit=1",
    "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports?limit=1",
  ]) {
    for (const deadline = Date.now() + 30_000; ; ) {
      const res = await client.send("GET", path);
      if (res.status === 200) break;
      if (Date.now() > deadline) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
