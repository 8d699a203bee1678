/**
 * `belay audit`: check what is already in a cluster with the same engine as `belay scan`,
 * including the cluster's own ValidatingAdmissionPolicies, and optionally write
 * PolicyReports. Thin: flags → src/audit → output.
 */
import type { Command } from "commander";
import {
  auditCluster,
  buildPolicyReports,
  renderAuditSummary,
  type WriteOutcome,
  writePolicyReports,
} from "../audit/index.ts";
import { buildReport } from "../engine/report.ts";
import type { InputError } from "../findings/finding.ts";
import { loadKubeConfig, makeKubeClient } from "../kube/index.ts";
import { render } from "../output/index.ts";
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
  namespace?: string;
  policy?: string[];
  writeReports?: boolean;
  pageSize: string;
}

/** Register `audit` on the program; the action sets `state.exitCode`. */
export function registerAudit(program: Command, io: CliIO, state: { exitCode: number }): void {
  const command = program
    .command("audit")
    .description(
      "Audit what is running in a cluster (kubeconfig context) with the same rules and policies as scan, including the cluster's ValidatingAdmissionPolicies; optionally write PolicyReports",
    )
    .option("--context <name>", "kubeconfig context (repeatable; default: the current one)", collect)
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
    .option("--page-size <n>", "objects per list request", "500")
    .action(async (flags: AuditFlags) => {
      state.exitCode = await runAudit(flags, io);
    });
}

/** Run an audit and print it. Returns the exit code (0, 1 or 2); throws UsageError for bad flags. */
export async function runAudit(flags: AuditFlags, io: CliIO): Promise<number> {
  const { format, failOn, pssVersion, rules, exceptions } = await resolveEvaluation(flags);
  const pageSize = Number(flags.pageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new UsageError(`invalid --page-size "${flags.pageSize}"; use a positive integer`);
  const contexts = flags.context?.length ? flags.context : [undefined];
  if (contexts.length > 1 && format !== "table")
    throw new UsageError(
      `several --context values need -o table for now; run one audit per context for -o ${format}`,
    );

  const errors: InputError[] = [];
  let policyResources: Resource[] = [];
  if (flags.policy?.length) {
    const loaded = await loadPaths(flags.policy, { readStdin: io.readStdin, cwd: io.cwd });
    errors.push(...loaded.errors);
    policyResources = loaded.resources;
  }

  let exitCode: number = EXIT.clean;
  for (const context of contexts) {
    const kc = await loadKubeConfig(io.env, context);
    if (!kc.ok) throw new UsageError(kc.error.message);
    const client = makeKubeClient(kc.value);
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
      });
      if (!audited.ok) {
        io.stderr.write(`belay: audit of context "${client.context}" failed: ${audited.error.message}\n`);
        exitCode = EXIT.usage;
        continue;
      }
      const result = audited.value;
      for (const warning of result.warnings) io.stderr.write(`belay: warning: ${warning}\n`);
      const runErrors = [...errors, ...result.errors];
      const shown =
        flags.showPassed === true
          ? result.findings
          : result.findings.filter((f) => f.status !== "pass" && f.status !== "skip");
      const metas = [...rules.map((r) => r.meta), ...ENGINE_RULE_METAS, ...result.policyMetas];
      const report = buildReport(shown, result.resourceCount, runErrors, metas, VERSION);
      const color = flags.color !== false && io.isTTY && io.env.NO_COLOR === undefined;
      if (contexts.length > 1) io.stdout.write(`== context ${result.context}\n`);
      io.stdout.write(render(format, report, { color }));
      if (format === "table") io.stdout.write(renderAuditSummary(shown));
      let code = exitCodeFor(shown, runErrors, failOn);
      if (flags.writeReports) {
        const reports = buildPolicyReports(result.findings, {
          namespaces: result.namespaces,
          cluster: result.clusterScoped,
          now,
          uids: result.uids,
        });
        const outcomes = await writePolicyReports(client, reports);
        io.stderr.write(describeWrites(outcomes));
        if (outcomes.some((o) => o.action === "failed")) code = EXIT.usage;
      }
      exitCode = Math.max(exitCode, code);
    } finally {
      client.close();
    }
  }
  return exitCode;
}

function describeWrites(outcomes: readonly WriteOutcome[]): string {
  const count = (action: WriteOutcome["action"]) => outcomes.filter((o) => o.action === action).length;
  const lines = outcomes
    .filter((o) => o.action === "failed")
    .map(
      (o) => `belay: cannot write ${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}: ${o.message}\n`,
    );
  lines.push(
    `belay: reports: ${count("created")} created, ${count("updated")} updated, ${count("unchanged")} unchanged, ${count("failed")} failed\n`,
  );
  return lines.join("");
}
