/**
 * `belay controller`: the continuous audit. It watches every kind the one-shot audit lists
 * and re-evaluates what a change can affect, through the same engine entry point and the
 * same report builder and writer as `belay audit`:
 *
 * - a change to a namespaced object re-evaluates its namespace (rules relate objects only
 *   within one namespace: NetworkPolicies, Services, ServiceAccounts, LimitRanges), debounced
 *   (`debounceMs` after the last change, at most `maxDelayMs` after the first);
 * - a change to a ClusterRole or ClusterRoleBinding re-evaluates the cluster scope;
 * - a change to a ValidatingAdmissionPolicy, a binding, a param object or a `--policy` file
 *   reloads the policy set and re-evaluates everything; so does the periodic resync, which
 *   also forgets the report digests so reports edited by someone else are put right.
 *
 * Memory: watches are change signals only (an event's object is dropped once its namespace is
 * noted), and a namespace is evaluated by listing its objects then, so the controller holds
 * one namespace's objects at a time, the policy set with its param objects, the set of
 * namespace names, and one digest (64 hex chars) per report — never the cluster.
 *
 * Failures: a list or write that fails (API server down or restarting, 5xx) writes nothing for
 * that namespace and retries it with backoff; watches resume from their resourceVersion and
 * relist after 410 Gone (see src/kube/watch.ts), and a relist re-evaluates everything the kind
 * can affect, since events may have been missed. Edge module (I/O through the KubeClient).
 */
import { createHash } from "node:crypto";
import { evaluate } from "../engine/evaluate.ts";
import type { PolicySet } from "../engine/policies.ts";
import { type Finding, type InputError, refKey } from "../findings/finding.ts";
import {
  type Backoff,
  backoffDelay,
  CLUSTER_KINDS,
  discoverKind,
  type KindSpec,
  type KubeClient,
  listAll,
  listPages,
  NAMESPACE_KIND,
  NAMESPACED_KINDS,
  POLICY_KINDS,
  runWatch,
  sleep,
} from "../kube/index.ts";
import type { RuleException } from "../policy/exceptions.ts";
import { makeResource } from "../resources/parse.ts";
import type { KubeObject, Resource } from "../resources/types.ts";
import type { PssVersion, Rule } from "../rules/rule.ts";
import type { ControllerMetrics } from "./controller-metrics.ts";
import type { ReportApi } from "./open-reports.ts";
import { buildPolicyReports, type PolicyReport } from "./policy-report.ts";
import { loadClusterPolicies } from "./run.ts";
import { type WriteOutcome, writeReport } from "./write.ts";

/** A structured log line. */
export type ControllerLog = (
  entry: { level: "info" | "warn" | "error"; msg: string } & Record<string, unknown>,
) => void;

/** What the `--policy` files hold now. */
export interface PolicyFiles {
  resources: Resource[];
  errors: InputError[];
  /** Changes when the files' content changes. */
  digest: string;
}

/** Options of {@link createController}. */
export interface ControllerOptions {
  rules: readonly Rule[];
  pssVersion: PssVersion;
  knownRuleIds: ReadonlySet<string>;
  exceptions?: readonly RuleException[];
  /** Watch and report this namespace only (no cluster-scoped objects). */
  namespace?: string;
  /** Reads the `--policy` files; polled every `policyPollMs`. */
  loadPolicyFiles?: () => Promise<PolicyFiles>;
  /** Default 5 s. */
  policyPollMs?: number;
  reportApis: readonly ReportApi[];
  /** Re-evaluate everything this often (`--resync`). */
  resyncMs: number;
  /** Default 1 s. */
  debounceMs?: number;
  /** Default 10 s. */
  maxDelayMs?: number;
  /** Items per list page (default 500). */
  pageSize?: number;
  /** Split reports above this many bytes (default: the writer's). */
  maxReportBytes?: number;
  metrics: ControllerMetrics;
  log: ControllerLog;
  /** Whether this replica may write now (it leads). Checked before every write. */
  canWrite: () => boolean;
  /** Server-side watch timeout (default random 5–10 min). */
  watchTimeoutSeconds?: () => number;
  backoff?: Backoff;
}

/** The continuous audit of one cluster. */
export interface Controller {
  /**
   * Watch and evaluate until `signal` aborts (the leader runs this; a standby does not).
   * Starts from scratch each time: every report is re-checked. Never throws.
   */
  run(signal: AbortSignal): Promise<void>;
  /** Whether the watches have started and the first evaluation of everything is done. */
  synced(): boolean;
}

const CLUSTER = "\u0000cluster";
const POLICIES = "\u0000policies";

/** A report's content digest (timestamps and metadata left out, as the writer compares). */
export function reportDigest(report: PolicyReport): string {
  const results = report.results.map(({ timestamp: _timestamp, ...rest }) => rest);
  return createHash("sha256")
    .update(JSON.stringify({ name: report.metadata.name, summary: report.summary, results }))
    .digest("hex");
}

/** Create a controller (nothing runs until `run`). Never throws. */
export function createController(client: KubeClient, options: ControllerOptions): Controller {
  const debounce = options.debounceMs ?? 1000;
  const maxDelay = options.maxDelayMs ?? 10_000;
  const pageSize = options.pageSize ?? 500;
  const { metrics, log } = options;
  let isSynced = false;

  const run = async (signal: AbortSignal): Promise<void> => {
    isSynced = false;
    const known = new Set<string>(options.namespace !== undefined ? [options.namespace] : []);
    const digests = new Map<string, string>();
    const dirty = new Map<string, { first: number; last: number; notBefore: number; attempts: number }>();
    const unavailableKinds = new Set<string>();
    const warnedKinds = new Set<string>();
    let policies: PolicySet | undefined;
    // Until the cluster's policies have loaded once nothing is evaluated: reports written
    // without them would drop their results.
    let policiesReady = false;
    let fileResources: Resource[] = [];
    let fileDigest = "";
    // The digest of the files as last read, good or not: a broken file is reported once.
    let seenDigest = "";
    let paramWatch = { configMaps: false, names: new Set<string>(), selector: false };
    const paramWatches = new Map<string, AbortController>();
    const watches: Promise<void>[] = [];
    let listsPending = 0;
    let refreshing = 0;

    let wake: (() => void) | undefined;
    const mark = (key: string, attempts = 0, delay = 0) => {
      const now = Date.now();
      const entry = dirty.get(key);
      if (entry && delay === 0) entry.last = now;
      else dirty.set(key, { first: entry?.first ?? now, last: now, notBefore: now + delay, attempts });
      metrics.queueDepth.set(dirty.size);
      wake?.();
    };
    const markAll = () => {
      for (const ns of known) mark(ns);
      if (options.namespace === undefined) mark(CLUSTER);
    };
    const due = (key: string, e: { first: number; last: number; notBefore: number }) =>
      Math.max(
        e.notBefore,
        key === POLICIES ? e.last + debounce : Math.min(e.last + debounce, e.first + maxDelay),
      );

    // --- watches -------------------------------------------------------------------------
    const startWatch = (
      kind: KindSpec,
      onEvent: (object: KubeObject) => void,
      onRelist: (reason: "initial" | "gone") => void,
      own?: AbortSignal,
    ) => {
      const label = `${kind.resource}${kind.group === "" ? "" : `.${kind.group}`}`;
      listsPending++;
      let listed = false;
      const watchSignal = own ? AbortSignal.any([signal, own]) : signal;
      watches.push(
        runWatch(client, kind, {
          ...(options.namespace !== undefined && kind.namespaced ? { namespace: options.namespace } : {}),
          signal: watchSignal,
          ...(options.watchTimeoutSeconds ? { timeoutSeconds: options.watchTimeoutSeconds } : {}),
          ...(options.backoff ? { backoff: options.backoff } : {}),
          onEvent: (event) => {
            metrics.watchEvents.inc({ kind: label, type: event.type });
            onEvent(event.object);
          },
          onList: (reason) => {
            metrics.relists.inc({ kind: label, reason });
            unavailableKinds.delete(kind.kind);
            if (reason === "gone") log({ level: "info", msg: "relist after 410 Gone", kind: label });
            if (!listed) {
              listed = true;
              listsPending--;
            }
            onRelist(reason);
          },
          onRestart: (end) => metrics.watchRestarts.inc({ kind: label, reason: end }),
          onError: (message, delayMs) =>
            log({ level: "warn", msg: "watch failed; retrying", kind: label, error: message, delayMs }),
          onUnavailable: (message) => {
            unavailableKinds.add(kind.kind);
            if (!warnedKinds.has(label))
              log({
                level: "warn",
                msg: "cannot watch; retrying every 5 minutes",
                kind: label,
                error: message,
              });
            warnedKinds.add(label);
            if (!listed) {
              listed = true;
              listsPending--;
            }
          },
        }),
      );
    };

    const namespaceOf = (object: KubeObject) =>
      (object.metadata as { namespace?: unknown } | undefined)?.namespace;
    const nameOf = (object: KubeObject) =>
      String((object.metadata as { name?: unknown } | undefined)?.name ?? "");

    const isParam = (object: KubeObject) => {
      if (!paramWatch.configMaps) return false;
      // Every ConfigMap of the cluster is loaded as a possible param; only those a binding
      // names (or any, when a binding selects params by label) reload the policies.
      return paramWatch.selector || paramWatch.names.has(nameOf(object));
    };

    // Namespaces: their names are all the controller keeps of them.
    const refreshNamespaces = async () => {
      refreshing++;
      const listed = await listAll(client, NAMESPACE_KIND, { limit: pageSize });
      refreshing--;
      if (!listed.ok) {
        log({ level: "warn", msg: "cannot list namespaces", error: listed.error.message });
        return;
      }
      known.clear();
      for (const object of listed.value) known.add(nameOf(object));
      for (const ns of digests.keys()) if (!known.has(ns)) digests.delete(ns);
      markAll();
    };
    if (options.namespace === undefined) {
      startWatch(
        NAMESPACE_KIND,
        (object) => {
          const name = nameOf(object);
          known.add(name);
          mark(name);
        },
        () => void refreshNamespaces(),
      );
    }
    for (const kind of NAMESPACED_KINDS)
      startWatch(
        kind,
        (object) => {
          const ns = namespaceOf(object);
          if (typeof ns === "string") mark(ns);
          if (kind.kind === "ConfigMap" && isParam(object)) mark(POLICIES);
        },
        () => {
          for (const ns of known) mark(ns);
        },
      );
    if (options.namespace === undefined)
      for (const kind of CLUSTER_KINDS)
        startWatch(
          kind,
          () => mark(CLUSTER),
          () => mark(CLUSTER),
        );
    for (const kind of POLICY_KINDS)
      startWatch(
        kind,
        () => mark(POLICIES),
        () => mark(POLICIES),
      );

    // --- policies ------------------------------------------------------------------------
    const isTransient = (warning: string) =>
      warning.includes("cannot reach the API server") ||
      /\(HTTP (5\d\d|429)\)|HTTP (5\d\d|429)$/.test(warning);

    const reloadPolicies = async (attempts: number): Promise<void> => {
      if (options.loadPolicyFiles) {
        const files = await options.loadPolicyFiles();
        seenDigest = files.digest;
        if (files.errors.length > 0 && fileDigest !== "") {
          for (const e of files.errors)
            log({
              level: "error",
              msg: "invalid --policy file; keeping the previous version",
              file: e.file,
              error: e.message,
            });
        } else {
          fileResources = files.resources;
          fileDigest = files.digest;
        }
      }
      const warnings: string[] = [];
      const errors: InputError[] = [];
      const loaded = await loadClusterPolicies(client, fileResources, warnings, errors);
      if (warnings.some(isTransient)) {
        const delay = backoffDelay(attempts + 1, options.backoff);
        log({
          level: "warn",
          msg: "cannot load the cluster's policies; retrying",
          error: warnings.find(isTransient),
          delayMs: delay,
        });
        mark(POLICIES, attempts + 1, delay);
        return;
      }
      for (const w of warnings) log({ level: "warn", msg: "policy", warning: w });
      for (const e of errors) log({ level: "error", msg: "policy", file: e.file, error: e.message });
      policies = loaded;
      policiesReady = true;
      metrics.policyLoads.inc({ reason: attempts > 0 ? "retry" : "change" });
      // Which ConfigMaps are params (a change to one reloads the policies).
      const next = { configMaps: false, names: new Set<string>(), selector: false };
      const kinds = new Map<string, { apiVersion: string; kind: string }>();
      for (const compiled of loaded?.policies ?? []) {
        const pk = compiled.policy.spec.paramKind;
        if (!pk) continue;
        if (pk.apiVersion === "v1" && pk.kind === "ConfigMap") next.configMaps = true;
        else kinds.set(`${pk.apiVersion}/${pk.kind}`, { apiVersion: pk.apiVersion, kind: pk.kind });
      }
      for (const binding of loaded?.bindings ?? []) {
        const ref = binding.spec.paramRef;
        if (!ref) continue;
        if (ref.selector) next.selector = true;
        if (ref.name) next.names.add(ref.name);
      }
      paramWatch = next;
      // Custom param kinds are watched while a policy uses them.
      for (const [key, controller] of paramWatches)
        if (!kinds.has(key)) {
          controller.abort();
          paramWatches.delete(key);
        }
      for (const [key, { apiVersion, kind }] of kinds) {
        if (paramWatches.has(key)) continue;
        const spec = await discoverKind(client, apiVersion, kind);
        if (!spec.ok) continue;
        const own = new AbortController();
        paramWatches.set(key, own);
        startWatch(
          spec.value,
          () => mark(POLICIES),
          // Changes may have been missed before a 410; the initial list needs nothing.
          (reason) => {
            if (reason === "gone") mark(POLICIES);
          },
          own.signal,
        );
      }
      markAll();
    };

    // --- evaluation ----------------------------------------------------------------------
    const evaluateOptions = (now: Date) => ({
      rules: options.rules,
      pssVersion: options.pssVersion,
      knownRuleIds: options.knownRuleIds,
      ...(options.exceptions ? { exceptions: options.exceptions } : {}),
      now,
      showPassed: true,
      ...(policies ? { policies } : {}),
    });

    const uidsOf = (
      resources: readonly Resource[],
      findings: readonly Finding[],
      into: Map<string, string>,
    ) => {
      const flagged = new Set(findings.map((f) => refKey(f.resource)));
      for (const resource of resources) {
        const key = refKey(resource.ref);
        const uid = (resource.object.metadata as { uid?: unknown } | undefined)?.uid;
        if (flagged.has(key) && typeof uid === "string") into.set(key, uid);
      }
    };

    /** Write a report unless its digest is the one written last. False: retry later. */
    const write = async (key: string, report: PolicyReport): Promise<boolean> => {
      const digest = reportDigest(report);
      if (digests.get(key) === digest) {
        metrics.reportsCached.inc();
        return true;
      }
      if (!options.canWrite()) return true;
      const outcomes = await writeReport(client, report, {
        apis: options.reportApis,
        ...(options.maxReportBytes !== undefined ? { maxBytes: options.maxReportBytes } : {}),
        canWrite: options.canWrite,
      });
      for (const o of outcomes) metrics.reports.inc({ api: apiOf(o), action: o.action });
      const failed = outcomes.filter((o) => o.action === "failed");
      for (const o of failed)
        log({
          level: "warn",
          msg: "cannot write report",
          kind: o.kind,
          namespace: o.namespace,
          name: o.name,
          error: o.message,
        });
      const changed = outcomes.filter(
        (o) => o.action !== "unchanged" && o.action !== "failed" && o.action !== "skipped",
      );
      if (changed.length > 0)
        log({
          level: "info",
          msg: "report written",
          namespace: report.metadata.namespace,
          writes: changed.map((o) => `${o.action} ${o.kind} ${o.name}`),
        });
      if (failed.length > 0) return false;
      if (!outcomes.some((o) => o.action === "skipped")) digests.set(key, digest);
      return true;
    };

    type Evaluated = "ok" | "retry";

    const evaluateNamespace = async (ns: string): Promise<Evaluated> => {
      const now = new Date();
      const got = await client.send("GET", `/api/v1/namespaces/${encodeURIComponent(ns)}`);
      if (!got.ok) return "retry";
      let namespaceObject: KubeObject;
      if (got.value.status === 404) {
        known.delete(ns);
        digests.delete(ns);
        return "ok";
      }
      if (got.value.status === 200 && got.value.body !== null && typeof got.value.body === "object") {
        namespaceObject = { apiVersion: "v1", kind: "Namespace", ...(got.value.body as KubeObject) };
        if ((namespaceObject.status as { phase?: unknown } | undefined)?.phase === "Terminating") {
          digests.delete(ns);
          return "ok";
        }
      } else if (got.value.status === 403) {
        namespaceObject = {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: ns, labels: { "kubernetes.io/metadata.name": ns } },
        };
      } else return "retry";
      if (options.namespace === undefined) known.add(ns);

      const batch: Resource[] = [makeResource(namespaceObject)];
      const lists = await Promise.all(
        NAMESPACED_KINDS.filter((kind) => !unavailableKinds.has(kind.kind)).map(async (kind) => {
          const items: KubeObject[] = [];
          for await (const page of listPages(client, kind, { namespace: ns, limit: pageSize })) {
            if (!page.ok) return { items, error: page.error };
            items.push(...page.value);
          }
          return { items, error: undefined };
        }),
      );
      for (const { items, error } of lists) {
        // A kind the watch can read but this list cannot is a passing problem (an API server
        // starting up): writing now would drop its results, so try again later.
        if (error) return "retry";
        for (const item of items) batch.push(makeResource(item));
      }
      const findings = evaluate(batch, evaluateOptions(now));
      const uids = new Map<string, string>();
      uidsOf(batch, findings, uids);
      batch.length = 0;
      const report = buildPolicyReports(findings, {
        namespaces: [ns],
        cluster: false,
        now,
        uids,
      }).namespaced.get(ns);
      if (!report) return "ok";
      return (await write(ns, report)) ? "ok" : "retry";
    };

    const evaluateCluster = async (): Promise<Evaluated> => {
      const now = new Date();
      const findings: Finding[] = [];
      const uids = new Map<string, string>();
      for (const kind of CLUSTER_KINDS) {
        if (unavailableKinds.has(kind.kind)) continue;
        for await (const page of listPages(client, kind, { limit: pageSize })) {
          if (!page.ok) return "retry";
          const resources = page.value.map((object) => makeResource(object));
          const batch = evaluate(resources, evaluateOptions(now));
          uidsOf(resources, batch, uids);
          findings.push(...batch);
        }
      }
      const report = buildPolicyReports(findings, { namespaces: [], cluster: true, now, uids }).cluster;
      if (!report) return "ok";
      return (await write(CLUSTER, report)) ? "ok" : "retry";
    };

    // --- timers --------------------------------------------------------------------------
    const timers: NodeJS.Timeout[] = [];
    timers.push(
      setInterval(() => {
        log({ level: "info", msg: "resync" });
        digests.clear();
        mark(POLICIES);
      }, options.resyncMs),
    );
    if (options.loadPolicyFiles) {
      const load = options.loadPolicyFiles;
      timers.push(
        setInterval(() => {
          void load().then((files) => {
            if (files.digest !== seenDigest) {
              seenDigest = files.digest;
              log({ level: "info", msg: "--policy files changed" });
              mark(POLICIES);
            }
          });
        }, options.policyPollMs ?? 5000),
      );
    }

    // --- the worker ----------------------------------------------------------------------
    log({ level: "info", msg: "controller started", namespace: options.namespace ?? "(all)" });
    await reloadPolicies(0);
    while (!signal.aborted) {
      const now = Date.now();
      // Policies first when due (every evaluation depends on them); otherwise the earliest.
      const policyEntry = dirty.get(POLICIES);
      let next: string | undefined;
      let nextDue = Number.POSITIVE_INFINITY;
      if (policyEntry && due(POLICIES, policyEntry) <= now) {
        next = POLICIES;
        nextDue = now;
      } else
        for (const [key, entry] of dirty) {
          if (key !== POLICIES && !policiesReady) continue;
          const at = due(key, entry);
          if (at < nextDue) {
            nextDue = at;
            next = key;
          }
        }
      if (policyEntry) nextDue = Math.min(nextDue, due(POLICIES, policyEntry));
      if (next === undefined || nextDue > now) {
        if (!isSynced && policiesReady && listsPending === 0 && refreshing === 0 && dirty.size === 0) {
          isSynced = true;
          log({ level: "info", msg: "synced: every namespace evaluated" });
        }
        const waitMs = Number.isFinite(nextDue) ? Math.max(1, nextDue - now) : 60_000;
        await Promise.race([sleep(waitMs, signal), new Promise<void>((resolve) => (wake = resolve))]);
        wake = undefined;
        continue;
      }
      const entry = dirty.get(next);
      dirty.delete(next);
      metrics.queueDepth.set(dirty.size);
      const attempts = entry?.attempts ?? 0;
      if (next === POLICIES) {
        await reloadPolicies(attempts);
        continue;
      }
      const scope = next === CLUSTER ? "cluster" : "namespace";
      const stop = metrics.evaluationSeconds.startTimer({ scope });
      let outcome: Evaluated;
      try {
        outcome = next === CLUSTER ? await evaluateCluster() : await evaluateNamespace(next);
      } catch (e) {
        log({
          level: "error",
          msg: "evaluation failed",
          namespace: next,
          error: e instanceof Error ? e.message : String(e),
        });
        outcome = "retry";
      }
      stop();
      metrics.evaluations.inc({ scope, outcome: outcome === "ok" ? "ok" : "error" });
      if (outcome === "retry" && !signal.aborted)
        mark(next, attempts + 1, backoffDelay(attempts + 1, options.backoff));
    }
    for (const timer of timers) clearInterval(timer);
    for (const controller of paramWatches.values()) controller.abort();
    await Promise.all(watches);
    isSynced = false;
    log({ level: "info", msg: "controller stopped" });
  };

  return { run, synced: () => isSynced };
}

function apiOf(outcome: WriteOutcome): ReportApi {
  return outcome.apiVersion.startsWith("openreports.io") ? "openreports" : "wgpolicyk8s";
}
