/**
 * `belay rules list` and `belay rules show ID`: the built-in rule library.
 */
import type { Command } from "commander";
import { frameworkTags } from "../findings/describe.ts";
import { ALL_RULES, ENGINE_RULE_METAS, PROFILES, type RuleMeta } from "../rules/index.ts";
import { type CliIO, EXIT, UsageError } from "./io.ts";

/** Register `rules list|show`. */
export function registerRules(program: Command, io: CliIO, state: { exitCode: number }): void {
  const rules = program.command("rules").description("List and explain the built-in rules");
  rules
    .command("list")
    .description("List the built-in rules")
    .option("-o, --output <format>", "table or json", "table")
    .option("--profile <profile>", `only rules of this profile: ${PROFILES.join(", ")}`)
    .action((flags: { output: string; profile?: string }) => {
      if (flags.profile !== undefined && !(PROFILES as readonly string[]).includes(flags.profile)) {
        throw new UsageError(`unknown profile "${flags.profile}"; use one of ${PROFILES.join(", ")}`);
      }
      const metas = allMetas().filter(
        (m) =>
          flags.profile === undefined ||
          flags.profile === "all" ||
          (m.profiles as string[]).includes(flags.profile),
      );
      if (flags.output === "json") io.stdout.write(`${JSON.stringify(metas, null, 2)}\n`);
      else if (flags.output === "table") io.stdout.write(listTable(metas));
      else throw new UsageError(`unknown output format "${flags.output}"; use table or json`);
      state.exitCode = EXIT.clean;
    });
  rules
    .command("show")
    .description("Show one rule: what it checks, why, how to fix, framework references")
    .argument("<id>", "rule id (see `belay rules list`)")
    .option("-o, --output <format>", "text or json", "text")
    .action((id: string, flags: { output: string }) => {
      const meta = allMetas().find((m) => m.id === id);
      if (!meta) throw new UsageError(`unknown rule "${id}" (see \`belay rules list\`)`);
      if (flags.output === "json") io.stdout.write(`${JSON.stringify(meta, null, 2)}\n`);
      else if (flags.output === "text") io.stdout.write(showText(meta));
      else throw new UsageError(`unknown output format "${flags.output}"; use text or json`);
      state.exitCode = EXIT.clean;
    });
}

function allMetas(): RuleMeta[] {
  return [...ALL_RULES.map((r) => r.meta), ...ENGINE_RULE_METAS];
}

function listTable(metas: RuleMeta[]): string {
  const rows = metas.map((m) => [m.id, m.severity, m.status ?? "fail", m.profiles.join(","), m.title]);
  const header = ["ID", "SEVERITY", "STATUS", "PROFILES", "TITLE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n${metas.length} rules\n`;
}

function showText(meta: RuleMeta): string {
  const tags = frameworkTags(meta.frameworks);
  return [
    `${meta.id}: ${meta.title}`,
    `severity: ${meta.severity}   status: ${meta.status ?? "fail"}   profiles: ${meta.profiles.join(", ")}`,
    "",
    meta.description,
    "",
    `How to fix: ${meta.remediation}`,
    ...(tags.length > 0 ? ["", `Frameworks: ${tags.join(", ")}`] : []),
    "",
  ].join("\n");
}
