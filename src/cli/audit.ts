/**
 * `belay audit`: check what is already in a cluster with the same engine as `belay scan`,
 * including the cluster's own ValidatingAdmissionPolicies, and optionally write
 * PolicyReports. Several contexts are audited concurrently (at most
 * {@link CLUSTER_CONCURRENCY} at once) and printed side by side. Thin: flags → src/audit →
 * output.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Command } from "commander";
import {
  type AuditProgress,
  auditCluster,
  buildPolicyReports,
  parseReportApi,
  REPORT_API_CHOICES,
  renderAuditSummary,
  renderClusterSummary,
  type WriteOutcome,
  writePolicyReports,
} from "../audit/index.ts";
import { mapLimit } from "../concurrency.ts";
import { buildReport } from "../engine/report.ts";
import type { Finding, InputError } from "../findings/finding.ts";
import { listKubeContexts, loadKubeConfig, makeKubeClient } from "../kube/index.ts";
import { clusterChunks, reportChunks, type ScanReport } from "../output/index.ts";
import type { Resource } from "../resources/types.ts";
import { ENGINE_RULE_METAS, RULE_IDS } from "../rules/index.ts";
import { loadPaths } from "../sources/files.ts";
import { VERSION } from "../version.ts";
import { addEvaluationOptions, type EvaluationFlags, resolveEvaluation } from "./evaluation-flags.ts";
import { type CliIO, collect, EXIT, UsageError } from "./io.ts";
import { exitCodeFor } from "./scan.ts";

/** Parsed `audit` flags. */
export interface AuditFlags extends EvaluationFlags {
  context?: string[];
  allContexts?: boolean;
  namespace?: string;
  policy?: string[];
  writeReports?: boolean;
  reportApi: string;
  pageSize: string;
}

/** Register `audit` on the program; the action sets `state.exitCode`. */
export function registerAudit(program: Command, io: CliIO, state: { exitCode: number }): void {
  const command = program
    .command("audit")
    .description(
      "Audit what is running in a cluster (kubeconfig context) with the same rules and policies as scan, including the cluster's ValidatingAdmissionPolicies; optionally write PolicyReports",
    )
    .option(
      "--context <name>",
      "kubeconfig context (repeatable: clusters are audited concurrently and shown side by side; default: the current one)",
      collect,
    )
    .option("--all-contexts", "audit every context of the kubeconfig")
    .option("-n, --namespace <ns>", "audit only this namespace (cluster-scoped objects are left out)");
  addEvaluationOptions(command)
    .option(
      "--policy <path>",
      "more ValidatingAdmissionPolicy + binding YAML (file or directory, with param objects) beside the cluster's own (repeatable)",
      collect,
    )
    .option(
      "--write-reports",
      "write a PolicyReport per namespace and a ClusterPolicyReport (wgpolicyk8s.io/v1alpha2)",
    )
    .option(
      "--report-api <api>",
      `report API for --write-reports: ${REPORT_API_CHOICES.join(", ")} (openreports.io/v1alpha1 Report and ClusterReport)`,
      "wgpolicyk8s",
    )
    .option("--page-size <n>", "objects per list request", "500")
    .action(async (flags: AuditFlags) => {
      state.exitCode = await runAudit(flags, io);
    });
}

/** Audits run at the same time with several contexts: enough to hide latency, few enough for 2 cores. */
export const CLUSTER_CONCURRENCY = 4;

/** One context's audit, ready to print. */
interface ContextOutcome {
  context: string;
  server: string;
  /** Absent when the cluster could not be audited (`error` says why). */
  report?: ScanReport;
  error?: string;
  shown: Finding[];
  resources: number;
  /** 0, 1 or 2 for this context alone. */
  code: number;
  /** stderr lines, printed together so concurrent audits do not interleave. */
  messages: string[];
}

/**
 * Run an audit and print it. Returns the exit code: with several contexts the reachable
 * clusters' findings decide 0 or 1, and any cluster that could not be audited (or an input
 * error) makes it 2. Throws UsageError for bad flags.
 */
export async function runAudit(flags: AuditFlags, io: CliIO): Promise<number> {
  const { format, failOn, pssVersion, rules, exceptions } = await resolveEvaluation(flags);
  const reportApis = parseReportApi(flags.reportApi ?? "wgpolicyk8s");
  if (reportApis === undefined)
    throw new UsageError(
      `unknown --report-api "${flags.reportApi}"; use one of ${REPORT_API_CHOICES.join(", ")}`,
    );
  const pageSize = Number(flags.pageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new UsageError(`invalid --page-size "${flags.pageSize}"; use a positive integer`);
  if (flags.allContexts && flags.context?.length)
    throw new UsageError("give either --context or --all-contexts, not both");
  const contexts: (string | undefined)[] = flags.allContexts
    ? await allContexts(io.env)
    : flags.context?.length
      ? [...new Set(flags.context)]
      : [undefined];
  const multi = flags.allContexts === true || contexts.length > 1;

  // Every context must exist before any cluster is contacted: a typo is a usage error.
  const configs: KubeConfig[] = [];
  for (const context of contexts) {
    const kc = await loadKubeConfig(io.env, context);
    if (!kc.ok) throw new UsageError(kc.error.message);
    configs.push(kc.value);
  }

  const errors: InputError[] = [];
  let policyResources: Resource[] = [];
  if (flags.policy?.length) {
    const loaded = await loadPaths(flags.policy, { readStdin: io.readStdin, cwd: io.cwd });
    errors.push(...loaded.errors);
    policyResources = loaded.resources;
  }

  const progress = makeProgress(
    io,
    configs.map((kc) => kc.getCurrentContext()),
  );
  const auditOne = async (kc: KubeConfig): Promise<ContextOutcome> => {
    const client = makeKubeClient(kc);
    const messages: string[] = [];
    const prefix = multi ? `context "${client.context}": ` : "";
    try {
      const now = new Date();
      const audited = await auditCluster(client, {
        ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
        rules,
        pssVersion,
        knownRuleIds: RULE_IDS,
        exceptions,
        policyResources,
        showPassed: flags.showPassed === true || flags.writeReports === true,
        pageSize,
        now,
        onProgress: (p) => progress.update(client.context, p),
      });
      if (!audited.ok) {
        messages.push(`belay: audit of context "${client.context}" failed: ${audited.error.message}\n`);
        return {
          context: client.context,
          server: client.server,
          error: audited.error.message,
          shown: [],
          resources: 0,
          code: EXIT.usage,
          messages,
        };
      }
      const result = audited.value;
      for (const warning of result.warnings) messages.push(`belay: warning: ${prefix}${warning}\n`);
      const runErrors = [...errors, ...result.errors];
      const shown =
        flags.showPassed === true
          ? result.findings
          : result.findings.filter((f) => f.status !== "pass" && f.status !== "skip");
      const metas = [...rules.map((r) => r.meta), ...ENGINE_RULE_METAS, ...result.policyMetas];
      const report = buildReport(shown, result.resourceCount, runErrors, metas, VERSION);
      let code = exitCodeFor(shown, runErrors, failOn);
      if (flags.writeReports) {
        const reports = buildPolicyReports(result.findings, {
          namespaces: result.namespaces,
          cluster: result.clusterScoped,
          now,
          uids: result.uids,
        });
        const outcomes = await writePolicyReports(client, reports, { apis: reportApis });
        messages.push(
          ...describeWrites(outcomes).map((line) => line.replace(/^belay: /, `belay: ${prefix}`)),
        );
        if (outcomes.some((o) => o.action === "failed")) code = EXIT.usage;
      }
      return {
        context: client.context,
        server: client.server,
        report,
        shown,
        resources: result.resourceCount,
        code,
        messages,
      };
    } finally {
      client.close();
    }
  };

  const outcomes = await mapLimit(configs, CLUSTER_CONCURRENCY, async (kc) => {
    const outcome = await auditOne(kc);
    progress.clear();
    for (const message of outcome.messages) io.stderr.write(message);
    return outcome;
  });
  progress.done();

  const color = flags.color !== false && io.isTTY && io.env.NO_COLOR === undefined;
  if (!multi) {
    const [only] = outcomes;
    if (only?.report) {
      await writeAll(io, reportChunks(format, only.report, { color }));
      if (format === "table") io.stdout.write(renderAuditSummary(only.shown));
    }
    return only?.code ?? EXIT.usage;
  }
  await writeAll(
    io,
    clusterChunks(
      format,
      outcomes.map((o) => ({
        cluster: o.context,
        server: o.server,
        ...(o.report ? { report: o.report } : {}),
        ...(o.error !== undefined ? { error: o.error } : {}),
      })),
      VERSION,
      { color },
    ),
  );
  if (format === "table")
    io.stdout.write(
      renderClusterSummary(
        outcomes.map((o) => ({
          cluster: o.context,
          ...(o.report ? { findings: o.shown, resources: o.resources } : {}),
        })),
      ),
    );
  const unreachable = outcomes.filter((o) => !o.report).map((o) => `"${o.context}"`);
  if (unreachable.length > 0)
    io.stderr.write(
      `belay: ${unreachable.length} of ${outcomes.length} contexts not audited: ${unreachable.join(", ")}\n`,
    );
  return Math.max(EXIT.clean, ...outcomes.map((o) => o.code));
}

/**
 * Write `chunks` to stdout, waiting for "drain" whenever the stream's buffer is full (a pipe
 * to a slow reader), so a large report is never queued in memory whole.
 */
async function writeAll(io: CliIO, chunks: Iterable<string>): Promise<void> {
  const stdout = io.stdout as {
    write(text: string): unknown;
    once?: (event: "drain", listener: () => void) => unknown;
  };
  for (const chunk of chunks) {
    if (stdout.write(chunk) === false && typeof stdout.once === "function")
      await new Promise<void>((resolve) => stdout.once?.("drain", resolve));
  }
}

/** The names of every context in the kubeconfig, sorted. Throws UsageError when there are none. */
async function allContexts(env: NodeJS.ProcessEnv): Promise<string[]> {
  const names = await listKubeContexts(env);
  if (!names.ok) throw new UsageError(names.error.message);
  if (names.value.length === 0) throw new UsageError("--all-contexts: the kubeconfig has no contexts");
  return names.value;
}

/** Progress on stderr, one line redrawn in place: only when stderr is a terminal. */
interface Progress {
  update(context: string, progress: AuditProgress): void;
  /** Erase the line (before other stderr output); the next update redraws it. */
  clear(): void;
  done(): void;
}

const REDRAW_MS = 100;

function makeProgress(io: CliIO, contexts: readonly string[]): Progress {
  const stderr = io.stderr as { write(text: string): unknown; isTTY?: boolean };
  if (stderr.isTTY !== true) return { update() {}, clear() {}, done() {} };
  const state = new Map<string, AuditProgress>();
  let shown = false;
  let last = 0;
  const draw = () => {
    const parts = contexts
      .filter((c) => state.has(c))
      .map((c) => {
        const p = state.get(c) as AuditProgress;
        const label = contexts.length > 1 ? `${c}: ` : "";
        return `${label}${p.namespacesDone}/${p.namespacesTotal} namespaces, ${p.objects} objects`;
      });
    stderr.write(`\r\u001b[Kauditing ${parts.join(" | ")}`);
    shown = true;
    last = Date.now();
  };
  return {
    update(context, progress) {
      state.set(context, progress);
      if (!shown || Date.now() - last >= REDRAW_MS) draw();
    },
    clear() {
      if (shown) stderr.write("\r\u001b[K");
      shown = false;
    },
    done() {
      if (shown) stderr.write("\r\u001b[K");
      shown = false;
    },
  };
}

function describeWrites(outcomes: readonly WriteOutcome[]): string[] {
  const count = (action: WriteOutcome["action"]) => outcomes.filter((o) => o.action === action).length;
  const lines = outcomes
    .filter((o) => o.action === "failed")
    .map(
      (o) => `belay: cannot write ${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}: ${o.message}\n`,
    );
  lines.push(
    `belay: reports: ${count("created")} created, ${count("updated")} updated, ${count("unchanged")} unchanged${count("deleted") > 0 ? `, ${count("deleted")} deleted` : ""}, ${count("failed")} failed\n`,
  );
  return lines;
}
