/**
 * `belay eval`: evaluate ValidatingAdmissionPolicies on one request offline and answer as the
 * API server would (`-o json` prints an AdmissionResponse-shaped object).
 */
import type { Command } from "commander";
import {
  type CelAuthorizer,
  formatVersion,
  type K8sVersion,
  LATEST_K8S_VERSION,
  parseK8sVersion,
} from "../cel/index.ts";
import { loadPolicySet, offlineAuthorizer } from "../engine/policies.ts";
import { evaluateAdmission, OPERATIONS, type Operation, requestForObject } from "../policy/vap/index.ts";
import type { KubeObject } from "../resources/types.ts";
import { loadPaths } from "../sources/files.ts";
import { type CliIO, collect, EXIT, splitList, UsageError } from "./io.ts";

/** Parsed `eval` flags. */
export interface EvalFlags {
  policy: string[];
  resource?: string;
  operation: string;
  old?: string;
  subresource?: string;
  requestResource?: string;
  user?: string;
  groups?: string[];
  params?: string[];
  namespaceObject?: string;
  rbac?: string[];
  k8sVersion?: string;
  output: string;
}

/** The `--k8s-version` option's help, shared by eval, scan and test. */
export const K8S_VERSION_OPTION_HELP = `Kubernetes version whose ValidatingAdmissionPolicy CEL environment to reproduce (1.26 … ${formatVersion(LATEST_K8S_VERSION)}; default ${formatVersion(LATEST_K8S_VERSION)}): functions a policy may use, as that API server checks new policies`;

/** The `--k8s-version` value, parsed; undefined when not given. Throws UsageError when invalid. */
export function resolveK8sVersion(text: string | undefined): K8sVersion | undefined {
  if (text === undefined) return undefined;
  const parsed = parseK8sVersion(text);
  if (!parsed.ok) throw new UsageError(`invalid --k8s-version: ${parsed.error}`);
  return parsed.value;
}

/** The `--rbac` option's help, shared by eval, scan and test. */
export const RBAC_OPTION_HELP =
  "Roles, ClusterRoles and bindings (file or directory, repeatable) that answer the policies' authorizer checks offline; without it `authorizer` is null and checks are evaluation errors";

/**
 * The offline authorizer from the RBAC objects under `paths` (`--rbac`), or undefined when no
 * path is given. Problems that the API server would accept (a binding to a missing role) are
 * printed as warnings. Throws UsageError when a path cannot be read or holds no RBAC object.
 */
export async function loadRbacAuthorizer(
  paths: readonly string[] | undefined,
  io: CliIO,
): Promise<CelAuthorizer | undefined> {
  if (paths === undefined || paths.length === 0) return undefined;
  const loaded = await loadPaths([...paths], { readStdin: io.readStdin, cwd: io.cwd });
  const problem = loaded.errors[0];
  if (problem) {
    throw new UsageError(
      `--rbac: ${problem.file}${problem.line ? `:${problem.line}` : ""}: ${problem.message}`,
    );
  }
  const offline = offlineAuthorizer(loaded.resources);
  if (offline.objects === 0) {
    throw new UsageError(
      `--rbac: ${paths.join(", ")} holds no Role, ClusterRole, RoleBinding or ClusterRoleBinding`,
    );
  }
  for (const warning of offline.problems) io.stderr.write(`belay: warning: --rbac: ${warning}\n`);
  return offline.authorizer;
}

/** Register `eval`; exit 0 allowed, 1 denied, 2 usage or input error. */
export function registerEval(program: Command, io: CliIO, state: { exitCode: number }): void {
  program
    .command("eval")
    .description("Evaluate ValidatingAdmissionPolicies on one request, as the API server would")
    .requiredOption("--policy <path>", "policy and binding YAML, file or directory (repeatable)", collect)
    .option("--resource <file>", "the object of the request (the old object for DELETE)")
    .option("--operation <op>", "CREATE, UPDATE, DELETE or CONNECT", "CREATE")
    .option("--old <file>", "the old object (UPDATE)")
    .option("--subresource <name>", "the subresource requested (e.g. status, scale, exec)")
    .option(
      "--request-resource <gvr>",
      "the resource requested, GROUP/VERSION/RESOURCE or VERSION/RESOURCE (default: from the object's kind; set it for subresources such as apps/v1/deployments with --subresource scale)",
    )
    .option("--user <name>", "request.userInfo.username")
    .option("--groups <groups>", "request.userInfo.groups (comma-separated, repeatable)", collect)
    .option("--params <path>", "param objects, file or directory (repeatable)", collect)
    .option(
      "--namespace-object <file>",
      "the Namespace of the request (default: one with only its name label)",
    )
    .option("--rbac <path>", RBAC_OPTION_HELP, collect)
    .option("--k8s-version <version>", K8S_VERSION_OPTION_HELP)
    .option("-o, --output <format>", "text or json", "text")
    .action(async (flags: EvalFlags) => {
      state.exitCode = await runEval(flags, io);
    });
}

async function readOne(path: string, io: CliIO, what: string): Promise<KubeObject> {
  const loaded = await loadPaths([path], { readStdin: io.readStdin, cwd: io.cwd });
  const problem = loaded.errors[0];
  if (problem) {
    throw new UsageError(
      `${what}: ${problem.file}${problem.line ? `:${problem.line}` : ""}: ${problem.message}`,
    );
  }
  const first = loaded.resources[0];
  if (!first) throw new UsageError(`${what}: ${path} holds no object`);
  return first.object;
}

/** Run `eval`, print the decision, return the exit code. Throws UsageError for bad input. */
export async function runEval(flags: EvalFlags, io: CliIO): Promise<number> {
  const operation = flags.operation as Operation;
  if (!(OPERATIONS as readonly string[]).includes(operation) || operation === ("*" as string)) {
    throw new UsageError(`unknown operation "${flags.operation}"; use CREATE, UPDATE, DELETE or CONNECT`);
  }
  if (flags.output !== "text" && flags.output !== "json") {
    throw new UsageError(`unknown output format "${flags.output}"; use text or json`);
  }
  if (!flags.resource) throw new UsageError("--resource FILE is required");
  const k8sVersion = resolveK8sVersion(flags.k8sVersion);
  const sources = await loadPaths([...flags.policy, ...(flags.params ?? [])], {
    readStdin: io.readStdin,
    cwd: io.cwd,
  });
  const { set, errors } = loadPolicySet(sources.resources, k8sVersion);
  const problems = [...sources.errors, ...errors];
  if (problems.length > 0) {
    throw new UsageError(
      [
        "invalid policies:",
        ...problems.map((e) => `  ${e.file}${e.line ? `:${e.line}:${e.column ?? 1}` : ""}: ${e.message}`),
      ].join("\n"),
    );
  }
  const object = await readOne(flags.resource, io, "--resource");
  const oldObject = flags.old ? await readOne(flags.old, io, "--old") : undefined;
  const namespaceObject = flags.namespaceObject
    ? await readOne(flags.namespaceObject, io, "--namespace-object")
    : undefined;
  const request = requestForObject(object, operation, {
    ...(oldObject ? { oldObject } : {}),
    ...(flags.subresource ? { subresource: flags.subresource } : {}),
  });
  if (flags.requestResource !== undefined) {
    const parts = flags.requestResource.split("/");
    if (
      parts.length < 2 ||
      parts.length > 3 ||
      parts.some((p, i) => p === "" && !(parts.length === 3 && i === 0))
    ) {
      throw new UsageError(
        `invalid --request-resource "${flags.requestResource}"; use GROUP/VERSION/RESOURCE, e.g. apps/v1/deployments, or v1/pods`,
      );
    }
    const [group, version, resource] = parts.length === 3 ? parts : ["", ...parts];
    request.resource = {
      group: group as string,
      version: version as string,
      resource: resource as string,
      subresource: flags.subresource ?? "",
    };
  }
  request.namespaceObject = namespaceObject ?? {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: request.namespace, labels: { "kubernetes.io/metadata.name": request.namespace } },
  };
  if (request.namespace === "") request.namespaceObject = null;
  const authorizer = await loadRbacAuthorizer(flags.rbac, io);
  const decision = evaluateAdmission(set.env, set.policies, set.bindings, request, set.params, {
    user: { username: flags.user ?? "", groups: splitList(flags.groups) },
    ...(authorizer ? { authorizer } : {}),
  });
  if (flags.output === "json") {
    const response = {
      allowed: decision.allowed,
      ...(decision.status ? { status: decision.status } : {}),
      warnings: decision.warnings,
      auditAnnotations: decision.auditAnnotations,
    };
    io.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
  } else {
    const lines = [
      decision.allowed
        ? "allowed"
        : `denied (${decision.status?.code} ${decision.status?.reason}): ${decision.status?.message}`,
      ...decision.warnings.map((w) => `warning: ${w}`),
      ...Object.entries(decision.auditAnnotations).map(([k, v]) => `audit annotation ${k}: ${v}`),
    ];
    io.stdout.write(`${lines.join("\n")}\n`);
  }
  return decision.allowed ? EXIT.clean : EXIT.findings;
}
