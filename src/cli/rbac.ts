/**
 * `belay rbac who-can|can|subject|risks|diff`: RBAC analysis of manifests (`-f`) or of the
 * current kubeconfig context, answering as the API server's authorizer does (src/rbac).
 * This file is the edge: it reads files and clusters, the core never does.
 */

import type { Command } from "commander";
import { evaluate } from "../engine/evaluate.ts";
import { buildReport } from "../engine/report.ts";
import { isSeverity, SEVERITIES } from "../findings/finding.ts";
import { OUTPUT_FORMATS, type OutputFormat, render } from "../output/index.ts";
import {
  buildRbacIndex,
  diffPermissions,
  type Grant,
  impersonatedUser,
  type KubeTarget,
  nonResourceRequest,
  type PolicyRule,
  RBAC_RISKS,
  type RbacIndex,
  type RbacRequest,
  readRbacObjects,
  resourceRequest,
  riskRulesAt,
  type UserInfo,
} from "../rbac/index.ts";
import { makeResource } from "../resources/parse.ts";
import type { Resource } from "../resources/types.ts";
import { RULE_IDS } from "../rules/index.ts";
import { LATEST_KNOWN_PSS_MINOR } from "../rules/rule.ts";
import { loadPaths } from "../sources/files.ts";
import { VERSION } from "../version.ts";
import { type CliIO, collect, EXIT, UsageError } from "./io.ts";
import { exitCodeFor } from "./scan.ts";

/** Where RBAC objects come from: manifests, or a kubeconfig context (the current one by default). */
interface SourceFlags {
  filename?: string[];
  context?: string;
}

/** A loaded RBAC state. */
interface State {
  index: RbacIndex;
  resources: Resource[];
  /** Kubernetes minor of a live cluster; undefined for manifests. */
  minor?: number;
  /** `manifests` or `context "NAME"`, for messages. */
  label: string;
}

const VERB = /^([a-z][a-zA-Z]*|\*)$/;
const RESOURCE = /^([a-z0-9*][a-z0-9-]*)(\.[a-z0-9.-]+)?(\/([a-z0-9*][a-z0-9-]*))?$/;

/** Parse `VERB RESOURCE[.GROUP][/SUBRESOURCE]` or a non-resource URL into a request. Throws UsageError. */
export function parseRequest(
  verb: string,
  target: string | undefined,
  flags: {
    namespace?: string;
    name?: string;
    apiGroup?: string;
    nonResourceUrl?: string;
    allNamespaces?: boolean;
  },
): RbacRequest {
  if (!VERB.test(verb))
    throw new UsageError(
      `invalid verb "${verb}": a verb is one word such as get, list, create, impersonate or *`,
    );
  const url = flags.nonResourceUrl ?? (target?.startsWith("/") ? target : undefined);
  if (url !== undefined) {
    if (flags.nonResourceUrl !== undefined && target !== undefined)
      throw new UsageError("give either RESOURCE or --non-resource-url, not both");
    if (!url.startsWith("/")) throw new UsageError(`invalid non-resource URL "${url}": it must start with /`);
    if (flags.namespace !== undefined || flags.name !== undefined || flags.apiGroup !== undefined)
      throw new UsageError("-n, --name and --api-group do not apply to a non-resource URL");
    return nonResourceRequest(verb, url);
  }
  if (target === undefined) throw new UsageError("missing RESOURCE (or --non-resource-url PATH)");
  const match = RESOURCE.exec(target);
  if (!match)
    throw new UsageError(
      `invalid resource "${target}": use RESOURCE[.GROUP][/SUBRESOURCE], e.g. pods, deployments.apps/scale, pods/exec`,
    );
  const group = flags.apiGroup ?? (match[2] ? match[2].slice(1) : "");
  return resourceRequest({
    verb,
    resource: match[1] as string,
    subresource: match[4] ?? "",
    apiGroup: group,
    name: flags.name ?? "",
    namespace: flags.allNamespaces ? "" : (flags.namespace ?? ""),
  });
}

function sourceOptions(command: Command): Command {
  return command
    .option(
      "-f, --filename <path>",
      "manifests (file or directory, repeatable; default: the kubeconfig context)",
      collect,
    )
    .option("--context <name>", "kubeconfig context to read (default: the current one)");
}

function outputFormat(value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value))
    throw new UsageError(`unknown output format "${value}"; use ${allowed.join(" or ")}`);
  return value;
}

/** Register `rbac` and its subcommands. */
export function registerRbac(program: Command, io: CliIO, state: { exitCode: number }): void {
  const rbac = program
    .command("rbac")
    .description("RBAC analysis: who can, can a subject, effective permissions, risky grants, diffs");

  sourceOptions(
    rbac
      .command("who-can")
      .description("List the subjects that can do VERB on RESOURCE[/SUBRESOURCE] (or a non-resource URL)")
      .argument("<verb>", "verb: get, list, create, impersonate, …")
      .argument("[resource]", "RESOURCE[.GROUP][/SUBRESOURCE], e.g. pods/exec, deployments.apps/scale"),
  )
    .option("-n, --namespace <ns>", "namespace of the request (default: cluster-wide)")
    .option("-A, --all-namespaces", "in any namespace: also RoleBindings of every namespace")
    .option("--name <name>", "name of the object")
    .option("--api-group <group>", "API group (default: from RESOURCE.GROUP, else the core group)")
    .option("--non-resource-url <path>", "a non-resource URL such as /healthz or /metrics")
    .option("-o, --output <format>", "table or json", "table")
    .action(async (verb: string, target: string | undefined, flags: RequestFlags & SourceFlags) => {
      const format = outputFormat(flags.output, ["table", "json"]);
      const request = parseRequest(verb, target, flags);
      const loaded = await loadState(flags, io);
      const subjects = loaded.index.whoCan(request, { allNamespaces: flags.allNamespaces === true });
      if (format === "json") io.stdout.write(`${JSON.stringify({ subjects }, null, 2)}\n`);
      else {
        const rows = subjects.map((s) => [
          s.kind,
          s.namespace ?? "",
          s.name,
          s.privileged
            ? "(privileged group: the API server allows it every request)"
            : s.grants.map((g) => `${g.binding} (${g.role})`).join(", "),
        ]);
        io.stdout.write(table(["KIND", "NAMESPACE", "NAME", "GRANTED BY"], rows));
      }
      state.exitCode = EXIT.clean;
    });

  sourceOptions(
    rbac
      .command("can")
      .description("Answer whether a user can do VERB on RESOURCE (kubectl auth can-i conventions), and why")
      .argument("<verb>", "verb: get, list, create, …")
      .argument("[resource]", "RESOURCE[.GROUP][/SUBRESOURCE], or a non-resource URL starting with /"),
  )
    .option("-n, --namespace <ns>", "namespace of the request (default: cluster-wide)")
    .option("--name <name>", "name of the object")
    .option("--api-group <group>", "API group (default: from RESOURCE.GROUP, else the core group)")
    .option("--non-resource-url <path>", "a non-resource URL such as /healthz")
    .option("--as <user>", "user to check (system:serviceaccount:NS:NAME for a service account)")
    .option("--as-group <group>", "group of the user (repeatable)", collect)
    .option("-o, --output <format>", "text or json", "text")
    .action(async (verb: string, target: string | undefined, flags: RequestFlags & SourceFlags & AsFlags) => {
      const format = outputFormat(flags.output, ["text", "json"]);
      const request = parseRequest(verb, target, flags);
      const user = userOf(flags, "can");
      const loaded = await loadState(flags, io);
      const decision = loaded.index.authorize(user, request);
      if (format === "json") {
        io.stdout.write(
          `${JSON.stringify({ allowed: decision.allowed, reason: decision.reason, user: user.name, groups: user.groups, grants: decision.grants }, null, 2)}\n`,
        );
      } else {
        const lines = [decision.allowed ? "yes" : "no", `  ${decision.reason}`];
        for (const grant of decision.grants) lines.push(`  ${grantLine(grant)}`);
        io.stdout.write(`${lines.join("\n")}\n`);
      }
      state.exitCode = decision.allowed ? EXIT.clean : EXIT.findings;
    });

  sourceOptions(
    rbac
      .command("subject")
      .description("List every permission a user holds, with the binding and role that grant it"),
  )
    .option("--as <user>", "user (system:serviceaccount:NS:NAME for a service account)")
    .option("--as-group <group>", "group of the user (repeatable)", collect)
    .option("-n, --namespace <ns>", "only cluster-wide permissions and those in this namespace")
    .option("-o, --output <format>", "table or json", "table")
    .action(async (flags: SourceFlags & AsFlags & { namespace?: string; output: string }) => {
      const format = outputFormat(flags.output, ["table", "json"]);
      const user = userOf(flags, "subject");
      const loaded = await loadState(flags, io);
      const rules = loaded.index
        .rulesFor(user)
        .filter(
          (r) => flags.namespace === undefined || r.namespace === "" || r.namespace === flags.namespace,
        );
      const privileged = loaded.index.isPrivileged(user);
      if (format === "json") {
        io.stdout.write(
          `${JSON.stringify({ user: user.name, groups: user.groups, privileged, rules }, null, 2)}\n`,
        );
      } else {
        const header = `user "${user.name}" groups ${user.groups.map((g) => `"${g}"`).join(", ") || "(none)"}\n`;
        const note = privileged
          ? `member of "system:masters": the API server allows every request, whatever RBAC says\n`
          : "";
        const rows = rules.map((r) => [
          r.namespace === "" ? "(cluster)" : r.namespace,
          r.rule.verbs.join(","),
          r.rule.nonResourceURLs.length > 0
            ? ""
            : r.rule.apiGroups.map((g) => (g === "" ? '""' : g)).join(","),
          r.rule.nonResourceURLs.length > 0 ? r.rule.nonResourceURLs.join(",") : r.rule.resources.join(","),
          r.rule.resourceNames.join(","),
          `${r.binding} (${r.role})`,
        ]);
        io.stdout.write(
          header +
            note +
            table(["NAMESPACE", "VERBS", "API GROUPS", "RESOURCES/URLS", "NAMES", "FROM"], rows),
        );
      }
      state.exitCode = EXIT.clean;
    });

  sourceOptions(
    rbac
      .command("risks")
      .description("Report risky grants (escalate/bind, impersonate, secrets, exec, tokens, …)"),
  )
    .option("-o, --output <format>", `output format: ${OUTPUT_FORMATS.join(", ")}`, "table")
    .option(
      "--kube-version <version>",
      "Kubernetes version the grants are evaluated for (v1.N); default: the cluster's, or any",
    )
    .option("--fail-on <severity>", `exit 1 when a finding is at or above: ${SEVERITIES.join(", ")}`, "low")
    .option("--no-color", "disable colour in table output")
    .action(
      async (
        flags: SourceFlags & { output: string; kubeVersion?: string; failOn: string; color?: boolean },
      ) => {
        const format = outputFormat(flags.output, OUTPUT_FORMATS) as OutputFormat;
        if (!isSeverity(flags.failOn))
          throw new UsageError(
            `unknown severity "${flags.failOn}" for --fail-on; use one of ${SEVERITIES.join(", ")}`,
          );
        let minor: number | undefined;
        if (flags.kubeVersion !== undefined) {
          const match = /^v?1\.(0|[1-9][0-9]*)$/.exec(flags.kubeVersion);
          if (!match)
            throw new UsageError(`invalid --kube-version "${flags.kubeVersion}"; use v1.N, e.g. v1.34`);
          minor = Number(match[1]);
        }
        const loaded = await loadState(flags, io);
        const targetMinor = minor ?? loaded.minor;
        const target: KubeTarget = targetMinor === undefined ? {} : { minor: targetMinor };
        const rules = riskRulesAt(target);
        const findings = evaluate(loaded.resources, {
          rules,
          pssVersion: LATEST_KNOWN_PSS_MINOR,
          knownRuleIds: new Set([...RULE_IDS, ...rules.map((r) => r.meta.id)]),
        });
        const report = buildReport(
          findings,
          loaded.resources.length,
          [],
          rules.map((r) => r.meta),
          VERSION,
        );
        const color = flags.color !== false && io.isTTY && io.env.NO_COLOR === undefined;
        io.stdout.write(render(format, report, { color }));
        state.exitCode = exitCodeFor(report.findings, [], flags.failOn);
      },
    );

  rbac
    .command("catalog")
    .description("List the risky grants `rbac risks` reports, with severity and Kubernetes versions")
    .option("-o, --output <format>", "table or json", "table")
    .action((flags: { output: string }) => {
      const format = outputFormat(flags.output, ["table", "json"]);
      const risks = RBAC_RISKS.map((r) => ({ ...r.rule.meta, kubernetesVersions: r.versions }));
      if (format === "json") io.stdout.write(`${JSON.stringify(risks, null, 2)}\n`);
      else
        io.stdout.write(
          table(
            ["ID", "SEVERITY", "KUBERNETES", "TITLE"],
            risks.map((r) => [r.id, r.severity, r.kubernetesVersions, r.title]),
          ),
        );
      state.exitCode = EXIT.clean;
    });

  rbac
    .command("diff")
    .description("Show what changed in effective permissions from A to B (manifest paths, or context:NAME)")
    .argument("<a>", "before: a file or directory of manifests, or context:NAME")
    .argument("<b>", "after: a file or directory of manifests, or context:NAME")
    .option("-o, --output <format>", "text or json", "text")
    .action(async (a: string, b: string, flags: { output: string }) => {
      const format = outputFormat(flags.output, ["text", "json"]);
      const before = await loadState(diffSource(a), io);
      const after = await loadState(diffSource(b), io);
      const changes = diffPermissions(before.index, after.index);
      if (format === "json") io.stdout.write(`${JSON.stringify({ changes }, null, 2)}\n`);
      else if (changes.length === 0) io.stdout.write("no change in effective permissions\n");
      else {
        const lines: string[] = [];
        for (const c of changes) {
          const who =
            c.kind === "ServiceAccount" ? `ServiceAccount ${c.namespace}/${c.name}` : `${c.kind} ${c.name}`;
          lines.push(`${who} ${c.scope === "" ? "cluster-wide" : `in namespace ${c.scope}`}:`);
          for (const rule of c.added) lines.push(`  + ${ruleText(rule)}`);
          for (const rule of c.removed) lines.push(`  - ${ruleText(rule)}`);
        }
        io.stdout.write(`${lines.join("\n")}\n`);
      }
      state.exitCode = changes.length > 0 ? EXIT.findings : EXIT.clean;
    });
}

interface RequestFlags {
  namespace?: string;
  name?: string;
  apiGroup?: string;
  nonResourceUrl?: string;
  allNamespaces?: boolean;
  output: string;
}

interface AsFlags {
  as?: string;
  asGroup?: string[];
}

function userOf(flags: AsFlags, command: string): UserInfo {
  if (flags.as === undefined || flags.as === "")
    throw new UsageError(
      `rbac ${command} needs --as USER (and --as-group GROUP for each group); use --as system:serviceaccount:NS:NAME for a service account`,
    );
  return impersonatedUser(flags.as, flags.asGroup ?? []);
}

function diffSource(arg: string): SourceFlags {
  return arg.startsWith("context:") ? { context: arg.slice("context:".length) } : { filename: [arg] };
}

/** `get, list on "" pods (names a, b)` / `get on /healthz`. */
export function ruleText(rule: PolicyRule): string {
  const verbs = rule.verbs.join(", ");
  if (rule.nonResourceURLs.length > 0) return `${verbs} on ${rule.nonResourceURLs.join(", ")}`;
  const groups = rule.apiGroups.map((g) => (g === "" ? '""' : g)).join(", ");
  const names = rule.resourceNames.length > 0 ? ` named ${rule.resourceNames.join(", ")}` : "";
  return `${verbs} on ${rule.resources.join(", ")} in group ${groups}${names}`;
}

function grantLine(grant: Grant): string {
  return `${grant.binding} -> ${grant.role}: ${ruleText(grant.rule)}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** Load manifests (`-f`) or a live cluster's RBAC objects. Throws UsageError for unreadable input. */
async function loadState(flags: SourceFlags, io: CliIO): Promise<State> {
  if (flags.filename !== undefined && flags.filename.length > 0) {
    if (flags.context !== undefined) throw new UsageError("give either -f FILE or --context NAME, not both");
    const loaded = await loadPaths(flags.filename, { readStdin: io.readStdin, cwd: io.cwd });
    if (loaded.errors.length > 0)
      throw new UsageError(
        loaded.errors
          .map((e) => `${e.file}${e.line === undefined ? "" : `:${e.line}`}: ${e.message}`)
          .join("\n"),
      );
    const read = readRbacObjects(loaded.resources);
    for (const problem of read.problems) io.stderr.write(`belay: warning: ${problem}\n`);
    return {
      index: buildRbacIndex(read.objects, { aggregate: true }),
      resources: loaded.resources,
      label: "manifests",
    };
  }
  return loadLive(flags.context, io);
}

const LIVE_KINDS = ["ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"] as const;

async function loadLive(context: string | undefined, io: CliIO): Promise<State> {
  // Loaded on use: the client library costs ~60 MB and startup time that offline runs never need.
  const { KubeConfig, RbacAuthorizationV1Api, VersionApi } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  try {
    const path = io.env.KUBECONFIG?.split(":").find((p) => p !== "");
    if (path !== undefined) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (e) {
    throw new UsageError(`cannot load kubeconfig: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === context))
      throw new UsageError(`unknown context "${context}" in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  const name = kc.getCurrentContext();
  if (!name || kc.getCurrentCluster() === null)
    throw new UsageError("no input: give manifests with -f FILE, or a kubeconfig with a current context");
  const api = kc.makeApiClient(RbacAuthorizationV1Api);
  const resources: Resource[] = [];
  try {
    for (const kind of LIVE_KINDS) {
      let token: string | undefined;
      do {
        const params = { limit: 500, ...(token ? { _continue: token } : {}) };
        const list =
          kind === "ClusterRole"
            ? await api.listClusterRole(params)
            : kind === "Role"
              ? await api.listRoleForAllNamespaces(params)
              : kind === "ClusterRoleBinding"
                ? await api.listClusterRoleBinding(params)
                : await api.listRoleBindingForAllNamespaces(params);
        for (const item of list.items as object[]) {
          const plain = JSON.parse(JSON.stringify(item)) as Record<string, unknown>;
          resources.push(makeResource({ ...plain, apiVersion: "rbac.authorization.k8s.io/v1", kind }));
        }
        token = list.metadata?._continue || undefined;
      } while (token);
    }
  } catch (e) {
    throw new UsageError(
      `cannot read RBAC objects from context "${name}" (${kc.getCurrentCluster()?.server}): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  let minor: number | undefined;
  try {
    const info = await kc.makeApiClient(VersionApi).getCode();
    const m = /^(\d+)/.exec(info.minor);
    if (m) minor = Number(m[1]);
  } catch {
    // The version only refines version-dependent risks; without it they assume the worst.
  }
  const read = readRbacObjects(resources);
  return {
    // The controller has aggregated already: read aggregated ClusterRoles as they are.
    index: buildRbacIndex(read.objects, { aggregate: false }),
    resources,
    ...(minor === undefined ? {} : { minor }),
    label: `context "${name}"`,
  };
}
