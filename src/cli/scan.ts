/**
 * `belay scan`: check manifests, Helm charts and Kustomize output before they reach a cluster.
 */
import type { Command } from "commander";
import { evaluate } from "../engine/evaluate.ts";
import { loadPolicySet, type PolicySet } from "../engine/policies.ts";
import { buildReport } from "../engine/report.ts";
import { atOrAbove, type InputError, type Severity } from "../findings/finding.ts";
import { render } from "../output/index.ts";
import type { Resource } from "../resources/types.ts";
import { ENGINE_RULE_METAS, RULE_IDS } from "../rules/index.ts";
import { loadPaths } from "../sources/files.ts";
import { renderHelm, renderKustomize } from "../sources/render.ts";
import { VERSION } from "../version.ts";
import { K8S_VERSION_OPTION_HELP, loadRbacAuthorizer, RBAC_OPTION_HELP, resolveK8sVersion } from "./eval.ts";
import { addEvaluationOptions, type EvaluationFlags, resolveEvaluation } from "./evaluation-flags.ts";
import { type CliIO, collect, EXIT, UsageError } from "./io.ts";

/** Parsed `scan` flags. */
export interface ScanFlags extends EvaluationFlags {
  helm?: string[];
  values?: string[];
  set?: string[];
  kustomize?: string[];
  policy?: string[];
  rbac?: string[];
  k8sVersion?: string;
}

/** Register `scan` on the program; the action sets `state.exitCode`. */
export function registerScan(program: Command, io: CliIO, state: { exitCode: number }): void {
  const command = program
    .command("scan")
    .description(
      "Scan Kubernetes manifests (files, directories, - for stdin, Helm charts, Kustomize) for security problems",
    )
    .argument("[paths...]", "files or directories (.yaml, .yml, .json, recursive), or - for stdin");
  addEvaluationOptions(command)
    .option("--helm <chart>", "render a Helm chart with `helm template` and scan it (repeatable)", collect)
    .option("--values <file>", "Helm values file (repeatable)", collect)
    .option("--set <key=value>", "Helm value (repeatable)", collect)
    .option("--kustomize <dir>", "build a Kustomize directory and scan it (repeatable)", collect)
    .option(
      "--policy <path>",
      "ValidatingAdmissionPolicy + binding YAML (file or directory, with their param objects) to evaluate beside the rules (repeatable)",
      collect,
    )
    .option("--rbac <path>", RBAC_OPTION_HELP, collect)
    .option("--k8s-version <version>", K8S_VERSION_OPTION_HELP)
    .action(async (paths: string[], flags: ScanFlags) => {
      state.exitCode = await runScan(paths, flags, io);
    });
}

/** Run a scan and print it. Returns the exit code (0, 1 or 2); throws UsageError for bad flags. */
export async function runScan(paths: string[], flags: ScanFlags, io: CliIO): Promise<number> {
  const { format, failOn, pssVersion, rules, exceptions } = await resolveEvaluation(flags);
  if ((flags.values?.length || flags.set?.length) && !flags.helm?.length) {
    throw new UsageError("--values and --set apply to a Helm chart; add --helm CHART");
  }
  if (paths.length === 0 && !flags.helm?.length && !flags.kustomize?.length) {
    throw new UsageError(
      "no input: give files or directories to scan, - for stdin, --helm CHART or --kustomize DIR",
    );
  }

  const resources: Resource[] = [];
  const errors: InputError[] = [];
  const loaded = await loadPaths(paths, { readStdin: io.readStdin, cwd: io.cwd });
  resources.push(...loaded.resources);
  errors.push(...loaded.errors);
  const charts = [
    ...loaded.charts.map((chart) => ({ chart, values: [], set: [] })),
    ...(flags.helm ?? []).map((chart) => ({ chart, values: flags.values ?? [], set: flags.set ?? [] })),
  ];
  for (const { chart, values, set } of charts) {
    const rendered = await renderHelm(chart, { values, set, env: io.env });
    resources.push(...rendered.resources);
    errors.push(...rendered.errors);
  }
  for (const dir of flags.kustomize ?? []) {
    const rendered = await renderKustomize(dir, io.env);
    resources.push(...rendered.resources);
    errors.push(...rendered.errors);
  }

  let policies: PolicySet | undefined;
  if (flags.policy?.length) {
    const policySources = await loadPaths(flags.policy, { readStdin: io.readStdin, cwd: io.cwd });
    const loadedPolicies = loadPolicySet(policySources.resources, resolveK8sVersion(flags.k8sVersion));
    errors.push(...policySources.errors, ...loadedPolicies.errors);
    policies = loadedPolicies.set;
    const authorizer = await loadRbacAuthorizer(flags.rbac, io);
    if (authorizer) policies.authorizer = authorizer;
  } else if (flags.rbac?.length) {
    throw new UsageError("--rbac answers the authorizer checks of policies; add --policy FILE|DIR");
  }

  const findings = evaluate(resources, {
    rules,
    pssVersion,
    knownRuleIds: RULE_IDS,
    exceptions,
    showPassed: flags.showPassed === true,
    ...(policies ? { policies } : {}),
  });
  const metas = [...rules.map((r) => r.meta), ...ENGINE_RULE_METAS, ...(policies?.metas.values() ?? [])];
  const report = buildReport(findings, resources.length, errors, metas, VERSION);
  const color = flags.color !== false && io.isTTY && io.env.NO_COLOR === undefined;
  io.stdout.write(render(format, report, { color }));
  return exitCodeFor(report.findings, errors, failOn);
}

/** 2 when an input could not be read, else 1 when a failing finding is at or above the threshold, else 0. */
export function exitCodeFor(
  findings: { status: string; severity: Severity }[],
  errors: readonly unknown[],
  failOn: Severity,
): number {
  if (errors.length > 0) return EXIT.usage;
  return findings.some((f) => f.status === "fail" && atOrAbove(f.severity, failOn))
    ? EXIT.findings
    : EXIT.clean;
}
