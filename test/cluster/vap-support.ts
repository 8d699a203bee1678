/**
 * Pieces of the ValidatingAdmissionPolicy fidelity suite (vap-fidelity.test.ts):
 *
 * - the catalog: every `policies/<name>/` folder's policy, binding, params and PolicyTest cases;
 * - the corpus: every case of every tests.yaml plus generated variants, planned so that it can
 *   be sent to a real API server (namespaces to create, objects to create for real before an
 *   UPDATE, DELETE or CONNECT, names that do not collide);
 * - API paths of objects, and the classification of the server's answer;
 * - belay's answer for the same request, computed as `belay eval` computes it.
 */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { loadPolicySet, type PolicySet } from "../../src/engine/policies.ts";
import {
  type AdmissionDecision,
  type AdmissionRequest,
  evaluateAdmission,
  type Operation,
  parseApiVersion,
  requestForObject,
  resolveKind,
} from "../../src/policy/vap/index.ts";
import { parseStream } from "../../src/resources/parse.ts";
import type { KubeObject, Resource } from "../../src/resources/types.ts";
import type { RawResponse } from "./pss-support.ts";

export const CATALOG = path.join(import.meta.dirname, "..", "..", "policies");

/** The user every request is made as: the harness's admin certificate (`belay-admin`, `system:masters`). */
export const ADMIN = { username: "belay-admin", groups: ["system:masters", "system:authenticated"] };

const BUILTIN_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);

// ---------------------------------------------------------------------------------------
// The catalog

/** A case of a tests.yaml as written (both the `belay test` and the catalog test's spellings). */
export interface RawCase {
  name: string;
  operation?: Operation;
  object?: KubeObject | null;
  objectFile?: string;
  oldObject?: KubeObject | null;
  namespaceObject?: KubeObject | null;
  resource?: { group: string; version: string; resource: string; subresource?: string };
  namespace?: string;
  resourceName?: string;
  userInfo?: { username?: string; groups?: string[] };
  expect: "allow" | "deny" | "warn";
  message?: string;
}

/** One catalog folder. */
export interface Template {
  name: string;
  dir: string;
  /** The objects of policy.yaml, binding.yaml and params.yaml, as parsed. */
  policies: Resource[];
  bindings: Resource[];
  params: Resource[];
  cases: RawCase[];
}

function parseFile(file: string): Resource[] {
  const { resources, errors } = parseStream(readFileSync(file, "utf8"), file);
  if (errors.length > 0) throw new Error(`${file}: ${JSON.stringify(errors)}`);
  return resources;
}

/** Every folder of policies/ with a policy.yaml, sorted by name. */
export function loadCatalog(root = CATALOG): Template[] {
  return readdirSync(root)
    .filter((name) => statSync(path.join(root, name)).isDirectory())
    .filter((name) => existsSync(path.join(root, name, "policy.yaml")))
    .sort()
    .map((name) => {
      const dir = path.join(root, name);
      const file = (f: string) => path.join(dir, f);
      const optional = (f: string) => (existsSync(file(f)) ? parseFile(file(f)) : []);
      const tests = optional("tests.yaml")[0]?.object as { cases?: RawCase[] } | undefined;
      const cases = (tests?.cases ?? []).map((c) => {
        if (c.objectFile === undefined) return c;
        const [first] = parseFile(path.join(dir, c.objectFile));
        return { ...c, object: first?.object ?? null };
      });
      return {
        name,
        dir,
        policies: parseFile(file("policy.yaml")),
        bindings: optional("binding.yaml"),
        params: optional("params.yaml"),
        cases,
      };
    });
}

// ---------------------------------------------------------------------------------------
// Objects and their API paths

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** `metadata` of an object (created when missing). */
export function meta(object: KubeObject): Record<string, unknown> {
  if (!isRecord(object.metadata)) object.metadata = {};
  return object.metadata as Record<string, unknown>;
}

/** Where an object lives in the API. */
export interface ObjectLocation {
  group: string;
  version: string;
  resource: string;
  clusterScoped: boolean;
  /** "" when cluster-scoped. */
  namespace: string;
  name: string;
}

/** The location of `object` (a namespaced object without a namespace is in `default`). */
export function locationOf(object: KubeObject): ObjectLocation {
  const { group, version } = parseApiVersion(String(object.apiVersion ?? ""));
  const { resource, clusterScoped } = resolveKind({ group, version, kind: String(object.kind ?? "") });
  const m = meta(object);
  const namespace = clusterScoped
    ? ""
    : typeof m.namespace === "string" && m.namespace !== ""
      ? m.namespace
      : "default";
  return { group, version, resource, clusterScoped, namespace, name: String(m.name ?? "") };
}

/** The API path of a location's collection, or of the named object (and subresource). */
export function apiPath(
  loc: ObjectLocation,
  options: { named?: boolean; subresource?: string } = {},
): string {
  const base = loc.group === "" ? `/api/${loc.version}` : `/apis/${loc.group}/${loc.version}`;
  const ns = loc.clusterScoped ? "" : `/namespaces/${loc.namespace}`;
  const name = options.named ? `/${loc.name}` : "";
  const sub = options.named && options.subresource ? `/${options.subresource}` : "";
  return `${base}${ns}/${loc.resource}${name}${sub}`;
}

/** A key identifying an object in the cluster. */
export function objectKey(loc: ObjectLocation): string {
  return `${loc.group}/${loc.resource}/${loc.namespace}/${loc.name}`;
}

// ---------------------------------------------------------------------------------------
// The corpus

/** One request of the corpus, planned for the cluster. */
export interface Item {
  /** `<template>: <case>` or `<template>: <case> [variant]`. */
  id: string;
  /** The case's template (where the case came from; every template's policy sees every item). */
  origin: string;
  /** The original case, for items that are a tests.yaml case unchanged but for planning. */
  testCase?: RawCase;
  operation: Operation;
  /** The request's object: the new object (CREATE, UPDATE), the options (CONNECT), null (DELETE). */
  object: KubeObject | null;
  /** The object to create for real first (UPDATE, DELETE; the pod of a CONNECT); null for CREATE. */
  existing: KubeObject | null;
  /** Use the existing object of that name instead of creating one (built-in namespaces). */
  useExisting?: boolean;
  /** The subresource requested (ephemeralcontainers, exec, attach, …). */
  subresource: string;
  /** The user, when not the admin. */
  user?: { username: string; groups: string[] };
  /** Renamed (object or namespace) to fit the cluster: the case's own message may not apply. */
  renamed: boolean;
  /** The namespace object the case asked for (labels and annotations to create the namespace with). */
  namespaceObject?: KubeObject;
}

const POD_KINDS = [
  "Pod",
  "Deployment",
  "ReplicaSet",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
  "ReplicationController",
] as const;
type PodKind = (typeof POD_KINDS)[number];

const API_VERSION: Record<PodKind, string> = {
  Pod: "v1",
  ReplicationController: "v1",
  Deployment: "apps/v1",
  ReplicaSet: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  Job: "batch/v1",
  CronJob: "batch/v1",
};

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The pod template (metadata and spec) of a Pod or workload, or undefined. */
function podTemplateOf(
  object: KubeObject,
): { metadata: Record<string, unknown>; spec: Record<string, unknown> } | undefined {
  const kind = String(object.kind);
  const spec = object.spec as Record<string, unknown> | undefined;
  if (!isRecord(spec)) return undefined;
  if (kind === "Pod") {
    const m = meta(object);
    return { metadata: isRecord(m.labels) ? { labels: m.labels } : {}, spec };
  }
  let template: unknown;
  if (kind === "CronJob")
    template = (spec.jobTemplate as { spec?: { template?: unknown } } | undefined)?.spec?.template;
  else if ((POD_KINDS as readonly string[]).includes(kind)) template = spec.template;
  if (!isRecord(template) || !isRecord(template.spec)) return undefined;
  return { metadata: isRecord(template.metadata) ? template.metadata : {}, spec: template.spec };
}

/** `object` (a Pod or workload) rebuilt as `kind` with the same metadata and pod spec. */
function asKind(object: KubeObject, kind: PodKind): KubeObject | undefined {
  const template = podTemplateOf(object);
  if (template === undefined) return undefined;
  const m = clone(meta(object));
  const spec = clone(template.spec);
  delete spec.ephemeralContainers;
  delete spec.nodeName;
  spec.restartPolicy = kind === "Job" || kind === "CronJob" ? "Never" : "Always";
  if (kind === "Pod") {
    return { apiVersion: "v1", kind, metadata: m, spec };
  }
  const name = String(m.name ?? "x");
  const labels = {
    ...(template.metadata.labels as Record<string, string> | undefined),
    "fidelity/app": name,
  };
  const podTemplate = { metadata: { ...clone(template.metadata), labels }, spec };
  const selector = { matchLabels: { "fidelity/app": name } };
  let body: Record<string, unknown>;
  switch (kind) {
    case "Job":
      body = { template: podTemplate };
      break;
    case "CronJob":
      body = { schedule: "0 0 1 1 *", jobTemplate: { spec: { template: podTemplate } } };
      break;
    case "ReplicationController":
      body = { selector: selector.matchLabels, template: podTemplate };
      break;
    case "StatefulSet":
      body = { serviceName: name, selector, template: podTemplate };
      break;
    default:
      body = { selector, template: podTemplate };
  }
  return { apiVersion: API_VERSION[kind], kind, metadata: m, spec: body };
}

/** Applies `edit` to the pod spec of a copy of `object`; undefined when it has none or nothing changed. */
function editPodSpec(
  object: KubeObject,
  edit: (spec: Record<string, unknown>) => boolean,
): KubeObject | undefined {
  const copy = clone(object);
  const template = podTemplateOf(copy);
  if (template === undefined) return undefined;
  return edit(template.spec) ? copy : undefined;
}

/** Generated variants of a CREATE object: `[label, object]`. */
export function variantsOf(object: KubeObject): [string, KubeObject][] {
  const out: [string, KubeObject][] = [];
  const loc = locationOf(clone(object));
  const kind = String(object.kind);
  if (!loc.clusterScoped) {
    for (const ns of ["fidelity-other", "kube-system"]) {
      if (loc.namespace === ns) continue;
      const copy = clone(object);
      meta(copy).namespace = ns;
      out.push([`in namespace ${ns}`, copy]);
    }
  }
  const m = meta(clone(object));
  if (m.labels !== undefined || m.annotations !== undefined) {
    const copy = clone(object);
    delete meta(copy).labels;
    delete meta(copy).annotations;
    if (kind === "Namespace") meta(copy).labels = { "kubernetes.io/metadata.name": String(m.name) };
    out.push(["without labels and annotations", copy]);
  }
  if (kind === "Namespace") {
    const copy = clone(object);
    meta(copy).annotations = {
      ...(m.annotations as object | undefined),
      "example.com/owner": "fidelity",
      "example.com/contact": "#fidelity",
    };
    meta(copy).labels = { ...(m.labels as object | undefined), env: "prod" };
    out.push(["with owner, contact and env", copy]);
  }
  if (kind === "Service") {
    const spec = (object.spec ?? {}) as Record<string, unknown>;
    for (const type of ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName", undefined]) {
      if (type === spec.type) continue;
      const copy = clone(object);
      const s: Record<string, unknown> = { ...(copy.spec as object | undefined) };
      if (type === undefined) delete s.type;
      else s.type = type;
      if (type === "ExternalName") {
        s.externalName = "db.example.com";
        delete s.selector;
        delete s.clusterIP;
      } else {
        delete s.externalName;
        if (!Array.isArray(s.ports)) s.ports = [{ port: 80 }];
      }
      if (type !== "NodePort" && type !== "LoadBalancer" && Array.isArray(s.ports)) {
        s.ports = (s.ports as Record<string, unknown>[]).map(({ nodePort: _, ...p }) => p);
      }
      copy.spec = s;
      out.push([`as type ${type ?? "(omitted)"}`, copy]);
    }
  }
  if (podTemplateOf(object) !== undefined) {
    for (const target of POD_KINDS) {
      if (target === kind) continue;
      const converted = asKind(object, target);
      if (converted) out.push([`as a ${target}`, converted]);
    }
    const extra = (label: string, container: Record<string, unknown>) => {
      const copy = editPodSpec(object, (spec) => {
        const containers = (spec.containers as Record<string, unknown>[] | undefined) ?? [];
        const names = new Set(containers.map((c) => c.name));
        let name = "sidecar";
        for (let n = 2; names.has(name); n++) name = `sidecar-${n}`;
        spec.containers = [...containers, { ...container, name }];
        return true;
      });
      if (copy) out.push([label, copy]);
    };
    extra("with a Docker Hub sidecar without limits", { name: "sidecar", image: "nginx" });
    extra("with an allowed sidecar with limits", {
      name: "sidecar",
      image: "registry.example.com/sidecar:1",
      resources: { limits: { cpu: "100m", memory: "64Mi" } },
    });
    const noInit = editPodSpec(object, (spec) => {
      if (spec.initContainers === undefined) return false;
      delete spec.initContainers;
      return true;
    });
    if (noInit) out.push(["without init containers", noInit]);
    const privileged = editPodSpec(object, (spec) => {
      spec.hostNetwork = true;
      spec.containers = ((spec.containers as Record<string, unknown>[]) ?? []).map((c) => ({
        ...c,
        securityContext: { privileged: true, runAsUser: 0 },
      }));
      return true;
    });
    if (privileged) out.push(["privileged on the host network", privileged]);
  }
  return out;
}

/** The corpus: every case of every template, plus variants of CREATE objects, plus reversed UPDATEs and DELETEs. */
export function buildCorpus(templates: readonly Template[]): Item[] {
  const items: Item[] = [];
  const seen = new Set<string>();
  const add = (item: Item) => {
    const key = JSON.stringify([
      item.operation,
      item.object,
      item.existing,
      item.subresource,
      item.user,
      item.namespaceObject,
    ]);
    if (seen.has(key)) return;
    seen.add(key);
    items.push(item);
  };
  for (const template of templates) {
    for (const c of template.cases) {
      const operation = c.operation ?? "CREATE";
      const subresource = c.resource?.subresource ?? "";
      const user =
        c.userInfo === undefined
          ? undefined
          : { username: c.userInfo.username ?? "fidelity-user", groups: c.userInfo.groups ?? [] };
      const base = {
        origin: template.name,
        subresource,
        renamed: false,
        ...(user ? { user } : {}),
        ...(isRecord(c.namespaceObject) ? { namespaceObject: c.namespaceObject as KubeObject } : {}),
      };
      const object = isRecord(c.object) ? clone(c.object as KubeObject) : null;
      const oldObject = isRecord(c.oldObject) ? clone(c.oldObject as KubeObject) : null;
      const id = `${template.name}: ${c.name}`;
      if (operation === "CREATE" && object) {
        add({ ...base, id, testCase: c, operation, object, existing: null });
        for (const [label, variant] of variantsOf(object)) {
          add({ ...base, id: `${id} [${label}]`, operation, object: variant, existing: null });
        }
      } else if (operation === "UPDATE" && object) {
        add({ ...base, id, testCase: c, operation, object, existing: oldObject ?? clone(object) });
        const builtin =
          object.kind === "Namespace" && BUILTIN_NAMESPACES.has(String(meta(clone(object)).name));
        if (oldObject && subresource === "" && !builtin) {
          add({
            ...base,
            id: `${id} [reversed]`,
            operation,
            object: clone(oldObject),
            existing: clone(object),
          });
          add({
            ...base,
            id: `${id} [DELETE of the old object]`,
            operation: "DELETE",
            object: null,
            existing: clone(oldObject),
          });
        }
      } else if (operation === "DELETE" && (oldObject ?? object)) {
        add({
          ...base,
          id,
          testCase: c,
          operation,
          object: null,
          existing: clone((oldObject ?? object) as KubeObject),
        });
      } else if (operation === "CONNECT" && object) {
        const ns =
          c.namespace ??
          (typeof meta(clone(object)).namespace === "string"
            ? String(meta(clone(object)).namespace)
            : "default");
        const podName =
          c.resourceName ??
          (typeof meta(clone(object)).name === "string" ? String(meta(clone(object)).name) : "target");
        const pod: KubeObject = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: podName, namespace: ns },
          spec: { containers: [{ name: "app", image: "registry.example.com/app:1" }] },
        };
        add({
          ...base,
          id,
          testCase: c,
          operation,
          object,
          existing: pod,
          subresource: subresource || "exec",
        });
      }
    }
  }
  return items;
}

/** What the cluster needs before the corpus can be sent. */
export interface Plan {
  /** Namespaces to create: name → labels and annotations. */
  namespaces: Map<string, { labels: Record<string, string>; annotations: Record<string, string> }>;
}

function setNamespace(object: KubeObject | null, ns: string): void {
  if (object === null) return;
  if (locationOf(clone(object)).clusterScoped) return;
  meta(object).namespace = ns;
}

function renameObject(object: KubeObject | null, name: string): void {
  if (object === null) return;
  const m = meta(object);
  m.name = name;
  if (object.kind === "Namespace" && isRecord(m.labels) && "kubernetes.io/metadata.name" in m.labels) {
    m.labels["kubernetes.io/metadata.name"] = name;
  }
}

/**
 * Assigns every item a namespace that exists (or will) and names that do not collide:
 * - a case's namespaceObject with labels or annotations gets a namespace with exactly those
 *   (named as the case's namespace when no other case needs that name with other labels);
 * - a Namespace created with dry-run gets another name if that namespace exists;
 * - an object created for real (before an UPDATE, DELETE or CONNECT) gets a fresh name if
 *   another item uses it; a built-in namespace is updated as it is, not created.
 * Edits the items in place; returns the namespaces to create.
 */
export function planCorpus(items: Item[]): Plan {
  const namespaces: Plan["namespaces"] = new Map();
  const configOf = new Map<string, string>();
  const nsFor = (item: Item, declared: string): string => {
    const nsObject = item.namespaceObject;
    const nsMeta = nsObject ? meta(clone(nsObject)) : {};
    const labels = { ...(nsMeta.labels as Record<string, string> | undefined) };
    delete labels["kubernetes.io/metadata.name"];
    const annotations = { ...(nsMeta.annotations as Record<string, string> | undefined) };
    const plain = Object.keys(labels).length === 0 && Object.keys(annotations).length === 0;
    if (plain && BUILTIN_NAMESPACES.has(declared)) return declared;
    const config = JSON.stringify([labels, annotations]);
    const key = `${declared}\0${config}`;
    const known = configOf.get(key);
    if (known !== undefined) return known;
    let name = declared;
    for (let n = 2; namespaces.has(name) || (BUILTIN_NAMESPACES.has(name) && !plain); n++)
      name = `${declared}-ns${n}`;
    namespaces.set(name, { labels, annotations });
    configOf.set(key, name);
    if (name !== declared) item.renamed = true;
    return name;
  };
  for (const item of items) {
    for (const object of [item.object, item.existing]) {
      if (object === null || object.kind === "PodExecOptions" || object.kind === "PodAttachOptions") continue;
      const loc = locationOf(clone(object));
      if (loc.clusterScoped) continue;
      const ns = nsFor(item, loc.namespace);
      setNamespace(item.object, ns);
      setNamespace(item.existing, ns);
      break;
    }
  }
  // Names taken: namespaces, and every object sent with dry-run.
  const taken = new Set<string>(
    [...namespaces.keys(), ...BUILTIN_NAMESPACES].map((n) => `/namespaces//${n}`),
  );
  for (const item of items) {
    if (item.existing !== null || item.object === null) continue;
    const loc = locationOf(clone(item.object));
    if (item.object.kind === "Namespace") {
      let name = loc.name;
      for (let n = 2; taken.has(`/namespaces//${name}`); n++) name = `${loc.name}-${n}`;
      if (name !== loc.name) {
        renameObject(item.object, name);
        item.renamed = true;
      }
    }
  }
  for (const item of items) {
    if (item.existing === null && item.object !== null) taken.add(objectKey(locationOf(clone(item.object))));
  }
  for (const item of items) {
    if (item.existing === null) continue;
    const loc = locationOf(clone(item.existing));
    if (item.existing.kind === "Namespace" && BUILTIN_NAMESPACES.has(loc.name)) {
      item.useExisting = true;
      continue;
    }
    let name = loc.name;
    for (let n = 2; taken.has(objectKey({ ...loc, name })); n++) name = `${loc.name}-${n}`;
    taken.add(objectKey({ ...loc, name }));
    if (name !== loc.name) {
      item.renamed = true;
      renameObject(item.existing, name);
      if (item.operation !== "CONNECT") renameObject(item.object, name);
    }
  }
  return { namespaces };
}

// ---------------------------------------------------------------------------------------
// Answers

/** What the API server or belay answered. */
export interface Answer {
  verdict: "allow" | "deny" | "error";
  /** The status code of a denial (or an error), 0 when allowed. */
  code: number;
  /** The denial's message (or the error's), "" when allowed. */
  message: string;
  /** ValidatingAdmissionPolicy warnings only. */
  warnings: string[];
  /**
   * What the API server put before a denial's message: `<resource> "<name>" is forbidden: `
   * for a 403, and so on. belay answers with the admission response's message, which the API
   * server wraps this way; the suite compares the rest exactly.
   */
  wrapper?: string;
}

const VAP_WARNING = "Validation failed for ValidatingAdmissionPolicy '";
const VAP_DENIAL = /ValidatingAdmissionPolicy '[^']*' with binding '[^']*' denied request: /;

/**
 * The server's answer: 2xx is allowed; a Status whose message is a ValidatingAdmissionPolicy
 * denial is denied; anything else is an error, except for CONNECT (`connect`), where admission
 * runs before the request reaches the (missing) kubelet, so any other failure means admitted.
 */
export function serverAnswer(response: RawResponse, connect = false): Answer {
  const warnings = response.warnings.filter((w) => w.startsWith(VAP_WARNING));
  if (response.status >= 200 && response.status < 300)
    return { verdict: "allow", code: 0, message: "", warnings };
  let message = response.body;
  try {
    const parsed = JSON.parse(response.body) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // not a Status
  }
  const denial = VAP_DENIAL.exec(message);
  if (denial !== null) {
    const wrapper = message.slice(0, denial.index);
    return {
      verdict: "deny",
      code: response.status,
      message: message.slice(denial.index),
      wrapper,
      warnings,
    };
  }
  if (connect) return { verdict: "allow", code: 0, message: "", warnings };
  return { verdict: "error", code: response.status, message, warnings };
}

/** belay's answer from a decision. */
export function belayAnswer(decision: AdmissionDecision): Answer {
  return decision.allowed
    ? { verdict: "allow", code: 0, message: "", warnings: decision.warnings }
    : {
        verdict: "deny",
        code: decision.status?.code ?? 0,
        message: decision.status?.message ?? "",
        warnings: decision.warnings,
      };
}

/** Why two answers differ, or undefined when they agree. */
export function difference(server: Answer, belay: Answer): string | undefined {
  if (server.verdict !== belay.verdict) return `verdict: server ${server.verdict}, belay ${belay.verdict}`;
  if (server.message !== belay.message) return "denial message differs";
  if (server.code !== belay.code) return `status code: server ${server.code}, belay ${belay.code}`;
  if (JSON.stringify(server.warnings) !== JSON.stringify(belay.warnings)) return "warnings differ";
  return undefined;
}

/** Renders an answer for a report. */
export function formatAnswer(answer: Answer): string {
  const head =
    answer.verdict === "allow"
      ? "allow"
      : `${answer.verdict} ${answer.code}: ${answer.wrapper ?? ""}${answer.message}`;
  return [head, ...answer.warnings.map((w) => `warning: ${w}`)].join("\n      ");
}

/** A template's policy set as `belay eval` loads it (policy, binding with `actions`, params). */
export function policySetFor(template: Template, binding: Resource): PolicySet {
  const { set, errors } = loadPolicySet([...template.policies, binding, ...template.params]);
  if (errors.length > 0) throw new Error(`${template.name}: ${JSON.stringify(errors)}`);
  return set;
}

/**
 * The admission request `belay eval` builds for an item (`--resource`, `--old`, `--subresource`,
 * `--namespace-object`), with the resource and name of a CONNECT as the API server sets them.
 */
export function belayRequest(
  item: Item,
  oldObject: KubeObject | null,
  namespaces: ReadonlyMap<string, KubeObject>,
): AdmissionRequest {
  const object = (item.operation === "DELETE" ? oldObject : item.object) as KubeObject;
  const request = requestForObject(object, item.operation, {
    ...(oldObject && item.operation === "UPDATE" ? { oldObject } : {}),
    ...(item.subresource ? { subresource: item.subresource } : {}),
  });
  if (item.subresource !== "" && item.existing) {
    // A subresource is requested on its parent: the request's resource, namespace and name are
    // the parent's, its kind the object's (Scale on deployments/scale, PodExecOptions on pods/exec).
    const parent = locationOf(clone(item.existing));
    const { group, version } = parseApiVersion(String(object.apiVersion ?? ""));
    request.resource = {
      group: parent.group,
      version: parent.version,
      resource: parent.resource,
      subresource: item.subresource,
    };
    request.kind = { group, version, kind: String(object.kind ?? "") };
    request.namespace = parent.namespace;
    request.name = parent.name;
    if (item.operation === "CONNECT") request.oldObject = null;
  }
  request.namespaceObject =
    request.namespace === ""
      ? null
      : (namespaces.get(request.namespace) ?? {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: request.namespace, labels: { "kubernetes.io/metadata.name": request.namespace } },
        });
  return request;
}

/** The groups the API server gives a user authenticated with a certificate of `groups`. */
export function authenticatedGroups(groups: readonly string[]): string[] {
  return groups.includes("system:authenticated") ? [...groups] : [...groups, "system:authenticated"];
}

/** belay's decision on an item. */
export function belayDecision(
  set: PolicySet,
  item: Item,
  oldObject: KubeObject | null,
  namespaces: ReadonlyMap<string, KubeObject>,
): AdmissionDecision {
  const request = belayRequest(item, oldObject, namespaces);
  const user = item.user
    ? { username: item.user.username, groups: authenticatedGroups(item.user.groups) }
    : ADMIN;
  return evaluateAdmission(set.env, set.policies, set.bindings, request, set.params, {
    user,
    dryRun: item.operation !== "CONNECT",
  });
}

/** The query string of a CONNECT request for its options object (PodExecOptions, PodAttachOptions). */
export function connectQuery(options: KubeObject | null): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(options ?? {})) {
    if (key === "apiVersion" || key === "kind" || key === "metadata") continue;
    for (const v of [value].flat()) query.append(key, String(v));
  }
  const text = query.toString();
  return text === "" ? "" : `?${text}`;
}

/** Maps a string to a short id usable in names. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40);
}

/** An RFC 7386 JSON merge patch that turns `from` into `to` (lists are replaced whole). */
export function mergePatch(from: unknown, to: unknown): unknown {
  if (!isRecord(from) || !isRecord(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(to)) {
    if (!(key in from)) patch[key] = value;
    else if (JSON.stringify(from[key]) !== JSON.stringify(value)) {
      patch[key] = isRecord(from[key]) && isRecord(value) ? mergePatch(from[key], value) : value;
    }
  }
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  return patch;
}

/**
 * Cluster-scoped objects that pods of the corpus refer to and that admission plugins require
 * (Priority: the PriorityClass; RuntimeClass: the RuntimeClass), to create before the corpus.
 */
export function prerequisites(items: readonly Item[]): KubeObject[] {
  const priority = new Set<string>();
  const runtime = new Set<string>();
  for (const item of items) {
    for (const object of [item.object, item.existing]) {
      const spec = object ? podTemplateOf(clone(object))?.spec : undefined;
      if (typeof spec?.priorityClassName === "string" && !spec.priorityClassName.startsWith("system-")) {
        priority.add(spec.priorityClassName);
      }
      if (typeof spec?.runtimeClassName === "string") runtime.add(spec.runtimeClassName);
    }
  }
  return [
    ...[...priority].map((name, i) => ({
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name },
      value: 1000 + i,
    })),
    ...[...runtime].map((name) => ({
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name },
      handler: name,
    })),
  ];
}
