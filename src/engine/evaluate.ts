/**
 * evaluate(resources, ruleset, policies) → findings: the one entry point that scan, the
 * webhook and the audit all call, so a finding means the same everywhere.
 */
import { compareFindings, type Finding, type Status } from "../findings/finding.ts";
import { exceptionCovers, isExpired, type RuleException } from "../policy/exceptions.ts";
import { readIgnoreAnnotation } from "../policy/ignore-annotation.ts";
import type { Resource } from "../resources/types.ts";
import { EXCEPTION_EXPIRED } from "../rules/meta/exception-expired.ts";
import type { PssVersion, Rule } from "../rules/rule.ts";
import { makeRuleContext } from "./context.ts";
import { makeFinding } from "./make-finding.ts";
import { type AdmissionContext, type PolicySet, policyFindings } from "./policies.ts";

/** How to evaluate. */
export interface EvaluateOptions {
  /** The selected rules (see `selectRules`). */
  rules: readonly Rule[];
  pssVersion: PssVersion;
  /** Ids every suppression may name (all built-in rules). */
  knownRuleIds: ReadonlySet<string>;
  exceptions?: readonly RuleException[];
  /** Clock for exception expiry. */
  now?: Date;
  /** Also return `pass` findings (rule applied, nothing wrong) and `skip` ones (suppressed). */
  showPassed?: boolean;
  /** User ValidatingAdmissionPolicies, evaluated on every resource beside the rules. */
  policies?: PolicySet;
  /** The real admission request around the (single) resource, for policies (the webhook). */
  admission?: AdmissionContext;
}

/**
 * Evaluate every selected rule on every resource. Returns findings sorted for output. A rule
 * that throws yields an `error` finding, never a `fail`, and the others still run. Never throws.
 */
export function evaluate(resources: readonly Resource[], options: EvaluateOptions): Finding[] {
  const context = makeRuleContext(resources, options.pssVersion, options.knownRuleIds);
  const now = options.now ?? new Date();
  const exceptions = options.exceptions ?? [];
  const findings: Finding[] = [];
  const namespaces = new Map(context.byKind("Namespace").map((r) => [r.ref.name, r.object]));
  for (const resource of resources) {
    if (options.policies)
      findings.push(...policyFindings(resource, options.policies, namespaces, options.admission));
    const ignore = readIgnoreAnnotation(resource.object, options.knownRuleIds);
    const ignored = ignore?.valid ? new Set(ignore.ruleIds) : undefined;
    for (const rule of options.rules) {
      let violations: ReturnType<Rule["check"]>;
      try {
        violations = rule.check(resource, context);
      } catch (e) {
        findings.push(
          makeFinding(
            rule.meta,
            resource,
            [],
            "error",
            `rule failed on this object: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
        continue;
      }
      if (violations.length === 0) {
        if (options.showPassed && (rule.appliesTo?.(resource) ?? false)) {
          findings.push(makeFinding(rule.meta, resource, [], "pass", "passed"));
        }
        continue;
      }
      const suppression = suppressionFor(rule.meta.id, resource, ignored, ignore, exceptions, now, findings);
      if (suppression !== undefined) {
        if (options.showPassed)
          findings.push(makeFinding(rule.meta, resource, [], "skip", `suppressed: ${suppression}`));
        continue;
      }
      const status: Status = rule.meta.status ?? "fail";
      for (const violation of violations)
        findings.push(makeFinding(rule.meta, resource, violation.path, status, violation.message));
    }
  }
  return findings.sort(compareFindings);
}

/** The reason a rule's findings on a resource are suppressed, or undefined; reports lapsed exceptions. */
function suppressionFor(
  ruleId: string,
  resource: Resource,
  ignored: ReadonlySet<string> | undefined,
  ignore: ReturnType<typeof readIgnoreAnnotation>,
  exceptions: readonly RuleException[],
  now: Date,
  findings: Finding[],
): string | undefined {
  if (ignored?.has(ruleId) && ignore?.valid) return `annotation: ${ignore.reason}`;
  for (const exception of exceptions) {
    if (!exceptionCovers(exception, ruleId, resource)) continue;
    if (!isExpired(exception, now))
      return `exception ${exception.index} (owner ${exception.owner}): ${exception.reason}`;
    findings.push(
      makeFinding(
        EXCEPTION_EXPIRED,
        resource,
        [],
        EXCEPTION_EXPIRED.status ?? "warn",
        `exceptions[${exception.index}] for rule "${ruleId}" (owner ${exception.owner}) expired on ${exception.expires}; its findings are reported again`,
      ),
    );
  }
  return undefined;
}
