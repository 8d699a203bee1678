/**
 * `belay controller`: the continuous audit (src/audit/controller.ts) with leader election
 * (src/kube/lease.ts), a metrics and health server, and a clean shutdown: on SIGTERM the
 * leader stops writing, releases its Lease (a standby takes over at once) and exits 0.
 * Thin: flags → src/audit + src/kube.
 */
import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { Command } from "commander";
import { createController, type PolicyFiles, parseReportApi, REPORT_API_CHOICES } from "../audit/index.ts";
import { loadPolicySet } from "../engine/policies.ts";
import { createLeaderElector, loadKubeConfig, makeKubeClient } from "../kube/index.ts";
import { PROFILES, RULE_IDS } from "../rules/index.ts";
import { loadPaths } from "../sources/files.ts";
import { resolveEvaluation } from "./evaluation-flags.ts";
import { type CliIO, collect, EXIT, UsageError, waitForSignal } from "./io.ts";

/** Parsed `controller` flags. */
export interface ControllerFlags {
  context?: string;
  namespace?: string;
  profile?: string[];
  rules?: string[];
  skipRules?: string[];
  pssVersion: string;
  exceptions?: string;
  policy?: string[];
  reportApi: string;
  resync: string;
  leaseNamespace?: string;
  leaseName: string;
  leaderElect: string | boolean;
  metricsPort: string;
  metricsHost: string;
  pageSize: string;
}

/** Hooks for tests; the defaults are the real process's. */
export interface ControllerRuntime {
  /** Resolves when the controller should stop. Default: the first SIGTERM or SIGINT. */
  stopSignal?: Promise<string>;
  /** Called once the metrics server listens. */
  onListening?: (port: number) => void;
  /** Leader election identity (default: hostname + random suffix). */
  identity?: string;
  /** Lease timings in ms (default 15 s / 10 s / 2 s as client-go). */
  lease?: { durationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number; releaseOnStop?: boolean };
  /** Debounce of a namespace's re-evaluation in ms (default 1 s). */
  debounceMs?: number;
  /** Server-side watch timeout (default random 5–10 min). */
  watchTimeoutSeconds?: () => number;
  /** Backoff of retries (default 0.5 s doubling to 30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Split reports above this many bytes (default ~1 MB). */
  maxReportBytes?: number;
  /** How often the `--policy` files are re-read (default 5 s). */
  policyPollMs?: number;
}

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Register `controller` on the program; the action sets `state.exitCode`. */
export function registerController(
  program: Command,
  io: CliIO,
  state: { exitCode: number },
  runtime: ControllerRuntime = {},
): void {
  program
    .command("controller")
    .description(
      "Audit the cluster continuously: watch, re-evaluate on change, keep PolicyReports up to date (leader-elected; metrics and health on --metrics-port)",
    )
    .option("--context <name>", "kubeconfig context (default: the current one, or in-cluster)")
    .option(
      "-n, --namespace <ns>",
      "watch and report only this namespace (cluster-scoped objects are left out)",
    )
    .option("--profile <profile>", `rule set: ${PROFILES.join(", ")} (repeatable; default all)`, collect)
    .option("--rules <ids>", "run only these rules (comma-separated, repeatable)", collect)
    .option("--skip-rules <ids>", "leave out these rules (comma-separated, repeatable)", collect)
    .option("--pss-version <version>", "Pod Security Standards version: v1.0 … v1.N or latest", "latest")
    .option("--exceptions <file>", "exceptions file (rules, resources, reason, owner, expiry)")
    .option(
      "--policy <path>",
      "more ValidatingAdmissionPolicy + binding YAML (file or directory, with param objects) beside the cluster's own; re-read when it changes (repeatable)",
      collect,
    )
    .option("--report-api <api>", `reports to write: ${REPORT_API_CHOICES.join(", ")}`, "both")
    .option("--resync <duration>", "re-evaluate everything this often (e.g. 10m, 1h)", "10m")
    .option("--leader-elect [bool]", "elect one writing leader through a Lease (true or false)", "true")
    .option("--lease-namespace <ns>", "namespace of the Lease (default: the pod's own, else default)")
    .option("--lease-name <name>", "name of the Lease", "belay-controller")
    .option("--metrics-port <port>", "port of /metrics, /healthz and /readyz (0: any free port)", "8080")
    .option("--metrics-host <address>", "address of the metrics server (0.0.0.0 in a pod)", "127.0.0.1")
    .option("--page-size <n>", "objects per list request", "500")
    .action(async (flags: ControllerFlags) => {
      state.exitCode = await runController(flags, io, runtime);
    });
}

/**
 * Parse a duration such as `10m`, `90s`, `1h30m` (Go's units h, m, s, ms) into ms, or
 * undefined when it is not one. Never throws.
 */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const [, value, , u] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s)/g))
    total += Number(value) * (unit[u ?? "s"] ?? 0);
  return total;
}

/** Run the controller until stopped. Returns 0 after a clean shutdown; throws UsageError listing every problem. */
export async function runController(
  flags: ControllerFlags,
  io: CliIO,
  runtime: ControllerRuntime = {},
): Promise<number> {
  const problems: string[] = [];
  const { pssVersion, rules, exceptions } = await resolveEvaluation({
    output: "table",
    failOn: "low",
    pssVersion: flags.pssVersion,
    ...(flags.profile ? { profile: flags.profile } : {}),
    ...(flags.rules ? { rules: flags.rules } : {}),
    ...(flags.skipRules ? { skipRules: flags.skipRules } : {}),
    ...(flags.exceptions !== undefined ? { exceptions: flags.exceptions } : {}),
  });
  const reportApis = parseReportApi(flags.reportApi);
  if (reportApis === undefined)
    problems.push(`--report-api: unknown "${flags.reportApi}"; use one of ${REPORT_API_CHOICES.join(", ")}`);
  const resyncMs = parseDuration(flags.resync);
  if (resyncMs === undefined || resyncMs < 1000)
    problems.push(`--resync: "${flags.resync}" is not a duration of at least 1s (e.g. 10m, 1h)`);
  const leaderElect = flags.leaderElect === true || flags.leaderElect === "true";
  if (!leaderElect && flags.leaderElect !== false && flags.leaderElect !== "false")
    problems.push(`--leader-elect: "${String(flags.leaderElect)}" is not true or false`);
  const port = /^\d+$/.test(flags.metricsPort) ? Number(flags.metricsPort) : Number.NaN;
  if (Number.isNaN(port) || port > 65535)
    problems.push(`--metrics-port: "${flags.metricsPort}" is not a port number`);
  const pageSize = Number(flags.pageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1)
    problems.push(`--page-size: "${flags.pageSize}" is not a positive integer`);

  // --policy files: checked now (a broken file stops the start), re-read when they change.
  const loadPolicyFiles = flags.policy?.length
    ? async (): Promise<PolicyFiles> => {
        const loaded = await loadPaths(flags.policy ?? [], { readStdin: async () => "", cwd: io.cwd });
        const compiled = loadPolicySet(loaded.resources);
        return {
          resources: loaded.resources,
          errors: [...loaded.errors, ...compiled.errors],
          digest: createHash("sha256")
            .update(JSON.stringify(loaded.resources.map((r) => r.object)))
            .digest("hex"),
        };
      }
    : undefined;
  if (loadPolicyFiles) {
    if (flags.policy?.includes("-"))
      problems.push("--policy: stdin (-) cannot be re-read; give a file or directory");
    else
      for (const e of (await loadPolicyFiles()).errors)
        problems.push(`--policy: ${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ${e.message}`);
  }

  const kc = await loadKubeConfig(io.env, flags.context);
  if (!kc.ok) problems.push(kc.error.message);
  let leaseNamespace = flags.leaseNamespace;
  if (leaseNamespace === undefined)
    leaseNamespace =
      (await readFile(SERVICE_ACCOUNT_NAMESPACE, "utf8").catch(() => "default")).trim() || "default";
  if (problems.length > 0 || !kc.ok || reportApis === undefined || resyncMs === undefined)
    throw new UsageError(`controller not started:\n${problems.map((p) => `  ${p}`).join("\n")}`);

  const log = (entry: Record<string, unknown>) =>
    io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  const client = makeKubeClient(kc.value);
  // prom-client is loaded here, not at CLI startup (belay scan never needs it).
  const { createControllerMetrics, createHealthServer } = await import("../audit/controller-metrics.ts");
  const metrics = createControllerMetrics();
  let elector: ReturnType<typeof createLeaderElector> | undefined;
  const controller = createController(client, {
    rules,
    pssVersion,
    knownRuleIds: RULE_IDS,
    exceptions,
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
    ...(loadPolicyFiles ? { loadPolicyFiles } : {}),
    reportApis,
    resyncMs,
    pageSize,
    metrics,
    log,
    canWrite: () => elector?.isLeader() ?? true,
    ...(runtime.debounceMs !== undefined ? { debounceMs: runtime.debounceMs } : {}),
    ...(runtime.watchTimeoutSeconds ? { watchTimeoutSeconds: runtime.watchTimeoutSeconds } : {}),
    ...(runtime.backoff ? { backoff: runtime.backoff } : {}),
    ...(runtime.maxReportBytes !== undefined ? { maxReportBytes: runtime.maxReportBytes } : {}),
    ...(runtime.policyPollMs !== undefined ? { policyPollMs: runtime.policyPollMs } : {}),
  });

  let leading = false;
  const server = createHealthServer({ metrics, ready: () => !leading || controller.synced() });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, flags.metricsHost, () => resolve());
    });
  } catch (e) {
    client.close();
    throw new UsageError(
      `controller not started: cannot listen on ${flags.metricsHost}:${port}: ${(e as Error).message}`,
    );
  }
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  log({ level: "info", msg: "metrics server listening", address: `${flags.metricsHost}:${bound}` });
  runtime.onListening?.(bound);

  // The controller runs while this replica leads; losing the lease stops it (and its writes).
  let running: { stop: AbortController; done: Promise<void> } | undefined;
  const startLeading = () => {
    leading = true;
    metrics.leader.set(1);
    const stop = new AbortController();
    running = { stop, done: controller.run(stop.signal) };
  };
  const stopLeading = async () => {
    leading = false;
    metrics.leader.set(0);
    const current = running;
    running = undefined;
    current?.stop.abort();
    await current?.done;
  };

  const stopElection = new AbortController();
  let election: Promise<void>;
  if (leaderElect) {
    const identity = runtime.identity ?? `${hostname()}_${randomUUID().slice(0, 8)}`;
    log({ level: "info", msg: "leader election", lease: `${leaseNamespace}/${flags.leaseName}`, identity });
    elector = createLeaderElector(client, {
      namespace: leaseNamespace,
      name: flags.leaseName,
      identity,
      ...(runtime.lease?.durationMs !== undefined ? { leaseDurationMs: runtime.lease.durationMs } : {}),
      ...(runtime.lease?.renewDeadlineMs !== undefined
        ? { renewDeadlineMs: runtime.lease.renewDeadlineMs }
        : {}),
      ...(runtime.lease?.retryPeriodMs !== undefined ? { retryPeriodMs: runtime.lease.retryPeriodMs } : {}),
      ...(runtime.lease?.releaseOnStop !== undefined ? { releaseOnStop: runtime.lease.releaseOnStop } : {}),
      onStartedLeading: () => {
        log({ level: "info", msg: "became leader", identity });
        startLeading();
      },
      onStoppedLeading: () => {
        log({ level: "info", msg: "stopped leading", identity });
        void stopLeading();
      },
      onError: (message) => log({ level: "warn", msg: "leader election", error: message }),
    });
    election = elector.run(stopElection.signal);
  } else {
    startLeading();
    election = Promise.resolve();
  }

  const signal = await (runtime.stopSignal ?? waitForSignal());
  log({ level: "info", msg: `received ${signal}; stopping` });
  // Stop writing first, then release the lease so a standby takes over at once.
  await stopLeading();
  stopElection.abort();
  await election;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
  client.close();
  return EXIT.clean;
}
