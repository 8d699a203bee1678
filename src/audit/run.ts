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
}

/** What an audit found. */
export interface AuditResult {
  /** The kubeconfig context. */
  context: string;
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
  const evaluateBatch = (resources: Resource[]) => {
    const batch = evaluate(resources, {
      rules: options.rules,
      pssVersion: options.pssVersion,
      knownRuleIds: options.knownRuleIds,
      ...(options.exceptions ? { exceptions: options.exceptions } : {}),
      ...(options.now ? { now: options.now } : {}),
      showPassed: options.showPassed === true,
      ...(policies ? { policies } : {}),
    });
    resourceCount += resources.length;
    if (batch.length === 0) return;
    const flagged = new Set(batch.map((f) => refKey(f.resource)));
    for (const resource of resources) {
      const key = refKey(resource.ref);
      const uid = (resource.object.metadata as { uid?: unknown } | undefined)?.uid;
      if (flagged.has(key) && typeof uid === "string") uids.set(key, uid);
    }
    for (const finding of batch) findings.push(finding);
  };

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

  const unserved = new Set<string>();
  for (const namespace of namespaces.value) {
    const batch: Resource[] = [makeResource(namespace.object)];
    const lists = await Promise.all(
      NAMESPACED_KINDS.filter((kind) => !unserved.has(kind.kind)).map(async (kind) => {
        const items: KubeObject[] = [];
        for await (const page of listPages(client, kind, { namespace: namespace.name, limit: pageSize })) {
          if (!page.ok) return { kind, items, error: page.error };
          items.push(...page.value);
        }
        return { kind, items, error: undefined };
      }),
    );
    for (const { kind, items, error } of lists) {
      if (error) {
        if (error.reason === "failed") return err(appError("input", error.message));
        if (error.message.includes("not served")) unserved.add(kind.kind);
        warnings.push(error.message);
        continue;
      }
      for (const item of items) batch.push(makeResource(item));
    }
    evaluateBatch(batch);
  }

  return ok({
    context: client.context,
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
async function loadClusterPolicies(
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
