/**
 * `belay export`: enforcement that runs inside the API server, with no webhook.
 * - `export vap`: the policy catalog as native ValidatingAdmissionPolicy + binding YAML.
 * - `export pss-labels`: Namespace Pod Security labels for a level and version.
 */
import type { Command } from "commander";
import { stringify } from "yaml";
import { VALIDATION_ACTIONS } from "../policy/vap/index.ts";
import type { KubeObject } from "../resources/types.ts";
import { ALL_RULES, PROFILES, type Profile } from "../rules/index.ts";
import { formatPssVersion, parsePssVersion } from "../rules/rule.ts";
import { RULE_VAP_TEMPLATES } from "../rules/vap-forms.ts";
import { loadPaths } from "../sources/files.ts";
import { type CliIO, collect, EXIT, splitList, UsageError } from "./io.ts";

const MODES = ["enforce", "audit", "warn"] as const;
const LEVELS = ["privileged", "baseline", "restricted"] as const;

/** Register `export vap` and `export pss-labels`. */
export function registerExport(program: Command, io: CliIO, state: { exitCode: number }): void {
  const exp = program
    .command("export")
    .description("Export enforcement that runs inside the API server (no webhook)");
  exp
    .command("vap")
    .description("Write ValidatingAdmissionPolicy + binding (+ params) YAML from a policy catalog")
    .option("--catalog <dir>", "the catalog folder (one template per subfolder)", "policies")
    .option("--templates <names>", "only these templates (comma-separated, repeatable)", collect)
    .option(
      "--from-rules <ids>",
      "the templates that enforce these built-in rules (comma-separated, repeatable)",
      collect,
    )
    .option(
      "--from-profile <profile>",
      `the templates that enforce the rules of a profile: ${PROFILES.join(", ")}`,
    )
    .option("--actions <actions>", "binding validationActions: Deny, Warn, Audit (comma-separated)", "Deny")
    .action(
      async (flags: {
        catalog: string;
        templates?: string[];
        fromRules?: string[];
        fromProfile?: string;
        actions: string;
      }) => {
        const actions = splitList([flags.actions]);
        const bad = actions.filter((a) => !(VALIDATION_ACTIONS as readonly string[]).includes(a));
        if (bad.length > 0 || actions.length === 0)
          throw new UsageError(`invalid --actions "${flags.actions}"; use Deny, Warn and/or Audit`);
        if (actions.includes("Deny") && actions.includes("Warn"))
          throw new UsageError("--actions must not contain both Deny and Warn");
        const loaded = await loadPaths([flags.catalog], { readStdin: io.readStdin, cwd: io.cwd });
        if (loaded.errors.length > 0) {
          throw new UsageError(
            loaded.errors.map((e) => `${e.file}${e.line ? `:${e.line}` : ""}: ${e.message}`).join("\n"),
          );
        }
        const wanted = new Set(splitList(flags.templates));
        const ruleIds = splitList(flags.fromRules);
        if (flags.fromProfile !== undefined) {
          if (!(PROFILES as readonly string[]).includes(flags.fromProfile)) {
            throw new UsageError(`unknown profile "${flags.fromProfile}"; use one of ${PROFILES.join(", ")}`);
          }
          const profile = flags.fromProfile as Profile;
          for (const rule of ALL_RULES) {
            if (profile === "all" || rule.meta.profiles.includes(profile as Exclude<Profile, "all">))
              ruleIds.push(rule.meta.id);
          }
        }
        const unknownRules = ruleIds.filter((id) => !ALL_RULES.some((r) => r.meta.id === id)).sort();
        if (unknownRules.length > 0) {
          throw new UsageError(
            `unknown rule ${unknownRules.map((id) => `"${id}"`).join(", ")} (see \`belay rules list\`)`,
          );
        }
        for (const id of ruleIds) {
          const template = RULE_VAP_TEMPLATES[id];
          if (template !== undefined) wanted.add(template);
        }
        if (ruleIds.length > 0 && wanted.size === 0) {
          throw new UsageError(`no catalog template enforces ${ruleIds.map((id) => `"${id}"`).join(", ")}`);
        }
        const docs: KubeObject[] = [];
        const found = new Set<string>();
        for (const resource of loaded.resources) {
          if (resource.ref.kind === "PolicyTest") continue;
          const template = (resource.source?.file ?? "").split("/").slice(-2, -1)[0] ?? "";
          if (wanted.size > 0 && !wanted.has(template)) continue;
          found.add(template);
          const object = structuredClone(resource.object);
          if (object.kind === "ValidatingAdmissionPolicyBinding") {
            (object.spec as Record<string, unknown>).validationActions = actions;
          }
          docs.push(object);
        }
        const missing = [...wanted].filter((t) => !found.has(t)).sort();
        if (missing.length > 0)
          throw new UsageError(
            `unknown template ${missing.map((t) => `"${t}"`).join(", ")} in ${flags.catalog}`,
          );
        // Namespaced params need their namespace.
        const paramNamespaces = new Set(
          docs
            .filter((d) => !String(d.kind).startsWith("ValidatingAdmissionPolicy"))
            .map((d) => (d.metadata as { namespace?: string } | undefined)?.namespace)
            .filter((n): n is string => typeof n === "string" && n !== ""),
        );
        const namespaceDocs = [...paramNamespaces]
          .sort()
          .map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } }));
        io.stdout.write([...namespaceDocs, ...docs].map((d) => `---\n${stringify(d)}`).join(""));
        state.exitCode = EXIT.clean;
      },
    );
  exp
    .command("pss-labels")
    .description("Write Namespaces with Pod Security admission labels")
    .argument("[namespaces...]", "namespace names (or use -f)")
    .option("-f, --filename <path>", "take the Namespaces from manifests (repeatable)", collect)
    .option("--level <level>", `Pod Security level: ${LEVELS.join(", ")}`, "restricted")
    .option("--pss-version <version>", "Pod Security version: v1.N or latest", "latest")
    .option("--modes <modes>", `label modes: ${MODES.join(", ")} (comma-separated)`, "enforce,audit,warn")
    .action(
      async (
        names: string[],
        flags: { filename?: string[]; level: string; pssVersion: string; modes: string },
      ) => {
        if (!(LEVELS as readonly string[]).includes(flags.level)) {
          throw new UsageError(`unknown level "${flags.level}"; use ${LEVELS.join(", ")}`);
        }
        const version = parsePssVersion(flags.pssVersion);
        if (version === undefined)
          throw new UsageError(`invalid --pss-version "${flags.pssVersion}"; use v1.N or latest`);
        const modes = splitList([flags.modes]);
        const badMode = modes.find((m) => !(MODES as readonly string[]).includes(m));
        if (badMode !== undefined || modes.length === 0)
          throw new UsageError(`invalid --modes "${flags.modes}"; use ${MODES.join(", ")}`);
        const namespaces = new Map<string, KubeObject>();
        for (const name of names)
          namespaces.set(name, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
        if (flags.filename?.length) {
          const loaded = await loadPaths(flags.filename, { readStdin: io.readStdin, cwd: io.cwd });
          if (loaded.errors.length > 0) {
            throw new UsageError(
              loaded.errors.map((e) => `${e.file}${e.line ? `:${e.line}` : ""}: ${e.message}`).join("\n"),
            );
          }
          for (const r of loaded.resources)
            if (r.ref.kind === "Namespace") namespaces.set(r.ref.name, structuredClone(r.object));
        }
        if (namespaces.size === 0)
          throw new UsageError("no namespaces: name them or pass -f with Namespace manifests");
        const docs = [...namespaces.values()].map((ns) => {
          const metadata = (ns.metadata ?? {}) as Record<string, unknown>;
          const labels = { ...((metadata.labels as Record<string, string>) ?? {}) };
          for (const mode of modes) {
            labels[`pod-security.kubernetes.io/${mode}`] = flags.level;
            labels[`pod-security.kubernetes.io/${mode}-version`] = formatPssVersion(version);
          }
          return { ...ns, metadata: { ...metadata, labels } };
        });
        io.stdout.write(docs.map((d) => `---\n${stringify(d)}`).join(""));
        state.exitCode = EXIT.clean;
      },
    );
}
