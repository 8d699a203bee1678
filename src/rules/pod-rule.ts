/**
 * Helpers for rules written against pod specs: run once per pod template of any workload.
 */
import { type ContainerRef, containersOf, type PodTemplate, podTemplates } from "../resources/pod-spec.ts";
import type { Resource } from "../resources/types.ts";
import { defineRule, type Rule, type RuleContext, type RuleMeta, type Violation } from "./rule.ts";

/** A check over one pod template; paths in its violations are absolute (start with `template.specPath`). */
export type PodCheck = (template: PodTemplate, context: RuleContext, resource: Resource) => Violation[];

/** A rule that applies `check` to every pod template of a resource (none for non-workloads). */
export function podRule(meta: RuleMeta, check: PodCheck, extra: Omit<Rule, "meta" | "check"> = {}): Rule {
  return defineRule({
    appliesTo: (resource) => podTemplates(resource.object).length > 0,
    ...extra,
    meta,
    check(resource, context) {
      const violations: Violation[] = [];
      for (const template of podTemplates(resource.object))
        violations.push(...check(template, context, resource));
      return violations;
    },
  });
}

/** `container "app"`, `init container "setup"` or `ephemeral container "debug"`. */
export function containerLabel(ref: ContainerRef): string {
  const noun =
    ref.list === "initContainers"
      ? "init container"
      : ref.list === "ephemeralContainers"
        ? "ephemeral container"
        : "container";
  return `${noun} "${ref.container.name ?? `#${ref.index}`}"`;
}

export { containersOf };
