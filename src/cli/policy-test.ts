/**
 * `belay test DIR...`: run declarative policy tests. Every folder holding a `PolicyTest`
 * document is a suite; the policies, bindings and param objects in the same folder are
 * what it tests. Roles, ClusterRoles and bindings in the folder (and those given with
 * `--rbac`) answer the policies' `authorizer` checks offline.
 */
import { dirname } from "node:path";
import type { Command } from "commander";
import { loadPolicySet, offlineAuthorizer } from "../engine/policies.ts";
import { isPolicyTest, parsePolicyTest, runPolicyTests } from "../policy/vap/index.ts";
import { isRbacObject } from "../rbac/index.ts";
import type { Resource } from "../resources/types.ts";
import { loadPaths } from "../sources/files.ts";
import { K8S_VERSION_OPTION_HELP, RBAC_OPTION_HELP, resolveK8sVersion } from "./eval.ts";
import { type CliIO, collect, EXIT, UsageError } from "./io.ts";

/** Register `test`; exit 0 all passed, 1 a case failed, 2 invalid input. */
export function registerPolicyTest(program: Command, io: CliIO, state: { exitCode: number }): void {
  program
    .command("test")
    .description("Run declarative ValidatingAdmissionPolicy tests (PolicyTest files beside the policies)")
    .argument("<paths...>", "directories (or files) holding policies, bindings, params and PolicyTest files")
    .option("--rbac <path>", RBAC_OPTION_HELP, collect)
    .option("--k8s-version <version>", K8S_VERSION_OPTION_HELP)
    .option("-o, --output <format>", "text or json", "text")
    .action(async (paths: string[], flags: { output: string; rbac?: string[]; k8sVersion?: string }) => {
      state.exitCode = await runPolicyTestCommand(paths, flags.output, io, flags.rbac, flags.k8sVersion);
    });
}

interface SuiteReport {
  suite: string;
  cases: { name: string; passed: boolean; expected: string; got: string }[];
}

/** Run the suites under `paths`, print them, return the exit code. */
export async function runPolicyTestCommand(
  paths: string[],
  output: string,
  io: CliIO,
  rbac: string[] = [],
  k8sVersionText?: string,
): Promise<number> {
  if (output !== "text" && output !== "json")
    throw new UsageError(`unknown output format "${output}"; use text or json`);
  const k8sVersion = resolveK8sVersion(k8sVersionText);
  const loaded = await loadPaths(paths, { readStdin: io.readStdin, cwd: io.cwd });
  const extraRbac =
    rbac.length > 0 ? await loadPaths(rbac, { readStdin: io.readStdin, cwd: io.cwd }) : undefined;
  if (extraRbac?.errors[0]) {
    const e = extraRbac.errors[0];
    throw new UsageError(`--rbac: ${e.file}${e.line ? `:${e.line}` : ""}: ${e.message}`);
  }
  const problems = loaded.errors.map((e) => `${e.file}${e.line ? `:${e.line}` : ""}: ${e.message}`);
  const byDir = new Map<string, Resource[]>();
  for (const resource of loaded.resources) {
    const dir = dirname(resource.source?.file ?? ".");
    const list = byDir.get(dir) ?? [];
    list.push(resource);
    byDir.set(dir, list);
  }
  const suites: SuiteReport[] = [];
  for (const [dir, resources] of [...byDir].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const tests = resources.filter((r) => isPolicyTest(r.object));
    if (tests.length === 0) continue;
    const { set, errors } = loadPolicySet(
      resources.filter((r) => !isPolicyTest(r.object)),
      k8sVersion,
    );
    problems.push(...errors.map((e) => `${e.file}${e.line ? `:${e.line}` : ""}: ${e.message}`));
    const rbacObjects = [...resources, ...(extraRbac?.resources ?? [])].filter((r) => isRbacObject(r.object));
    const authorizer = rbacObjects.length > 0 ? offlineAuthorizer(rbacObjects).authorizer : undefined;
    const report: SuiteReport = { suite: dir, cases: [] };
    for (const test of tests) {
      const parsed = parsePolicyTest(test.object);
      problems.push(...parsed.errors.map((e) => `${test.source?.file ?? dir}: ${e}`));
      report.cases.push(
        ...runPolicyTests(set.env, set.policies, set.bindings, set.params, parsed.cases, authorizer),
      );
    }
    suites.push(report);
  }
  if (suites.length === 0 && problems.length === 0)
    problems.push(`no PolicyTest files found under ${paths.join(", ")}`);
  const passed = suites.reduce((n, s) => n + s.cases.filter((c) => c.passed).length, 0);
  const failed = suites.reduce((n, s) => n + s.cases.filter((c) => !c.passed).length, 0);
  if (output === "json") {
    io.stdout.write(`${JSON.stringify({ suites, passed, failed, errors: problems }, null, 2)}\n`);
  } else {
    const lines: string[] = [];
    for (const suite of suites) {
      lines.push(suite.suite);
      for (const c of suite.cases) {
        lines.push(`  ${c.passed ? "ok  " : "FAIL"} ${c.name}`);
        if (!c.passed) lines.push(`         expected: ${c.expected}`, `         got:      ${c.got}`);
      }
    }
    for (const problem of problems) lines.push(`error: ${problem}`);
    lines.push(
      `policy tests: ${passed} passed, ${failed} failed${problems.length > 0 ? `, ${problems.length} input errors` : ""}`,
    );
    io.stdout.write(`${lines.join("\n")}\n`);
  }
  if (problems.length > 0) return EXIT.usage;
  return failed > 0 ? EXIT.findings : EXIT.clean;
}
