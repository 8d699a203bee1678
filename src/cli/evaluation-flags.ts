/**
 * The evaluation flags `scan` and `audit` share (output, rule selection, PSS version,
 * threshold, exceptions, colour), declared and validated once so the two edges cannot drift.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { isSeverity, SEVERITIES, type Severity } from "../findings/finding.ts";
import { OUTPUT_FORMATS, type OutputFormat } from "../output/index.ts";
import { parseExceptions, type RuleException } from "../policy/exceptions.ts";
import {
  PROFILES,
  type Profile,
  type PssVersion,
  parsePssVersion,
  RULE_IDS,
  type Rule,
  selectRules,
} from "../rules/index.ts";
import { collect, splitList, UsageError } from "./io.ts";

/** The shared flags as commander parses them. */
export interface EvaluationFlags {
  output: string;
  profile?: string[];
  rules?: string[];
  skipRules?: string[];
  pssVersion: string;
  failOn: string;
  showPassed?: boolean;
  exceptions?: string;
  color?: boolean;
}

/** The shared flags, validated. */
export interface EvaluationSettings {
  format: OutputFormat;
  failOn: Severity;
  pssVersion: PssVersion;
  rules: Rule[];
  exceptions: RuleException[];
}

/**
 * Declare the rule-selection flags (`--profile`, `--rules`, `--skip-rules`), also used by
 * `webhook`, whose config file supplies them when the flags are absent.
 */
export function addRuleSelectionOptions(command: Command): Command {
  return command
    .option("--profile <profile>", `rule set: ${PROFILES.join(", ")} (repeatable; default all)`, collect)
    .option("--rules <ids>", "run only these rules (comma-separated, repeatable)", collect)
    .option("--skip-rules <ids>", "leave out these rules (comma-separated, repeatable)", collect);
}

/** Declare the shared flags on a command. */
export function addEvaluationOptions(command: Command): Command {
  return addRuleSelectionOptions(
    command.option("-o, --output <format>", `output format: ${OUTPUT_FORMATS.join(", ")}`, "table"),
  )
    .option("--pss-version <version>", "Pod Security Standards version: v1.0 … v1.N or latest", "latest")
    .option(
      "--fail-on <severity>",
      `exit 1 when a failing finding is at or above: ${SEVERITIES.join(", ")}`,
      "low",
    )
    .option("--show-passed", "also list passed and suppressed checks")
    .option("--exceptions <file>", "exceptions file (rules, resources, reason, owner, expiry)")
    .option("--no-color", "disable colour in table output");
}

/** Validate the shared flags and read the exceptions file. Throws UsageError with the problem. */
export async function resolveEvaluation(flags: EvaluationFlags): Promise<EvaluationSettings> {
  const format = flags.output as OutputFormat;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`unknown output format "${flags.output}"; use one of ${OUTPUT_FORMATS.join(", ")}`);
  }
  const failOn = flags.failOn;
  if (!isSeverity(failOn))
    throw new UsageError(`unknown severity "${failOn}" for --fail-on; use one of ${SEVERITIES.join(", ")}`);
  const pssVersion = parsePssVersion(flags.pssVersion);
  if (pssVersion === undefined)
    throw new UsageError(`invalid --pss-version "${flags.pssVersion}"; use v1.0 … v1.N or latest`);
  const profiles = splitList(flags.profile);
  const badProfile = profiles.find((p) => !(PROFILES as readonly string[]).includes(p));
  if (badProfile !== undefined)
    throw new UsageError(`unknown profile "${badProfile}"; use one of ${PROFILES.join(", ")}`);
  const only = splitList(flags.rules);
  const selection = selectRules({
    profiles: profiles.length > 0 ? (profiles as Profile[]) : ["all"],
    ...(only.length > 0 ? { only } : {}),
    skip: splitList(flags.skipRules),
    pssVersion,
  });
  if (!selection.ok) throw new UsageError(selection.error.message);
  return {
    format,
    failOn,
    pssVersion,
    rules: selection.value,
    exceptions: await readExceptions(flags.exceptions),
  };
}

/** Read and validate an exceptions file (none when `path` is undefined). Throws UsageError listing every problem. */
export async function readExceptions(path: string | undefined): Promise<RuleException[]> {
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
