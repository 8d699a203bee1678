/**
 * What a built-in rule is: metadata apart from logic, and a pure check.
 */
import type { FrameworkRefs, Severity } from "../findings/finding.ts";
import type { FieldPath } from "../resources/path.ts";
import type { Resource } from "../resources/types.ts";

/** Rule sets users select with `--profile`. `all` selects every rule. */
export const PROFILES = ["pss-baseline", "pss-restricted", "hardening", "all"] as const;
export type Profile = (typeof PROFILES)[number];

/**
 * A Pod Security Standards version as its minor number: `v1.25` is 25, `v1.0` is 0 and
 * `latest` is +Infinity, so "check version X applies" is `minor >= X`.
 */
export type PssVersion = number;

/** The newest Kubernetes minor release whose PSS behaviour belay knows. */
export const LATEST_KNOWN_PSS_MINOR = 37;

/** Parse `v1.N` or `latest`. Returns undefined for anything else. */
export function parsePssVersion(text: string): PssVersion | undefined {
  if (text === "latest") return Number.POSITIVE_INFINITY;
  const match = /^v1\.(0|[1-9][0-9]*)$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Render a {@link PssVersion} as `v1.N` or `latest`. */
export function formatPssVersion(version: PssVersion): string {
  return version === Number.POSITIVE_INFINITY ? "latest" : `v1.${version}`;
}

/** Metadata of a rule: what it checks, why, how to fix it, where the frameworks ask for it. */
export interface RuleMeta {
  /** Stable kebab-case id; never reused for another meaning. */
  id: string;
  title: string;
  severity: Severity;
  /** What is checked and why it matters, in a few sentences. */
  description: string;
  /** One imperative sentence ending with a period. */
  remediation: string;
  frameworks: FrameworkRefs;
  /** Profiles (other than `all`) that include this rule. */
  profiles: Exclude<Profile, "all">[];
  /** Status of its findings: `fail` (default) or `warn` for advice that should not block. */
  status?: "fail" | "warn";
}

/** One problem a check found: where, and what, in a message that names offenders and values. */
export interface Violation {
  path: FieldPath;
  message: string;
}

/** What a check may read besides the resource. Built once per evaluation. */
export interface RuleContext {
  /** Pod Security Standards version in force (`--pss-version`). */
  pssVersion: PssVersion;
  /** Every resource of this evaluation, for rules that relate objects (e.g. NetworkPolicy coverage). */
  resources: readonly Resource[];
  /** Resources of one kind, memoised. */
  byKind(kind: string): readonly Resource[];
  /** Ids of every built-in rule (to validate suppressions that name rules). */
  knownRuleIds: ReadonlySet<string>;
}

/** A built-in rule. `check` is pure and never throws for any input object. */
export interface Rule {
  meta: RuleMeta;
  /**
   * Ids of rules this one replaces when both are selected at `version` (Pod Security
   * restricted checks override their baseline twins from some version on).
   */
  supersedes?(version: PssVersion): readonly string[];
  /** Whether the rule exists at all at this PSS version (PSS checks added later return false before). */
  appliesAt?(version: PssVersion): boolean;
  /**
   * Whether the rule looks at this resource at all; a resource it applies to and that has no
   * violation gets a `pass` finding (shown with --show-passed). Rules without it never pass.
   */
  appliesTo?(resource: Resource): boolean;
  check(resource: Resource, context: RuleContext): Violation[];
}

/** Construct a rule; a typed identity so rule files read declaratively. */
export function defineRule(rule: Rule): Rule {
  return rule;
}
