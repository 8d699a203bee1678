/**
 * `metadata.annotations["belay.dev/ignore"]` must be `"<rule-id>[,<rule-id>]: <reason>"`,
 * naming known rules and giving a reason. An invalid one suppresses nothing; this rule says
 * why, so a suppression can never silently fail or silently skip its justification.
 */
import { IGNORE_ANNOTATION, readIgnoreAnnotation } from "../../policy/ignore-annotation.ts";
import { defineRule } from "../rule.ts";

/** Reports `belay.dev/ignore` annotations that are malformed, name unknown rules or give no reason. */
export const ignoreAnnotationInvalid = defineRule({
  meta: {
    id: "ignore-annotation-invalid",
    title: "Suppression annotation is invalid",
    severity: "medium",
    description:
      "The belay.dev/ignore annotation suppresses named rules on one object and must give a reason, so every exception is reviewable. An annotation that is malformed, names an unknown rule or has no reason suppresses nothing.",
    remediation:
      'Write the annotation as "<rule-id>[,<rule-id>]: <reason>" with rule ids from `belay rules list`.',
    frameworks: {},
    profiles: ["pss-baseline", "pss-restricted", "hardening"],
  },
  appliesTo: (resource) => {
    const annotations = (resource.object.metadata as { annotations?: Record<string, unknown> } | undefined)
      ?.annotations;
    return annotations?.[IGNORE_ANNOTATION] !== undefined;
  },
  check(resource, context) {
    const parsed = readIgnoreAnnotation(resource.object, context.knownRuleIds);
    if (!parsed || parsed.valid) return [];
    return [
      {
        path: ["metadata", "annotations", IGNORE_ANNOTATION],
        message: `annotation ${IGNORE_ANNOTATION} ${parsed.problem}; it suppresses nothing`,
      },
    ];
  },
});
