/**
 * `clusterPolicies: true`: the webhook also enforces the ValidatingAdmissionPolicy, binding
 * and param objects stored in the cluster, and reads live Namespace objects (their labels
 * drive bindings' namespaceSelector). They are reloaded when a watch says a policy, binding
 * or namespace changed, and periodically as a safety net (param objects are not watched);
 * a failed reload keeps the previous set, so an API server hiccup never drops enforcement.
 * The loading is the audit's (`loadClusterPolicies`) and the watching `runWatch`, both
 * passed in so this module stays free of kube I/O.
 */
import type { PolicySet } from "../engine/policies.ts";
import type { KubeObject } from "../resources/types.ts";

/** One load of the cluster's state. */
export interface ClusterSnapshot {
  /** Undefined when neither the cluster nor the files hold a policy. */
  policies: PolicySet | undefined;
  /** Namespaces by name; undefined when they could not be listed (the previous ones are kept). */
  namespaces: Map<string, KubeObject> | undefined;
  /** Problems that did not stop the load (a kind not served, a broken cluster policy). */
  warnings: string[];
}

/** Options of {@link startClusterPolicies}. */
export interface ClusterPolicyOptions {
  load(): Promise<ClusterSnapshot>;
  /** Called after each load that produced a policy set (or none). */
  apply(policies: PolicySet | undefined): void;
  refreshMs: number;
  log(event: string, fields?: Record<string, unknown>): void;
  /** Counts reloads by result (metrics). */
  count?(result: "ok" | "error"): void;
  /**
   * Start change signals: call `changed` when something the policies depend on changed.
   * Runs until `signal` aborts. Reloads are debounced by `debounceMs` (default 200 ms).
   */
  watch?(changed: () => void, signal: AbortSignal): void;
  debounceMs?: number;
}

/** A running refresher. */
export interface ClusterPolicies {
  /** The live Namespace by name (from the last successful listing). */
  namespace(name: string): KubeObject | undefined;
  /** Load now (the timer calls it too). Never rejects. */
  refresh(): Promise<void>;
  stop(): void;
}

/** Fingerprint of a policy set: its objects' metadata (resourceVersion changes on every write) and bindings. */
function fingerprint(set: PolicySet | undefined): string {
  if (!set) return "";
  return JSON.stringify([
    set.policies.map((p) => p.policy.source.object.metadata),
    set.bindings.map((b) => [b.metadata.name, b.spec]),
    set.params.map((p) => p.metadata),
  ]);
}

/** Load once (awaited, so the server starts with the cluster's policies), then every `refreshMs`. */
export async function startClusterPolicies(options: ClusterPolicyOptions): Promise<ClusterPolicies> {
  let namespaces = new Map<string, KubeObject>();
  let last: string | undefined;
  let running: Promise<void> | undefined;
  const refreshOnce = async () => {
    let snapshot: ClusterSnapshot;
    try {
      snapshot = await options.load();
    } catch (e) {
      options.count?.("error");
      options.log("cluster policies reload failed", {
        level: "error",
        error: `${(e as Error).message}; keeping the previous policies`,
      });
      return;
    }
    if (snapshot.namespaces) namespaces = snapshot.namespaces;
    for (const warning of snapshot.warnings) options.log("cluster policies", { level: "warn", warning });
    const current = fingerprint(snapshot.policies);
    options.count?.("ok");
    if (current === last) return;
    last = current;
    options.apply(snapshot.policies);
    options.log("cluster policies loaded", {
      policies: snapshot.policies?.policies.length ?? 0,
      bindings: snapshot.policies?.bindings.length ?? 0,
      namespaces: namespaces.size,
    });
  };
  const refresh = () => {
    running ??= refreshOnce().finally(() => {
      running = undefined;
    });
    return running;
  };
  await refresh();
  const timer = setInterval(() => void refresh(), options.refreshMs);
  timer.unref();
  const stopWatching = new AbortController();
  let debounce: NodeJS.Timeout | undefined;
  let pending = false;
  const changed = () => {
    if (stopWatching.signal.aborted) return;
    clearTimeout(debounce);
    debounce = setTimeout(async () => {
      // A change during a reload needs another one: the running load may predate it.
      if (running) {
        pending = true;
        await running;
        if (!pending) return;
      }
      pending = false;
      await refresh();
    }, options.debounceMs ?? 200);
    debounce.unref();
  };
  options.watch?.(changed, stopWatching.signal);
  return {
    namespace: (name) => namespaces.get(name),
    refresh,
    stop: () => {
      clearInterval(timer);
      clearTimeout(debounce);
      stopWatching.abort();
    },
  };
}
