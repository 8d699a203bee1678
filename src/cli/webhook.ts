/**
 * `belay webhook`: the admission webhook (HTTPS, AdmissionReview v1). Reads the config file,
 * certificate, key, exceptions and policies once, refuses to start listing every problem,
 * then serves until SIGTERM or SIGINT, draining in-flight requests. Flags given on the
 * command line override the config file. fastify, prom-client and the Kubernetes client are
 * loaded only here, when the command runs, so other commands do not pay for them.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { AppendLog } from "../admission/append-log.ts";
import {
  type ActionTable,
  AUTHORIZER_MODES,
  DEFAULT_CLUSTER_POLICIES_REFRESH_MS,
  DEFAULT_EXEMPT_NAMESPACES,
  FAILURE_MODES,
  MAX_WORKERS,
  parseWebhookConfig,
  parseWorkers,
  type WebhookConfig,
} from "../admission/config.ts";
import { autoWorkers, cgroupCpuLimit } from "../admission/cpu-limit.ts";
import { policiesUsingAuthorizer } from "../admission/policies.ts";
import type { LineWriter, LiveAuthorizer } from "../admission/reviewer.ts";
import type { WorkerLink } from "../admission/workers.ts";
import { loadPolicySet, type PolicySet } from "../engine/policies.ts";
import type { RuleException } from "../policy/exceptions.ts";
import type { Resource } from "../resources/types.ts";
import { loadPaths } from "../sources/files.ts";
import { addRuleSelectionOptions, readExceptions } from "./evaluation-flags.ts";
import { type CliIO, collect, EXIT, splitList, UsageError, waitForSignal } from "./io.ts";

/** Parsed `webhook` flags. */
export interface WebhookFlags {
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  port: string;
  host: string;
  policy?: string[];
  profile?: string[];
  rules?: string[];
  skipRules?: string[];
  exceptions?: string;
  pssVersion?: string;
  exemptNamespaces?: string;
  failureMode?: string;
  decisionLog?: string;
  clusterPolicies?: boolean;
  context?: string;
  authorizer?: string;
  mutate?: boolean;
  workers?: string;
}

/** How the command waits for its stop signal; tests pass their own. */
export interface WebhookRuntime {
  /** Resolves when the server should shut down. Default: the first SIGTERM or SIGINT. */
  stopSignal?: Promise<string>;
  /** Called once the server listens. */
  onListening?: (port: number) => void;
  /** Certificate file poll period (default 10 s; fs.watch events check sooner). */
  certPollMs?: number;
}

/** Register `webhook` on the program; the action sets `state.exitCode`. */
export function registerWebhook(
  program: Command,
  io: CliIO,
  state: { exitCode: number },
  runtime: WebhookRuntime = {},
): void {
  const command = program
    .command("webhook")
    .description("Run the admission webhook (HTTPS, AdmissionReview admission.k8s.io/v1)")
    .option("--config <file>", "WebhookConfig YAML (belay.dev/v1alpha1); flags override it")
    .option("--tls-cert <file>", "PEM serving certificate (chain); reloaded when the file changes")
    .option("--tls-key <file>", "PEM private key; reloaded with the certificate")
    .option("--port <port>", "HTTPS port", "8443")
    .option("--host <address>", "address to listen on", "0.0.0.0")
    .option(
      "--policy <path>",
      "ValidatingAdmissionPolicy + binding YAML (file or directory, with param objects) to enforce beside the rules (repeatable)",
      collect,
    );
  addRuleSelectionOptions(command)
    .option("--exceptions <file>", "exceptions file (rules, resources, reason, owner, expiry)")
    .option(
      "--pss-version <version>",
      "Pod Security Standards version: v1.0 … v1.N or latest (default latest)",
    )
    .option(
      "--exempt-namespaces <names>",
      `namespaces admitted without evaluation, comma-separated; replaces the default (${DEFAULT_EXEMPT_NAMESPACES.join(",")})`,
    )
    .option(
      "--failure-mode <mode>",
      `when a request's deadline passes before belay decides: ${FAILURE_MODES.join(" or ")} (default deny)`,
    )
    .option("--decision-log <file>", "append one JSON line per decision to FILE (default stdout)")
    .option("--cluster-policies", "also enforce the ValidatingAdmissionPolicies stored in the cluster")
    .option(
      "--context <name>",
      "kubeconfig context for --cluster-policies and SubjectAccessReviews (default: current or in-cluster)",
    )
    .option(
      "--authorizer <mode>",
      `how policies' CEL authorizer checks are answered: ${AUTHORIZER_MODES.join(" or ")} (default sar: SubjectAccessReviews to the cluster; none: those checks fail and each policy's failurePolicy decides)`,
    )
    .option("--mutate", "serve POST /mutate: set safe securityContext defaults where unset")
    .option(
      "--workers <n>",
      `processes serving the port, 1…${MAX_WORKERS} or auto (one per CPU of the cgroup limit); more than 1 forks workers under a supervising primary (default 1)`,
    )
    .action(async (flags: WebhookFlags) => {
      state.exitCode = await runWebhook(flags, io, runtime);
    });
}

/** The settings after merging the config file and the flags. */
interface Settings {
  profiles: string[];
  rules: string[];
  skipRules: string[];
  exceptions?: string;
  pssVersion?: string;
  policies: string[];
  clusterPolicies: boolean;
  clusterPoliciesRefreshMs: number;
  authorizer: string;
  exemptNamespaces?: string[];
  failureMode?: string;
  actions?: ActionTable;
  decisionLog?: string;
  includeObjects: boolean;
  mutate: boolean;
  /** As given (`--workers` or the file), validated in `serve`. */
  workers: string | number;
}

/** Flags override the file; paths in the file are relative to the file. */
function merge(flags: WebhookFlags, config: WebhookConfig, configDir: string): Settings {
  const fromFile = (p: string) => resolve(configDir, p);
  const flagList = (values: string[] | undefined) => {
    const list = splitList(values);
    return list.length > 0 ? list : undefined;
  };
  const exceptions = flags.exceptions ?? (config.exceptions ? fromFile(config.exceptions) : undefined);
  const pssVersion = flags.pssVersion ?? config.pssVersion;
  const exempt =
    flags.exemptNamespaces !== undefined ? splitList([flags.exemptNamespaces]) : config.exemptNamespaces;
  const failureMode = flags.failureMode ?? config.failureMode;
  const decisionLog =
    flags.decisionLog ?? (config.decisionLog?.file ? fromFile(config.decisionLog.file) : undefined);
  return {
    profiles: flagList(flags.profile) ?? config.profiles ?? [],
    rules: flagList(flags.rules) ?? config.rules ?? [],
    skipRules: flagList(flags.skipRules) ?? config.skipRules ?? [],
    ...(exceptions !== undefined ? { exceptions } : {}),
    ...(pssVersion !== undefined ? { pssVersion } : {}),
    policies: flags.policy?.length ? flags.policy : (config.policies ?? []).map(fromFile),
    clusterPolicies: flags.clusterPolicies === true || config.clusterPolicies === true,
    clusterPoliciesRefreshMs: config.clusterPoliciesRefreshMs ?? DEFAULT_CLUSTER_POLICIES_REFRESH_MS,
    authorizer: flags.authorizer ?? config.authorizer ?? "sar",
    ...(exempt !== undefined ? { exemptNamespaces: exempt } : {}),
    ...(failureMode !== undefined ? { failureMode } : {}),
    ...(config.actions ? { actions: config.actions } : {}),
    ...(decisionLog !== undefined ? { decisionLog } : {}),
    includeObjects: config.decisionLog?.includeObjects === true,
    mutate: flags.mutate === true || config.mutate?.enabled === true,
    workers: flags.workers ?? config.workers ?? 1,
  };
}

/**
 * Run the webhook until stopped. Returns 0 after a clean shutdown; throws UsageError listing
 * every problem. With more than one worker this process validates everything, then
 * supervises forked copies of itself (src/admission/workers.ts); in such a forked worker a
 * startup problem goes to the primary, which reports it once, and 2 is returned.
 */
export async function runWebhook(
  flags: WebhookFlags,
  io: CliIO,
  runtime: WebhookRuntime = {},
): Promise<number> {
  const { joinPrimary } = await import("../admission/workers.ts");
  const link = joinPrimary();
  if (link === undefined) return serve(flags, io, runtime, undefined);
  try {
    return await serve(
      flags,
      { ...io, stderr: link.tag(io.stderr) },
      { ...runtime, stopSignal: link.stopSignal },
      link,
    );
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    await link.failed(e.message);
    return EXIT.usage;
  } finally {
    link.close();
  }
}

/** The webhook in this process (`link` set: as one worker of several). */
async function serve(
  flags: WebhookFlags,
  io: CliIO,
  runtime: WebhookRuntime,
  link: WorkerLink | undefined,
): Promise<number> {
  const problems: string[] = [];
  let config: WebhookConfig = {};
  let configDir = io.cwd;
  if (flags.config !== undefined) {
    configDir = dirname(resolve(io.cwd, flags.config));
    let text: string | undefined;
    try {
      text = await readFile(resolve(io.cwd, flags.config), "utf8");
    } catch (e) {
      problems.push(`--config: cannot read ${flags.config}: ${(e as Error).message}`);
    }
    if (text !== undefined) {
      const parsed = parseWebhookConfig(text, flags.config);
      if (parsed.ok) config = parsed.value;
      else problems.push(...(parsed.error.details ?? [parsed.error.message]));
    }
  }
  const settings = merge(flags, config, configDir);

  const readPem = async (file: string | undefined, flag: string): Promise<string> => {
    if (file === undefined) {
      problems.push(`--${flag} is required`);
      return "";
    }
    try {
      return await readFile(file, "utf8");
    } catch (e) {
      problems.push(`--${flag}: cannot read ${file}: ${(e as Error).message}`);
      return "";
    }
  };
  const cert = await readPem(flags.tlsCert, "tls-cert");
  const key = await readPem(flags.tlsKey, "tls-key");
  const port = /^\d+$/.test(flags.port) ? Number(flags.port) : Number.NaN;
  if (Number.isNaN(port)) problems.push(`--port: "${flags.port}" is not a port number`);
  const workersGiven = parseWorkers(settings.workers);
  if (workersGiven === undefined)
    problems.push(
      `--workers: must be an integer from 1 to ${MAX_WORKERS} or auto, got ${JSON.stringify(String(settings.workers))}`,
    );
  const workers =
    workersGiven === "auto"
      ? autoWorkers(availableParallelism(), cgroupCpuLimit(), MAX_WORKERS)
      : (workersGiven ?? 1);
  // Workers re-run this command line: standard input is the primary's, already read.
  if (workers > 1 && settings.policies.includes("-"))
    problems.push(
      "--workers: several workers cannot share policies read from stdin (--policy -); give a file",
    );

  let exceptions: RuleException[] = [];
  try {
    exceptions = await readExceptions(settings.exceptions);
  } catch (e) {
    problems.push(`exceptions: ${(e as Error).message}`);
  }

  let policies: PolicySet | undefined;
  let policyResources: Resource[] = [];
  if (settings.policies.length > 0) {
    const sources = await loadPaths(settings.policies, { readStdin: io.readStdin, cwd: io.cwd });
    const loaded = loadPolicySet(sources.resources);
    for (const e of [...sources.errors, ...loaded.errors])
      problems.push(`policies: ${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ${e.message}`);
    if (loaded.set.policies.length === 0 && loaded.errors.length === 0 && !settings.clusterPolicies)
      problems.push(`policies: no ValidatingAdmissionPolicy found in ${settings.policies.join(", ")}`);
    policies = loaded.set;
    policyResources = sources.resources;
  }

  if (!(AUTHORIZER_MODES as readonly string[]).includes(settings.authorizer))
    problems.push(`--authorizer: must be sar or none, got "${settings.authorizer}"`);
  // A live authorizer when policies need one now (files) or may later (the cluster's).
  let live: { authorizer: LiveAuthorizer; close(): void } | undefined;
  const needing = policies ? policiesUsingAuthorizer(policies) : [];
  if (settings.authorizer === "sar" && (needing.length > 0 || settings.clusterPolicies)) {
    const connected = await connectAuthorizer(io, flags.context, needing, problems.length === 0);
    if (connected.ok) live = connected.value;
    // Without file policies that need it, --cluster-policies reports the kubeconfig problem itself.
    else if (needing.length > 0) problems.push(connected.message);
  }

  let decisionFile: AppendLog | undefined;
  if (settings.decisionLog !== undefined) {
    try {
      decisionFile = new AppendLog(settings.decisionLog, (message) =>
        io.stderr.write(
          `${JSON.stringify({ time: new Date().toISOString(), level: "error", event: "decision log write failed", error: message })}\n`,
        ),
      );
    } catch (e) {
      problems.push(`--decision-log: cannot open ${settings.decisionLog}: ${(e as Error).message}`);
    }
  }
  // Several workers write to the same stdout or file: one write per line, tagged with the worker.
  const decisionLog: LineWriter = link ? link.tag(decisionFile ?? io.stdout) : (decisionFile ?? io.stdout);

  const { createWebhookServer } = await import("../admission/server.ts");
  const created = createWebhookServer({
    tlsCert: cert,
    tlsKey: key,
    port: Number.isNaN(port) ? 8443 : port,
    host: flags.host,
    profiles: settings.profiles,
    rules: settings.rules,
    skipRules: settings.skipRules,
    exceptions,
    ...(settings.pssVersion !== undefined ? { pssVersion: settings.pssVersion } : {}),
    ...(settings.exemptNamespaces !== undefined ? { exemptNamespaces: settings.exemptNamespaces } : {}),
    ...(settings.failureMode !== undefined ? { failureMode: settings.failureMode } : {}),
    ...(settings.actions ? { actions: settings.actions } : {}),
    ...(policies ? { policies } : {}),
    mutate: settings.mutate,
    includeObjects: settings.includeObjects,
    ...(live ? { authorizer: live.authorizer } : {}),
    namespaceObject: (name) => cluster?.namespace(name),
    decisionLog,
    log: io.stderr,
    ...(link ? { metricsText: () => link.metricsText() } : {}),
  });
  if (!created.ok) {
    // A missing cert/key is already reported; do not repeat it as an unusable pair.
    const skipTls = cert === "" || key === "";
    for (const detail of created.error.details ?? []) {
      if (!(skipTls && detail.startsWith("tls-"))) problems.push(detail);
    }
  }
  if (problems.length > 0 || !created.ok) {
    decisionFile?.close();
    live?.close();
    throw new UsageError(`webhook not started:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  const server = created.value;

  let cluster: import("../admission/cluster-policies.ts").ClusterPolicies | undefined;
  if (settings.clusterPolicies) {
    const started = await startCluster(flags, io, server, policyResources, settings.clusterPoliciesRefreshMs);
    if (!started.ok) {
      decisionFile?.close();
      live?.close();
      throw new UsageError(`webhook not started:\n  cluster policies: ${started.message}`);
    }
    cluster = started.value;
  }

  if (workers > 1 && link === undefined) {
    // Everything is valid: release what the checks opened (each worker opens its own), then supervise.
    cluster?.stop();
    live?.close();
    decisionFile?.close();
    const { runPrimary } = await import("../admission/workers.ts");
    const result = await runPrimary({
      workers,
      log: io.stderr,
      stopSignal: runtime.stopSignal ?? waitForSignal(),
      ...(runtime.onListening ? { onListening: runtime.onListening } : {}),
    });
    if (!result.ok) throw new UsageError(result.error);
    return EXIT.clean;
  }
  link?.serveMetrics(server.metrics);

  const { watchCertificate } = await import("../admission/tls-reload.ts");
  const certWatch =
    flags.tlsCert !== undefined && flags.tlsKey !== undefined
      ? await watchCertificate({
          certFile: flags.tlsCert,
          keyFile: flags.tlsKey,
          ...(runtime.certPollMs !== undefined ? { pollMs: runtime.certPollMs } : {}),
          onChange: (c, k) => server.setCertificate(c, k),
          log: (event, fields) => server.log(event, fields),
        })
      : undefined;

  try {
    const { port: bound } = await server.listen();
    runtime.onListening?.(bound);
    link?.listening(bound);
  } catch (e) {
    certWatch?.stop();
    cluster?.stop();
    live?.close();
    decisionFile?.close();
    const { listenErrorMessage } = await import("../admission/workers.ts");
    throw new UsageError(
      `webhook not started: cannot listen on ${flags.host}:${port}: ${listenErrorMessage(e)}`,
    );
  }
  const signal = await (runtime.stopSignal ?? waitForSignal());
  io.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: "info", event: `received ${signal}` })}\n`,
  );
  certWatch?.stop();
  cluster?.stop();
  await server.close();
  live?.close();
  decisionFile?.close();
  return EXIT.clean;
}

/**
 * The SubjectAccessReview authorizer for policies' `authorizer` checks, made as the webhook's
 * own identity (kubeconfig `--context`, else the current context or in-cluster). When
 * `needing` names policies that use it and `probe` is set, one review is sent first, so a
 * webhook that cannot reach the cluster or lacks `create` on subjectaccessreviews refuses to
 * start instead of failing every such request. Never throws.
 */
async function connectAuthorizer(
  io: CliIO,
  context: string | undefined,
  needing: readonly string[],
  probe: boolean,
): Promise<
  { ok: true; value: { authorizer: LiveAuthorizer; close(): void } } | { ok: false; message: string }
> {
  const { loadKubeConfig, makeKubeClient, statusMessage } = await import("../kube/index.ts");
  const { makeSarAuthorizer, subjectAccessReview } = await import("../kube/sar.ts");
  const who = `${needing.length === 1 ? "policy" : "policies"} ${needing.map((n) => `"${n}"`).join(", ")} ${needing.length === 1 ? "uses" : "use"} CEL's authorizer, which the webhook answers with SubjectAccessReviews`;
  const remedy =
    "give --context NAME or run belay in the cluster, or set --authorizer none (those checks then fail and each policy's failurePolicy decides)";
  const kc = await loadKubeConfig(io.env, context);
  if (!kc.ok) return { ok: false, message: `authorizer: ${who}, but ${kc.error.message}; ${remedy}` };
  const client = makeKubeClient(kc.value, { maxSockets: 8 });
  if (probe && needing.length > 0) {
    const sent = await client.send(
      "POST",
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      subjectAccessReview({ user: { name: "system:anonymous", groups: [] }, verb: "get", path: "/healthz" }),
    );
    const problem = !sent.ok
      ? sent.error.message
      : sent.value.status !== 201 && sent.value.status !== 200
        ? `the API server of context "${client.context}" answered: ${statusMessage(sent.value)}`
        : undefined;
    if (problem !== undefined) {
      client.close();
      return {
        ok: false,
        message: `authorizer: ${who}, but a test SubjectAccessReview failed: ${problem}; the webhook's identity needs to reach the API server and create subjectaccessreviews.authorization.k8s.io, or ${remedy}`,
      };
    }
  }
  return { ok: true, value: { authorizer: makeSarAuthorizer(client), close: () => client.close() } };
}

/** Connect to the cluster and load its policies once; the refresher then keeps them current. */
async function startCluster(
  flags: WebhookFlags,
  io: CliIO,
  server: { setPolicies(p: PolicySet | undefined): void; log(e: string, f?: Record<string, unknown>): void },
  fileResources: readonly Resource[],
  refreshMs: number,
): Promise<
  | { ok: true; value: import("../admission/cluster-policies.ts").ClusterPolicies }
  | { ok: false; message: string }
> {
  const { loadKubeConfig, makeKubeClient, listAll, NAMESPACE_KIND, POLICY_KINDS, runWatch } = await import(
    "../kube/index.ts"
  );
  const { loadClusterPolicies } = await import("../audit/run.ts");
  const { startClusterPolicies } = await import("../admission/cluster-policies.ts");
  const kc = await loadKubeConfig(io.env, flags.context);
  if (!kc.ok) return { ok: false, message: kc.error.message };
  const client = makeKubeClient(kc.value, { maxSockets: 2 });
  const value = await startClusterPolicies({
    refreshMs,
    log: (event, fields) => server.log(event, fields),
    apply: (set) => server.setPolicies(set),
    watch(changed, signal) {
      // A separate client: watches hold their connections open.
      const watcher = makeKubeClient(kc.value, { maxSockets: POLICY_KINDS.length + 1 });
      signal.addEventListener("abort", () => watcher.close(), { once: true });
      for (const kind of [...POLICY_KINDS, NAMESPACE_KIND])
        void runWatch(watcher, kind, {
          signal,
          onEvent: changed,
          onList: (reason) => {
            if (reason === "gone") changed();
          },
          onError: (message, delayMs) =>
            server.log("cluster policies watch error", { level: "warn", error: message, retryInMs: delayMs }),
          onUnavailable: (message) =>
            server.log("cluster policies watch unavailable", { level: "warn", error: message }),
        });
    },
    async load() {
      const warnings: string[] = [];
      const errors: { file: string; line?: number; message: string }[] = [];
      const policies = await loadClusterPolicies(client, fileResources, warnings, errors);
      for (const e of errors)
        warnings.push(`${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ${e.message}`);
      const listed = await listAll(client, NAMESPACE_KIND);
      if (!listed.ok)
        warnings.push(`${listed.error.message}; namespace labels are taken from the last listing`);
      const namespaces = listed.ok
        ? new Map(
            listed.value.map((ns) => [
              String((ns.metadata as { name?: unknown } | undefined)?.name ?? ""),
              ns,
            ]),
          )
        : undefined;
      return { policies, namespaces, warnings };
    },
  });
  return {
    ok: true,
    value: {
      ...value,
      stop() {
        value.stop();
        client.close();
      },
    },
  };
}
