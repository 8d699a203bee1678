/**
 * The cluster audit: list what is in the cluster page by page, evaluate it with the same
 * engine as `belay scan` (including the cluster's own ValidatingAdmissionPolicies), keep the
 * findings and drop the objects.
 *
 * Memory: rules relate objects only within one namespace (NetworkPolicy coverage, Services
 * for probes, ServiceAccounts, LimitRanges), so the audit holds one namespace's listed
 * objects at a time, evaluates them and drops them. Cluster-scoped RBAC objects are
 * evaluated page by page. Policies, their bindings and their param objects are kept for the
 * whole run. Findings are kept until the end (they are the output).
 *
 * One rule looks across namespaces: automount-unbound-service-account asks whether any
 * binding grants a service account anything. When it runs, the ClusterRoleBindings and the
 * RoleBindings that name another namespace's service accounts are listed first and kept (only
 * those, usually few), and each namespace is evaluated with them as context: they inform the
 * rule, but their own findings come from their own evaluation, once.
 */
import { evaluate } from "../engine/evaluate.ts";
import { loadPolicySet, type PolicySet } from "../engine/policies.ts";
import { type Finding, type InputError, refKey } from "../findings/finding.ts";
import {
  CLUSTER_KINDS,
  discoverKind,
  type KindSpec,
  type KubeClient,
  listAll,
  listPages,
  NAMESPACE_KIND,
  NAMESPACED_KINDS,
  POLICY_KINDS,
  statusMessage,
} from "../kube/index.ts";
import type { RuleException } from "../policy/exceptions.ts";
import { makeResource } from "../resources/parse.ts";
import type { KubeObject, Resource } from "../resources/types.ts";
import { appError, err, ok, type Result } from "../result.ts";
import type { PssVersion, Rule, RuleMeta } from "../rules/rule.ts";

/** What to audit and how. */
export interface AuditOptions {
  /** Audit only this namespace (cluster-scoped objects are then left out). */
  namespace?: string;
  rules: readonly Rule[];
  pssVersion: PssVersion;
  knownRuleIds: ReadonlySet<string>;
  exceptions?: readonly RuleException[];
  /** Policies and param objects from `--policy` files, evaluated beside the cluster's VAPs. */
  policyResources?: readonly Resource[];
  /** Keep pass and skip findings too (PolicyReports count them). */
  showPassed?: boolean;
  /** Items per list page (default 500). */
  pageSize?: number;
  now?: Date;
  /**
   * Called after the cluster-scoped kinds and after each namespace, so a terminal can show
   * progress. Must not throw.
   */
  onProgress?: (progress: AuditProgress) => void;
}

/** How far an audit has come. */
export interface AuditProgress {
  /** Namespaces evaluated so far, of `namespacesTotal`. */
  namespacesDone: number;
  namespacesTotal: number;
  /** Objects evaluated so far. */
  objects: number;
}

/** What an audit found. */
export interface AuditResult {
  /** The kubeconfig context. */
  context: string;
  /** The API server URL. */
  server: string;
  findings: Finding[];
  /** Objects evaluated. */
  resourceCount: number;
  /** Input problems (an invalid `--policy` file): they make the exit code 2. */
  errors: InputError[];
  /** Kinds that could not be listed, cluster policies that could not be loaded: reported, not fatal. */
  warnings: string[];
  /** Namespaces audited. */
  namespaces: string[];
  /** Whether cluster-scoped objects were audited. */
  clusterScoped: boolean;
  /** UIDs of objects that have findings, by `refKey`. */
  uids: Map<string, string>;
  /** Metadata of the policies evaluated (for SARIF rules and JUnit cases). */
  policyMetas: RuleMeta[];
}

/**
 * Audit the cluster behind `client`. Never throws: an unreachable API server, or a namespace
 * list that fails, is an error result naming the context.
 */
export async function auditCluster(client: KubeClient, options: AuditOptions): Promise<Result<AuditResult>> {
  const where = `context "${client.context}" (${client.server})`;
  const version = await client.send("GET", "/version");
  if (!version.ok) return err(appError("input", version.error.message));
  if (version.value.status === 401)
    return err(
      appError(
        "input",
        `the API server of ${where} rejected the credentials: ${statusMessage(version.value)}`,
      ),
    );

  const warnings: string[] = [];
  const errors: InputError[] = [];
  const pageSize = options.pageSize ?? 500;

  const policies = await loadClusterPolicies(client, options.policyResources ?? [], warnings, errors);

  const namespaces = await namespacesToAudit(client, options.namespace, warnings);
  if (!namespaces.ok) return namespaces;

  const findings: Finding[] = [];
  const uids = new Map<string, string>();
  let resourceCount = 0;
  const evaluateBatch = (resources: Resource[], context: readonly Resource[] = []) => {
    let batch = evaluate(context.length === 0 ? resources : [...resources, ...context], {
      rules: options.rules,
      pssVersion: options.pssVersion,
      knownRuleIds: options.knownRuleIds,
      ...(options.exceptions ? { exceptions: options.exceptions } : {}),
      ...(options.now ? { now: options.now } : {}),
      showPassed: options.showPassed === true,
      ...(policies ? { policies } : {}),
    });
    resourceCount += resources.length;
    if (context.length > 0) {
      const contextKeys = new Set(context.map((r) => refKey(r.ref)));
      batch = batch.filter((f) => !contextKeys.has(refKey(f.resource)));
    }
    if (batch.length === 0) return;
    const flagged = new Set(batch.map((f) => refKey(f.resource)));
    for (const resource of resources) {
      const key = refKey(resource.ref);
      const uid = (resource.object.metadata as { uid?: unknown } | undefined)?.uid;
      if (flagged.has(key) && typeof uid === "string") uids.set(key, uid);
    }
    for (const finding of batch) findings.push(finding);
  };

  const progress = (namespacesDone: number) =>
    options.onProgress?.({
      namespacesDone,
      namespacesTotal: namespaces.value.length,
      objects: resourceCount,
    });
  const bindings = options.rules.some((rule) => rule.meta.id === BINDINGS_RULE)
    ? await crossNamespaceBindings(client, pageSize, warnings)
    : undefined;
  const clusterScoped = options.namespace === undefined;
  if (clusterScoped) {
    for (const kind of CLUSTER_KINDS) {
      for await (const page of listPages(client, kind, { limit: pageSize })) {
        if (!page.ok) {
          if (page.error.reason === "failed") return err(appError("input", page.error.message));
          warnings.push(page.error.message);
          break;
        }
        evaluateBatch(page.value.map((object) => makeResource(object)));
      }
    }
  }
  progress(0);

  const contextFor = (namespace: string): Resource[] =>
    bindings ? [...bindings.cluster, ...(bindings.byAccountNamespace.get(namespace) ?? [])] : [];
  const unserved = new Set<string>();
  /** One kind in one namespace; an error result only for a failure that ends the audit. */
  const listIn = async (kind: KindSpec, namespace: string, into: Resource[]): Promise<Result<void>> => {
    if (unserved.has(kind.kind)) return ok(undefined);
    for await (const page of listPages(client, kind, { namespace, limit: pageSize })) {
      if (!page.ok) {
        if (page.error.reason === "failed") return err(appError("input", page.error.message));
        if (page.error.message.includes("not served")) unserved.add(kind.kind);
        warnings.push(page.error.message);
        return ok(undefined);
      }
      for (const item of page.value) into.push(makeResource(item));
    }
    return ok(undefined);
  };

  let done = 0;
  if (options.namespace !== undefined) {
    for (const namespace of namespaces.value) {
      const batch: Resource[] = [makeResource(namespace.object)];
      const lists = await Promise.all(NAMESPACED_KINDS.map((kind) => listIn(kind, namespace.name, batch)));
      const failed = lists.find((r) => !r.ok);
      if (failed && !failed.ok) return failed;
      evaluateBatch(batch, contextFor(namespace.name));
      progress(++done);
    }
  } else {
    const merged = await mergeByNamespace(
      client,
      namespaces.value,
      pageSize,
      warnings,
      listIn,
      (batch, name, late) => {
        evaluateBatch(batch, contextFor(name));
        if (!late) progress(++done);
      },
    );
    if (!merged.ok) return merged;
  }

  return ok({
    context: client.context,
    server: client.server,
    findings,
    resourceCount,
    errors,
    warnings,
    namespaces: namespaces.value.map((n) => n.name),
    clusterScoped,
    uids,
    policyMetas: policies ? [...policies.metas.values()] : [],
  });
}

/**
 * Whole-cluster listing: every namespaced kind is listed across all namespaces (a few large
 * pages instead of one request per kind and namespace, which is what makes big clusters
 * fast), and the kinds' streams are merged by namespace. The API server returns list items
 * in storage-key order, `namespace/name`, so once every stream has moved past a namespace
 * that namespace is complete: it is evaluated (`evaluateNamespace`) and dropped. Memory is
 * one namespace's objects plus one page per kind. Items of namespaces not being audited
 * (being deleted, created after the namespace list) are skipped. Should a stream ever return
 * an item of a namespace already evaluated, that item is evaluated on its own at the end,
 * with a warning. A kind that may not be listed across namespaces (403) is listed per
 * namespace instead. Never throws.
 */
async function mergeByNamespace(
  client: KubeClient,
  namespaces: readonly { name: string; object: KubeObject }[],
  pageSize: number,
  warnings: string[],
  listIn: (kind: KindSpec, namespace: string, into: Resource[]) => Promise<Result<void>>,
  evaluateNamespace: (batch: Resource[], namespace: string, late: boolean) => void,
): Promise<Result<void>> {
  // Storage keys end the namespace with "/": "a-b/" sorts before "a/", as etcd orders them.
  const keyOf = (namespace: string) => `${namespace}/`;
  const itemKey = (item: KubeObject) =>
    keyOf(String((item.metadata as { namespace?: unknown } | undefined)?.namespace ?? ""));
  const streams = NAMESPACED_KINDS.map((kind) => {
    const pages = listPages(client, kind, { limit: pageSize });
    return {
      kind,
      pages,
      next: pages.next(),
      items: [] as KubeObject[],
      index: 0,
      ended: false,
      perNamespace: false,
    };
  });
  type Stream = (typeof streams)[number];
  /** The stream's next item, fetching (and prefetching) pages as needed; undefined at its end. */
  const head = async (stream: Stream): Promise<Result<KubeObject | undefined>> => {
    while (stream.index >= stream.items.length) {
      if (stream.ended) return ok(undefined);
      const step = await stream.next;
      if (step.done) {
        stream.ended = true;
        return ok(undefined);
      }
      if (!step.value.ok) {
        stream.ended = true;
        const error = step.value.error;
        if (error.reason === "failed") return err(appError("input", error.message));
        if (error.message.includes(": forbidden:") && stream.items.length === 0) stream.perNamespace = true;
        else warnings.push(error.message);
        return ok(undefined);
      }
      stream.items = step.value.value;
      stream.index = 0;
      // One page ahead: the next request runs while this page is evaluated.
      stream.next = stream.pages.next();
    }
    return ok(stream.items[stream.index]);
  };

  const evaluated = new Set<string>();
  const late = new Map<string, Resource[]>();
  const sorted = [...namespaces].sort((a, b) => (keyOf(a.name) < keyOf(b.name) ? -1 : 1));
  for (const namespace of sorted) {
    const key = keyOf(namespace.name);
    const batch: Resource[] = [makeResource(namespace.object)];
    for (const stream of streams) {
      for (;;) {
        const next = await head(stream);
        if (!next.ok) return next;
        const item = next.value;
        if (item === undefined) break;
        const at = itemKey(item);
        if (at > key) break;
        stream.index++;
        if (at === key) batch.push(makeResource(item));
        else if (evaluated.has(at)) {
          const list = late.get(at) ?? [];
          list.push(makeResource(item));
          late.set(at, list);
        }
      }
      if (stream.perNamespace) {
        const listed = await listIn(stream.kind, namespace.name, batch);
        if (!listed.ok) return listed;
      }
    }
    evaluated.add(key);
    evaluateNamespace(batch, namespace.name, false);
  }
  for (const [key, resources] of late) {
    warnings.push(
      `the API server listed ${resources.length} object(s) of namespace "${key.slice(0, -1)}" out of order; they were evaluated without the namespace's other objects`,
    );
    evaluateNamespace(resources, key.slice(0, -1), true);
  }
  return ok(undefined);
}

/** The rule that needs bindings from outside the namespace it evaluates. */
const BINDINGS_RULE = "automount-unbound-service-account";

/** ClusterRoleBindings, and RoleBindings listed across all namespaces. */
const RBAC_BINDING_KINDS: readonly KindSpec[] = [...CLUSTER_KINDS, ...NAMESPACED_KINDS].filter(
  (kind) => kind.kind === "ClusterRoleBinding" || kind.kind === "RoleBinding",
);

/**
 * The bindings that grant service accounts across namespaces: ClusterRoleBindings with a
 * ServiceAccount or `system:serviceaccounts:NS` group subject, and RoleBindings naming a service
 * account of another namespace (indexed by that namespace). A kind that cannot be listed is
 * a warning: the rule then sees fewer bindings and may report accounts they bind.
 */
async function crossNamespaceBindings(
  client: KubeClient,
  pageSize: number,
  warnings: string[],
): Promise<{ cluster: Resource[]; byAccountNamespace: Map<string, Resource[]> }> {
  const cluster: Resource[] = [];
  const byAccountNamespace = new Map<string, Resource[]>();
  const subjectsOf = (object: KubeObject) =>
    (Array.isArray(object.subjects) ? object.subjects : []) as {
      kind?: unknown;
      name?: unknown;
      namespace?: unknown;
    }[];
  for (const kind of RBAC_BINDING_KINDS) {
    for await (const page of listPages(client, kind, { limit: pageSize })) {
      if (!page.ok) {
        warnings.push(`${page.error.message}; ${BINDINGS_RULE} sees only the bindings it can list`);
        break;
      }
      for (const object of page.value) {
        const subjects = subjectsOf(object);
        if (!kind.namespaced) {
          const relevant = subjects.some(
            (s) =>
              s.kind === "ServiceAccount" ||
              (s.kind === "Group" &&
                typeof s.name === "string" &&
                s.name.startsWith("system:serviceaccounts:")),
          );
          if (relevant) cluster.push(makeResource(object));
          continue;
        }
        const own = (object.metadata as { namespace?: unknown } | undefined)?.namespace;
        const foreign = new Set(
          subjects
            .filter(
              (s) => s.kind === "ServiceAccount" && typeof s.namespace === "string" && s.namespace !== own,
            )
            .map((s) => s.namespace as string),
        );
        if (foreign.size === 0) continue;
        const resource = makeResource(object);
        for (const namespace of foreign) {
          const list = byAccountNamespace.get(namespace) ?? [];
          list.push(resource);
          byAccountNamespace.set(namespace, list);
        }
      }
    }
  }
  return { cluster, byAccountNamespace };
}

/** The namespaces to audit, with their objects (or the object the API server would have). */
async function namespacesToAudit(
  client: KubeClient,
  only: string | undefined,
  warnings: string[],
): Promise<Result<{ name: string; object: KubeObject }[]>> {
  if (only !== undefined) {
    const sent = await client.send("GET", `/api/v1/namespaces/${encodeURIComponent(only)}`);
    if (!sent.ok) return err(appError("input", sent.error.message));
    if (sent.value.status === 404)
      return err(appError("input", `namespace "${only}" does not exist in context "${client.context}"`));
    if (sent.value.status === 200 && sent.value.body !== null && typeof sent.value.body === "object")
      return ok([
        { name: only, object: { apiVersion: "v1", kind: "Namespace", ...(sent.value.body as KubeObject) } },
      ]);
    warnings.push(`cannot read namespace "${only}": ${statusMessage(sent.value)}; its labels are unknown`);
    return ok([
      {
        name: only,
        object: {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: only, labels: { "kubernetes.io/metadata.name": only } },
        },
      },
    ]);
  }
  const listed = await listAll(client, NAMESPACE_KIND);
  if (!listed.ok)
    return err(
      appError(
        "input",
        `${listed.error.message} (context "${client.context}"); audit one namespace with -n NAMESPACE instead`,
      ),
    );
  return ok(
    listed.value
      .map((object) => ({
        name: String((object.metadata as { name?: unknown } | undefined)?.name ?? ""),
        object,
      }))
      .filter((n) => n.name !== "")
      .filter((n) => {
        // A namespace being deleted accepts no new objects (no report) and is going away.
        const terminating = (n.object.status as { phase?: unknown } | undefined)?.phase === "Terminating";
        if (terminating) warnings.push(`namespace "${n.name}" is being deleted; not audited`);
        return !terminating;
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  );
}

/**
 * The cluster's ValidatingAdmissionPolicies and bindings, with their param objects, loaded
 * together with the `--policy` files. Problems of the cluster's own policies are warnings
 * (the user did not write them here); problems of `--policy` files are input errors.
 */
export async function loadClusterPolicies(
  client: KubeClient,
  fileResources: readonly Resource[],
  warnings: string[],
  errors: InputError[],
): Promise<PolicySet | undefined> {
  const fromCluster: Resource[] = [];
  for (const kind of POLICY_KINDS) {
    const listed = await listAll(client, kind);
    if (!listed.ok) {
      warnings.push(`${listed.error.message}; the cluster's policies of this kind are not evaluated`);
      continue;
    }
    for (const object of listed.value) fromCluster.push(makeResource(object));
  }
  const paramKinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const resource of [...fromCluster, ...fileResources]) {
    if (resource.ref.kind !== "ValidatingAdmissionPolicy") continue;
    const paramKind = (
      resource.object.spec as { paramKind?: { apiVersion?: unknown; kind?: unknown } } | undefined
    )?.paramKind;
    if (typeof paramKind?.apiVersion === "string" && typeof paramKind.kind === "string")
      paramKinds.set(`${paramKind.apiVersion}/${paramKind.kind}`, {
        apiVersion: paramKind.apiVersion,
        kind: paramKind.kind,
      });
  }
  const params: Resource[] = [];
  for (const { apiVersion, kind } of paramKinds.values()) {
    const spec: Result<KindSpec, { message: string }> =
      apiVersion === "v1" && kind === "ConfigMap"
        ? { ok: true, value: { kind, group: "", version: "v1", resource: "configmaps", namespaced: true } }
        : await discoverKind(client, apiVersion, kind);
    if (!spec.ok) {
      warnings.push(`param kind ${apiVersion} ${kind}: ${spec.error.message}`);
      continue;
    }
    const listed = await listAll(client, spec.value);
    if (!listed.ok) {
      warnings.push(`${listed.error.message}; policies with these params report parameter errors`);
      continue;
    }
    for (const object of listed.value) params.push(makeResource(object));
  }
  if (fromCluster.length === 0 && fileResources.length === 0) return undefined;
  const loaded = loadPolicySet([...fileResources, ...fromCluster, ...params]);
  for (const error of loaded.errors) {
    if (error.file === "<policy>") warnings.push(`cluster policy: ${error.message}`);
    else errors.push(error);
  }
  return loaded.set;
}
