/**
 * Fidelity of belay's ValidatingAdmissionPolicy evaluation (`belay eval`) against the real
 * thing: kube-apiserver v1.37's ValidatingAdmissionPolicy admission plugin, for every template
 * of the policies/ catalog, on a corpus of every tests.yaml case of every template plus
 * generated variants (other namespaces, other workload kinds, extra containers, other Service
 * types, labels and annotations removed, reversed updates, deletes).
 *
 * For each template, its params, policy and binding are created in the cluster, once with the
 * catalog binding (validationActions as written: Deny) and once with validationActions [Warn];
 * a sentinel request is repeated until the policy is enforced. Every item of the corpus is then
 * sent to the API server as what it is: CREATE with dryRun=All; UPDATE (a JSON merge patch from
 * the old to the new object, on the subresource if any) and DELETE with dryRun=All of an object
 * created for real before any policy was installed; CONNECT as a POST to pods/NAME/exec of a
 * pod created for real (admission runs before the request would reach a kubelet). belay
 * evaluates the same request, as `belay eval` builds it, with the same user and the namespace
 * as it exists in the cluster, twice:
 * - "as admitted": on the objects as the API server hands them to admission (the same request
 *   sent with dryRun while no policy is installed returns the object after defaulting and
 *   mutating admission; the old object is read back from the cluster);
 * - "as written": on the manifests, as a user runs `belay eval --resource --old`.
 * Verdict, status code, denial message and warnings must all be equal. `belay eval` itself (the
 * CLI) is also run on every tests.yaml case and must answer as the in-process evaluation does.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { PolicySet } from "../../src/engine/policies.ts";
import type { KubeObject, Resource } from "../../src/resources/types.ts";
import { runCli } from "../helpers.ts";
import { mapLimit, type RawClient, type RawResponse, rawClient } from "./pss-support.ts";
import { adminKubeConfig, describeCluster, sharedCluster, userKubeConfig } from "./shared.ts";
import {
  ADMIN,
  type Answer,
  apiPath,
  authenticatedGroups,
  belayAnswer,
  belayDecision,
  belayRequest,
  buildCorpus,
  connectQuery,
  difference,
  formatAnswer,
  type Item,
  loadCatalog,
  locationOf,
  mergePatch,
  meta,
  planCorpus,
  policySetFor,
  prerequisites,
  serverAnswer,
  type Template,
} from "./vap-support.ts";

/** Requests in flight while a template is installed. */
const CONCURRENCY = 16;
/** How long a policy may take to be enforced (or to stop being enforced) after it is created (deleted). */
const SYNC_TIMEOUT_MS = 30_000;
const MODES = ["catalog", "warn"] as const;

/**
 * Known disagreements of belay on the manifest as written (belay on the object as admitted
 * agrees), by `<template> on <item>`: the API server defaults or mutates the object before
 * admission, and the policy reads what defaulting changed. They are divergences of the policy
 * (it should read the effective value), not of belay's evaluation; each must still be observed,
 * so that a fixed policy gets its entry removed.
 */
const WRITTEN_DIVERGENCES: ReadonlyMap<string, string> = new Map([]);

function divergenceKey(r: { template: string; item: Item }): string {
  return `${r.template} on ${r.item.id}`;
}
type Mode = (typeof MODES)[number];

const templates: Template[] = loadCatalog();
const items: Item[] = buildCorpus(templates);
const plan = planCorpus(items);

/** One item under one template and mode. */
interface Result {
  item: Item;
  template: string;
  mode: Mode;
  server: Answer;
  admitted: Answer;
  written: Answer;
}

interface Row {
  template: Template;
  mode: Mode;
  results: Result[];
  syncSeconds: number;
  problems: string[];
}

const rows: Row[] = templates.flatMap((template) =>
  MODES.map((mode) => ({ template, mode, results: [], syncSeconds: 0, problems: [] })),
);

/** What the cluster holds for an item before any policy: the old object and the object as admitted. */
interface Prepared {
  /** The old object as stored (UPDATE, DELETE), the pod (CONNECT). */
  stored: KubeObject | null;
  /** The object as admission sees it (CREATE, UPDATE): the dry-run response without policies. */
  admitted: KubeObject | null;
  /** Why the item cannot be sent (rejected without any policy). */
  invalid?: string;
}
const prepared = new Map<Item, Prepared>();
const namespaceObjects = new Map<string, KubeObject>();
const clients = new Map<string, RawClient>();

function json(response: RawResponse): KubeObject {
  return JSON.parse(response.body) as KubeObject;
}

function ok(response: RawResponse): boolean {
  return response.status >= 200 && response.status < 300;
}

function userKey(item: Item): string {
  return item.user ? JSON.stringify(item.user) : "";
}

/** Sends an item's request (with dryRun except for CONNECT). */
function send(item: Item): Promise<RawResponse> {
  const client = clients.get(userKey(item)) as RawClient;
  if (item.operation === "CREATE") {
    const loc = locationOf(structuredClone(item.object as KubeObject));
    return client.send("POST", `${apiPath(loc)}?dryRun=All`, JSON.stringify(item.object));
  }
  const loc = locationOf(structuredClone(item.existing as KubeObject));
  if (item.operation === "UPDATE") {
    const patch = mergePatch(item.existing, item.object);
    return client.send(
      "PATCH",
      `${apiPath(loc, { named: true, subresource: item.subresource })}?dryRun=All`,
      JSON.stringify(patch),
      "application/merge-patch+json",
    );
  }
  if (item.operation === "DELETE") {
    return client.send("DELETE", `${apiPath(loc, { named: true })}?dryRun=All`);
  }
  return client.send(
    "POST",
    `${apiPath(loc, { named: true, subresource: item.subresource })}${connectQuery(item.object)}`,
  );
}

/** The binding of a template in a mode: the catalog's, or the same with validationActions [Warn]. */
function bindingFor(template: Template, mode: Mode): Resource {
  const binding = template.bindings[0] as Resource;
  if (mode === "catalog") return binding;
  const object = structuredClone(binding.object);
  (object.spec as Record<string, unknown>).validationActions = ["Warn"];
  return { ...binding, object };
}

/** Creates (or replaces) an object for real. */
async function put(client: RawClient, object: KubeObject): Promise<void> {
  const loc = locationOf(structuredClone(object));
  const created = await client.send("POST", apiPath(loc), JSON.stringify(object));
  if (created.status === 409) {
    const current = await client.send("GET", apiPath(loc, { named: true }));
    const body = structuredClone(object);
    meta(body).resourceVersion = meta(json(current)).resourceVersion;
    const replaced = await client.send("PUT", apiPath(loc, { named: true }), JSON.stringify(body));
    if (!ok(replaced))
      throw new Error(`replace ${apiPath(loc, { named: true })}: ${replaced.status} ${replaced.body}`);
  } else if (!ok(created)) {
    throw new Error(`create ${apiPath(loc)}: ${created.status} ${created.body}`);
  }
}

async function remove(client: RawClient, object: KubeObject): Promise<void> {
  const loc = locationOf(structuredClone(object));
  const response = await client.send("DELETE", apiPath(loc, { named: true }));
  if (!ok(response) && response.status !== 404)
    throw new Error(`delete: ${response.status} ${response.body}`);
}

/** Evaluates an item with belay, as admitted and as written. */
function evaluate(set: PolicySet, item: Item): { admitted: Answer; written: Answer } {
  const p = prepared.get(item) as Prepared;
  const asAdmitted: Item = { ...item, object: item.operation === "CONNECT" ? item.object : p.admitted };
  const admitted = belayAnswer(belayDecision(set, asAdmitted, p.stored, namespaceObjects));
  const oldManifest = item.operation === "CONNECT" ? p.stored : item.existing;
  const written = belayAnswer(belayDecision(set, item, oldManifest, namespaceObjects));
  return { admitted, written };
}

/**
 * Repeats `item` until the server's answer satisfies `done` (the policy is in force, or gone).
 * Returns the seconds it took, or throws after SYNC_TIMEOUT_MS.
 */
async function waitFor(item: Item, done: (answer: Answer) => boolean, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    const answer = serverAnswer(await send(item), item.operation === "CONNECT");
    if (done(answer)) return (Date.now() - started) / 1000;
    if (Date.now() - started > SYNC_TIMEOUT_MS) {
      throw new Error(`${what}: not after ${SYNC_TIMEOUT_MS / 1000}s; last answer: ${formatAnswer(answer)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An item belay denies (catalog mode) or warns about (warn mode), preferring the template's own cases. */
function sentinel(set: PolicySet, template: string): { item: Item; expected: Answer } | undefined {
  const candidates = [
    ...items.filter((i) => i.origin === template && i.testCase !== undefined),
    ...items.filter((i) => i.origin === template && i.testCase === undefined),
    ...items.filter((i) => i.origin !== template),
  ];
  for (const item of candidates) {
    if (prepared.get(item)?.invalid !== undefined) continue;
    const { admitted } = evaluate(set, item);
    if (admitted.verdict === "deny" || admitted.warnings.length > 0) return { item, expected: admitted };
  }
  return undefined;
}

/**
 * The items sent under a row: the whole corpus with the catalog binding; with the Warn binding
 * (whose verdicts differ from the catalog binding's only in Deny becoming a warning), the
 * template's own items and every item that the server or belay denied with the catalog binding.
 */
function itemsFor(row: Row, sendable: readonly Item[]): Item[] {
  if (row.mode === "catalog") return [...sendable];
  const catalog = rows.find((r) => r.template === row.template && r.mode === "catalog");
  const flagged = new Set(
    (catalog?.results ?? [])
      .filter(
        (r) =>
          r.server.verdict !== "allow" || r.admitted.verdict !== "allow" || r.written.verdict !== "allow",
      )
      .map((r) => r.item),
  );
  return sendable.filter((item) => item.origin === row.template.name || flagged.has(item));
}

/**
 * Installs a template's params, policy and binding (the catalog binding, then the Warn binding
 * in its place), waits until a sentinel request gets belay's answer, sends the items, and after
 * the last mode deletes it all and waits until the sentinel is admitted again.
 */
async function runTemplate(admin: RawClient, row: Row): Promise<void> {
  const { template, mode } = row;
  const binding = bindingFor(template, mode);
  const set = policySetFor(template, binding);
  const policyObject = (template.policies[0] as Resource).object;
  const last = mode === MODES[MODES.length - 1];
  if (mode === MODES[0]) {
    for (const param of template.params) await put(admin, param.object);
    await put(admin, policyObject);
  }
  await put(admin, binding.object);
  const probe = sentinel(set, template.name);
  let started = Date.now();
  if (probe === undefined) {
    row.problems.push(
      "no item of the corpus is denied or warned about: cannot tell when the policy is in force",
    );
    await new Promise((r) => setTimeout(r, 2000));
  } else {
    await waitFor(
      probe.item,
      (a) => difference(a, probe.expected) === undefined,
      `${template.name} (${mode}) in force`,
    );
  }
  row.syncSeconds = (Date.now() - started) / 1000;
  const sendable = items.filter((item) => prepared.get(item)?.invalid === undefined);
  row.results = await mapLimit(itemsFor(row, sendable), CONCURRENCY, async (item) => {
    const server = serverAnswer(await send(item), item.operation === "CONNECT");
    return { item, template: template.name, mode, server, ...evaluate(set, item) };
  });
  if (!last) return;
  started = Date.now();
  await remove(admin, binding.object);
  await remove(admin, policyObject);
  for (const param of template.params) await remove(admin, param.object);
  if (probe !== undefined) {
    await waitFor(
      probe.item,
      (a) => a.verdict === "allow" && a.warnings.length === 0,
      `${template.name} no longer in force`,
    );
  }
  row.syncSeconds += (Date.now() - started) / 1000;
}

function count(results: readonly Result[], verdict: "allow" | "deny" | "warn"): number {
  return results.filter((r) =>
    verdict === "warn"
      ? r.server.verdict === "allow" && r.server.warnings.length > 0
      : verdict === "allow"
        ? r.server.verdict === "allow" && r.server.warnings.length === 0
        : r.server.verdict === verdict,
  ).length;
}

function table(): string {
  const header = `${"template".padEnd(32)} ${"binding".padEnd(8)} requests  allow  deny  warn  error  as admitted  as written  sync`;
  const line = (label: string, mode: string, results: readonly Result[], sync: number) => {
    const agreeAdmitted = results.filter((r) => difference(r.server, r.admitted) === undefined).length;
    const agreeWritten = results.filter((r) => difference(r.server, r.written) === undefined).length;
    const known = results.filter(
      (r) => difference(r.server, r.written) !== undefined && WRITTEN_DIVERGENCES.has(divergenceKey(r)),
    ).length;
    const cells = [
      label.padEnd(32),
      mode.padEnd(8),
      String(results.length).padStart(8),
      String(count(results, "allow")).padStart(6),
      String(count(results, "deny")).padStart(5),
      String(count(results, "warn")).padStart(5),
      String(results.filter((r) => r.server.verdict === "error").length).padStart(6),
      `${agreeAdmitted}/${results.length}`.padStart(12),
      `${agreeWritten}/${results.length}`.padStart(11),
      `${sync.toFixed(1)}s`.padStart(5),
    ];
    const all = agreeAdmitted === results.length && agreeWritten + known === results.length;
    return `${cells.join(" ")}${all ? "" : "  MISMATCH"}${known > 0 ? `  (${known} known, as written)` : ""}`;
  };
  const all = rows.flatMap((r) => r.results);
  return [
    header,
    ...rows.map((row) => line(row.template.name, row.mode, row.results, row.syncSeconds)),
    line(
      "total",
      "",
      all,
      rows.reduce((s, r) => s + r.syncSeconds, 0),
    ),
  ].join("\n");
}

/** Side-by-side report of the results where `pick` (belay's answer) differs from the server's. */
function mismatches(results: readonly Result[], pick: "admitted" | "written"): string {
  return results
    .flatMap((r) => {
      const reason = difference(r.server, r[pick]);
      if (reason === undefined) return [];
      if (pick === "written" && WRITTEN_DIVERGENCES.has(divergenceKey(r))) return [];
      const p = prepared.get(r.item) as Prepared;
      const request = belayRequest(
        {
          ...r.item,
          object: pick === "admitted" && r.item.operation !== "CONNECT" ? p.admitted : r.item.object,
        },
        pick === "admitted" ? p.stored : r.item.operation === "CONNECT" ? p.stored : r.item.existing,
        namespaceObjects,
      );
      return [
        [
          `${r.template} (${r.mode} binding) on ${r.item.id}: ${reason}`,
          `  ${r.item.operation}${r.item.subresource ? `/${r.item.subresource}` : ""} ${request.resource.resource} ${request.namespace}/${request.name}`,
          `  API server:        ${formatAnswer(r.server)}`,
          `  belay (${pick.padEnd(8)}): ${formatAnswer(r[pick])}`,
          `  object:        ${JSON.stringify(request.object)}`,
          ...(request.oldObject ? [`  oldObject:     ${JSON.stringify(request.oldObject)}`] : []),
          `  namespace:     ${JSON.stringify(request.namespaceObject)}`,
        ].join("\n"),
      ];
    })
    .join("\n");
}

describeCluster(
  "ValidatingAdmissionPolicy admission agrees with belay eval on every catalog template",
  () => {
    let kc: KubeConfig;
    let admin: RawClient;
    const seconds = { setup: 0, templates: 0 };
    const userBindings: KubeObject[] = [];
    const created: KubeObject[] = [];

    beforeAll(async () => {
      const started = Date.now();
      kc = await adminKubeConfig();
      admin = await rawClient(kc, CONCURRENCY + 4);
      clients.set("", admin);
      // Namespaces: belay-system for params, and every namespace of the corpus.
      const namespaces = new Map([["belay-system", { labels: {}, annotations: {} }], ...plan.namespaces]);
      await mapLimit([...namespaces], 8, async ([name, { labels, annotations }]) => {
        await put(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name, labels, annotations } });
        const deadline = Date.now() + 30_000;
        while (!ok(await admin.send("GET", `/api/v1/namespaces/${name}/serviceaccounts/default`))) {
          if (Date.now() > deadline) throw new Error(`namespace ${name}: no default service account`);
          await new Promise((r) => setTimeout(r, 100));
        }
      });
      // Objects that admission plugins require pods to refer to (PriorityClasses, RuntimeClasses).
      for (const object of prerequisites(items)) {
        await put(admin, object);
        created.push(object);
      }
      // Users other than the admin: cluster-admin through RBAC, so that admission decides.
      for (const item of items) {
        if (item.user === undefined || clients.has(userKey(item))) continue;
        const crb: KubeObject = {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name: `vap-fidelity-user-${clients.size}` },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: item.user.username }],
        };
        await put(admin, crb);
        userBindings.push(crb);
        clients.set(
          userKey(item),
          await rawClient(await userKubeConfig(item.user.username, item.user.groups), 4),
        );
      }
      // Objects that must exist before an UPDATE, DELETE or CONNECT; then each request once, without policies.
      await mapLimit(items, CONCURRENCY, async (item) => {
        const p: Prepared = { stored: null, admitted: null };
        prepared.set(item, p);
        if (item.existing !== null) {
          const loc = locationOf(structuredClone(item.existing));
          if (!item.useExisting) {
            const response = await admin.send("POST", apiPath(loc), JSON.stringify(item.existing));
            if (!ok(response)) {
              p.invalid = `creating the old object: ${response.status} ${response.body}`;
              return;
            }
            created.push(item.existing);
          }
          p.stored = json(await admin.send("GET", apiPath(loc, { named: true })));
        }
      });
      await mapLimit(items, CONCURRENCY, async (item) => {
        const p = prepared.get(item) as Prepared;
        if (p.invalid !== undefined) return;
        const response = await send(item);
        const answer = serverAnswer(response, item.operation === "CONNECT");
        if (answer.verdict !== "allow") p.invalid = `without policies: ${formatAnswer(answer)}`;
        else if (item.operation === "CREATE" || item.operation === "UPDATE") p.admitted = json(response);
      });
      for (const item of items) {
        const p = prepared.get(item) as Prepared;
        for (const object of [p.admitted, p.stored, item.object]) {
          if (object === null) continue;
          const ns =
            item.operation === "CONNECT"
              ? locationOf(structuredClone(item.existing as KubeObject)).namespace
              : locationOf(structuredClone(object)).namespace;
          if (ns === "" || namespaceObjects.has(ns)) continue;
          const response = await admin.send("GET", `/api/v1/namespaces/${ns}`);
          if (ok(response)) namespaceObjects.set(ns, json(response));
        }
      }
      seconds.setup = (Date.now() - started) / 1000;
      const templatesStarted = Date.now();
      for (const row of rows) await runTemplate(admin, row);
      seconds.templates = (Date.now() - templatesStarted) / 1000;
    }, 600_000);

    afterAll(async () => {
      if (admin !== undefined) {
        for (const object of [...created, ...userBindings]) await remove(admin, object).catch(() => {});
      }
      for (const client of clients.values()) client.close();
    });

    it("covers every catalog folder with a corpus of at least 200 objects", () => {
      expect(templates.length).toBeGreaterThan(0);
      for (const template of templates) {
        expect(template.bindings, template.name).toHaveLength(1);
        expect(template.cases.length, template.name).toBeGreaterThan(0);
      }
      const invalid = items.flatMap((item) => {
        const reason = prepared.get(item)?.invalid;
        return reason === undefined ? [] : [`${item.id}: ${reason}`];
      });
      expect(invalid.join("\n")).toBe("");
      expect(items.length).toBeGreaterThanOrEqual(200);
    });

    for (const row of rows) {
      it(`${row.template.name} (${row.mode} binding): the API server and belay agree`, () => {
        expect(row.problems.join("\n")).toBe("");
        const sendable = items.filter((item) => prepared.get(item)?.invalid === undefined);
        if (row.mode === "catalog") expect(row.results.length).toBe(sendable.length);
        expect(mismatches(row.results, "admitted")).toBe("");
        expect(mismatches(row.results, "written")).toBe("");
      });
    }

    it("agrees on 100% of the requests", () => {
      const results = rows.flatMap((row) => row.results);
      const operations = new Map<string, number>();
      for (const item of items) operations.set(item.operation, (operations.get(item.operation) ?? 0) + 1);
      console.log(
        `ValidatingAdmissionPolicy (kube-apiserver ${sharedCluster?.version}) vs belay eval, policies/ catalog\n` +
          `${table()}\n` +
          `corpus: ${items.length} requests (${[...operations].map(([op, n]) => `${n} ${op}`).join(", ")}), ` +
          `${items.filter((i) => i.testCase).length} of them tests.yaml cases; ${plan.namespaces.size} namespaces\n` +
          `setup ${seconds.setup.toFixed(1)}s; ${results.length} requests under ${rows.length} template bindings in ` +
          `${seconds.templates.toFixed(1)}s, ${CONCURRENCY} in flight`,
      );
      const failures = [mismatches(results, "admitted"), mismatches(results, "written")].filter(
        (s) => s !== "",
      );
      if (failures.length > 0) console.log(failures.join("\n"));
      expect(failures).toEqual([]);
    });

    it("disagrees on the manifests as written only where listed, and agrees on them as admitted", () => {
      const observed = new Set(
        rows
          .flatMap((row) => row.results)
          .filter((r) => difference(r.server, r.written) !== undefined)
          .map((r) => divergenceKey(r)),
      );
      for (const [key, reason] of WRITTEN_DIVERGENCES) {
        expect(observed.has(key), `listed but not observed (remove it): ${key}: ${reason}`).toBe(true);
      }
    });

    it("the server's verdicts match tests.yaml's expectations (catalog binding)", () => {
      const wrong = rows
        .filter((row) => row.mode === "catalog")
        .flatMap((row) =>
          row.results.flatMap((r) => {
            const c = r.item.testCase;
            if (c === undefined || r.item.origin !== row.template.name) return [];
            const got =
              r.server.verdict === "allow" && r.server.warnings.length > 0 ? "warn" : r.server.verdict;
            const message = r.server.message.replace(
              /^ValidatingAdmissionPolicy '[^']*' with binding '[^']*' denied request: /,
              "",
            );
            if (got === c.expect && (c.message === undefined || r.item.renamed || message === c.message))
              return [];
            return [
              `${r.item.id}: expected ${c.expect}${c.message ? ` "${c.message}"` : ""}, got ${formatAnswer(r.server)}`,
            ];
          }),
        );
      expect(wrong.join("\n")).toBe("");
    });

    it("belay eval (the CLI) answers every tests.yaml case as the API server does", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "vap-fidelity-"));
      try {
        const differences: string[] = [];
        const limited: string[] = [];
        for (const row of rows.filter((r) => r.mode === "catalog")) {
          const t = row.template;
          for (const r of row.results) {
            if (r.item.origin !== t.name || r.item.testCase === undefined || r.item.operation === "CONNECT")
              continue;
            const write = (name: string, object: unknown) => {
              const file = path.join(dir, name);
              writeFileSync(file, JSON.stringify(object));
              return file;
            };
            const request = belayRequest(r.item, r.item.existing, namespaceObjects);
            const args = [
              "eval",
              "--policy",
              path.join(t.dir, "policy.yaml"),
              "--policy",
              path.join(t.dir, "binding.yaml"),
              ...(t.params.length > 0 ? ["--params", path.join(t.dir, "params.yaml")] : []),
              "--resource",
              write("object.json", r.item.operation === "DELETE" ? r.item.existing : r.item.object),
              ...(r.item.operation === "UPDATE" ? ["--old", write("old.json", r.item.existing)] : []),
              "--operation",
              r.item.operation,
              ...(r.item.subresource ? ["--subresource", r.item.subresource] : []),
              ...(request.namespaceObject
                ? ["--namespace-object", write("ns.json", request.namespaceObject)]
                : []),
              "--user",
              r.item.user?.username ?? ADMIN.username,
              "--groups",
              (r.item.user ? authenticatedGroups(r.item.user.groups) : ADMIN.groups).join(","),
              "-o",
              "json",
            ];
            const cli = await runCli(args);
            if (cli.code > 1) {
              differences.push(`${r.item.id}: belay eval exited ${cli.code}: ${cli.stderr}`);
              continue;
            }
            const out = JSON.parse(cli.stdout) as {
              allowed: boolean;
              status?: { code: number; message: string };
              warnings: string[];
            };
            const answer: Answer = out.allowed
              ? { verdict: "allow", code: 0, message: "", warnings: out.warnings }
              : {
                  verdict: "deny",
                  code: out.status?.code ?? 0,
                  message: out.status?.message ?? "",
                  warnings: out.warnings,
                };
            const reason = difference(r.server, answer);
            // `belay eval` derives the request's resource from --resource: a subresource whose object
            // is of another kind than its parent (Scale on deployments/scale) cannot be expressed.
            const parentKind = r.item.existing?.kind;
            if (reason !== undefined && r.item.subresource !== "" && r.item.object?.kind !== parentKind) {
              limited.push(
                `${r.item.id}: ${reason}; API server: ${formatAnswer(r.server)}; belay eval: ${formatAnswer(answer)}`,
              );
              continue;
            }
            if (reason !== undefined) {
              differences.push(
                `${r.item.id}: ${reason}\n  API server: ${formatAnswer(r.server)}\n  belay eval: ${formatAnswer(answer)}`,
              );
            }
          }
        }
        if (limited.length > 0) {
          console.log(
            `belay eval cannot express ${limited.length} subresource requests (their object is not of the parent's kind):\n${limited.join("\n")}`,
          );
        }
        expect(differences.join("\n")).toBe("");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
