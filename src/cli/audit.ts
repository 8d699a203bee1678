/**
 * `belay audit`: check what is already in a cluster with the same engine as `belay scan`,
 * including the cluster's own ValidatingAdmissionPolicies, and optionally write
 * PolicyReports. Thin: flags → src/audit → output.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import {
  auditCluster,
  buildPolicyReports,
  renderAuditSummary,
  type WriteOutcome,
  writePolicyReports,
} from "../audit/index.ts";
import { buildReport } from "../engine/report.ts";
import { type InputError, isSeverity, SEVERITIES } from "../findings/finding.ts";
import { loadKubeConfig, makeKubeClient } from "../kube/index.ts";
import { OUTPUT_FORMATS, type OutputFormat, render } from "../output/index.ts";
import { parseExceptions, type RuleException } from "../policy/exceptions.ts";
import type { Resource } from "../resources/types.ts";
import {
  ENGINE_RULE_METAS,
  PROFILES,
  type Profile,
  parsePssVersion,
  RULE_IDS,
  selectRules,
} from "../rules/index.ts";
import { loadPaths } from "../sources/files.ts";
import { VERSION } from "../version.ts";
import { type CliIO, collect, EXIT, splitList, UsageError } from "./io.ts";
import { exitCodeFor } from "./scan.ts";

/** Parsed `audit` flags. */
export interface AuditFlags {
  context?: string[];
  namespace?: string;
  output: string;
  profile?: string[];
  rules?: string[];
  skipRules?: string[];
  pssVersion: string;
  failOn: string;
  showPassed?: boolean;
  exceptions?: string;
  policy?: string[];
  writeReports?: boolean;
  pageSize: string;
  color?: boolean;
}

/** Register `audit` on the program; the action sets `state.exitCode`. */
export function registerAudit(program: Command, io: CliIO, state: { exitCode: number }): void {
  program
    .command("audit")
    .description(
      "Audit what is running in a cluster (kubeconfig context) with the same rules and policies as scan, including the cluster's ValidatingAdmissionPolicies; optionally write PolicyReports",
    )
    .option("--context <name>", "kubeconfig context (repeatable; default: the current one)", collect)
    .option("-n, --namespace <ns>", "audit only this namespace (cluster-scoped objects are left out)")
    .option("-o, --output <format>", `output format: ${OUTPUT_FORMATS.join(", ")}`, "table")
    .option("--profile <profile>", `rule set: ${PROFILES.join(", ")} (repeatable; default all)`, collect)
    .option("--rules <ids>", "run only these rules (comma-separated, repeatable)", collect)
    .option("--skip-rules <ids>", "leave out these rules (comma-separated, repeatable)", collect)
    .option("--pss-version <version>", "Pod Security Standards version: v1.0 … v1.N or latest", "latest")
    .option(
      "--fail-on <severity>",
      `exit 1 when a failing finding is at or above: ${SEVERITIES.join(", ")}`,
      "low",
    )
    .option("--show-passed", "also list passed and suppressed checks")
    .option("--exceptions <file>", "exceptions file (rules, resources, reason, owner, expiry)")
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
    .option("--no-color", "disable colour in table output")
    .action(async (flags: AuditFlags) => {
      state.exitCode = await runAudit(flags, io);
    });
}

/** Run an audit and print it. Returns the exit code (0, 1 or 2); throws UsageError for bad flags. */
export async function runAudit(flags: AuditFlags, io: CliIO): Promise<number> {
  const format = flags.output as OutputFormat;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`unknown output format "${flags.output}"; use one of ${OUTPUT_FORMATS.join(", ")}`);
  const failOn = flags.failOn;
  if (!isSeverity(failOn))
    throw new UsageError(`unknown severity "${failOn}" for --fail-on; use one of ${SEVERITIES.join(", ")}`);
  const pssVersion = parsePssVersion(flags.pssVersion);
  if (pssVersion === undefined)
    throw new UsageError(`invalid --pss-version "${flags.pssVersion}"; use v1.0 … v1.N or latest`);
  const pageSize = Number(flags.pageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new UsageError(`invalid --page-size "${flags.pageSize}"; use a positive integer`);
  const profiles = splitList(flags.profile);
  const badProfile = profiles.find((p) => !(PROFILES as readonly string[]).includes(p));
  if (badProfile !== undefined)
    throw new UsageError(`unknown profile "${badProfile}"; use one of ${PROFILES.join(", ")}`);
  const contexts = flags.context?.length ? flags.context : [undefined];
  if (contexts.length > 1 && format !== "table")
    throw new UsageError(
      `several --context values need -o table for now; run one audit per context for -o ${format}`,
    );
  const only = splitList(flags.rules);
  const selection = selectRules({
    profiles: profiles.length > 0 ? (profiles as Profile[]) : ["all"],
    ...(only.length > 0 ? { only } : {}),
    skip: splitList(flags.skipRules),
    pssVersion,
  });
  if (!selection.ok) throw new UsageError(selection.error.message);
  const exceptions = await readExceptions(flags.exceptions);

  const errors: InputError[] = [];
  let policyResources: Resource[] = [];
  if (flags.policy?.length) {
    const loaded = await loadPaths(flags.policy, { readStdin: io.readStdin, cwd: io.cwd });
    errors.push(...loaded.errors);
    policyResources = loaded.resources;
  }

  let exitCode: number = EXIT.clean;
  for (const context of contexts) {
    const kc = loadKubeConfig(io.env, context);
    if (!kc.ok) throw new UsageError(kc.error.message);
    const client = makeKubeClient(kc.value);
    try {
      const now = new Date();
      const audited = await auditCluster(client, {
        ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
        rules: selection.value,
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
      const metas = [...selection.value.map((r) => r.meta), ...ENGINE_RULE_METAS, ...result.policyMetas];
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

async function readExceptions(path: string | undefined): Promise<RuleException[]> {
  if (path === undefined) return [];
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read exceptions file ${path}: ${(e as Error).message}`);
  }
  const parsed = parseExceptions(text, path, RULE_IDS);
  if (!parsed.ok)
    throw new UsageError(
      [parsed.error.message, ...(parsed.error.details ?? []).map((d) => `  ${d}`)].join("\n"),
    );
  return parsed.value;
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
