/**
 * The built-in rule registry: every rule listed explicitly (no registration by import side
 * effect), and the selection users make with --profile, --rules and --skip-rules.
 */
import { RBAC_RISK_RULES } from "../rbac/risks.ts";
import { appError, err, ok, type Result } from "../result.ts";
import { HARDENING_RULES } from "./hardening/index.ts";
import { EXCEPTION_EXPIRED } from "./meta/exception-expired.ts";
import { ignoreAnnotationInvalid } from "./meta/ignore-annotation-invalid.ts";
import { PSS_RULES } from "./pss/index.ts";
import type { Profile, PssVersion, Rule, RuleMeta } from "./rule.ts";

export * from "./rule.ts";

/** Every built-in rule, in a stable order: PSS, hardening, RBAC risks, meta. */
export const ALL_RULES: readonly Rule[] = [
  ...PSS_RULES,
  ...HARDENING_RULES,
  ...RBAC_RISK_RULES,
  ignoreAnnotationInvalid,
];

/** Metadata of findings the engine itself reports (not produced by a rule's check). */
export const ENGINE_RULE_METAS: readonly RuleMeta[] = [EXCEPTION_EXPIRED];

/** Metadata of everything that can produce a finding, by id. */
export const RULE_METAS: ReadonlyMap<string, RuleMeta> = new Map(
  [...ALL_RULES.map((rule) => rule.meta), ...ENGINE_RULE_METAS].map((meta) => [meta.id, meta]),
);

/** Ids of every rule, for validating suppressions. */
export const RULE_IDS: ReadonlySet<string> = new Set(RULE_METAS.keys());

/** What the user selected. */
export interface RuleSelection {
  /** Profiles to include; `all` (the default) includes every rule. */
  profiles: readonly Profile[];
  /** When set, exactly these rule ids (profiles are ignored). */
  only?: readonly string[];
  /** Rule ids to leave out. */
  skip?: readonly string[];
  pssVersion: PssVersion;
}

/**
 * Resolve a selection to the rules to run at its PSS version: rules that do not exist yet at
 * that version are dropped, and so are baseline checks that a selected restricted check
 * supersedes. Unknown rule ids are a usage error listing them all.
 */
export function selectRules(selection: RuleSelection, rules: readonly Rule[] = ALL_RULES): Result<Rule[]> {
  const known = new Set(rules.map((rule) => rule.meta.id));
  const unknown = [...(selection.only ?? []), ...(selection.skip ?? [])].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    return err(
      appError(
        "usage",
        `unknown rule ${[...new Set(unknown)]
          .sort()
          .map((id) => `"${id}"`)
          .join(", ")} (see \`belay rules list\`)`,
      ),
    );
  }
  const profiles = new Set(selection.profiles);
  let selected = selection.only
    ? rules.filter((rule) => selection.only?.includes(rule.meta.id))
    : rules.filter(
        (rule) => profiles.has("all") || rule.meta.profiles.some((profile) => profiles.has(profile)),
      );
  const skip = new Set(selection.skip ?? []);
  selected = selected.filter(
    (rule) => !skip.has(rule.meta.id) && (rule.appliesAt?.(selection.pssVersion) ?? true),
  );
  const superseded = new Set(selected.flatMap((rule) => rule.supersedes?.(selection.pssVersion) ?? []));
  return ok(selected.filter((rule) => !superseded.has(rule.meta.id)));
}
