/**
 * image-pull-policy
 *
 * Field: `imagePullPolicy` of every container, init container and ephemeral container whose
 * image resolves to `latest` (tag `latest` or no tag, and no digest).
 * Allowed values for those: `Always` or unset (the API server then defaults it to Always).
 * `IfNotPresent` and `Never` fail. Images with a version tag or a digest are not checked.
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { isMutableLatest, parseImageRef } from "./lib/images.ts";

/** Images that resolve to `latest` must be pulled on every start. */
export const imagePullPolicy: Rule = podRule(
  {
    id: "image-pull-policy",
    title: "Mutable image is not always pulled",
    severity: "low",
    description:
      "With imagePullPolicy IfNotPresent or Never, a node runs whatever copy of a latest image it cached earlier, so replicas " +
      "on different nodes run different code and a fixed image never reaches nodes that already have an old one. It also lets " +
      "any pod on the node use the cached image without the registry checking its pull credentials.",
    remediation:
      "Set imagePullPolicy to Always for images referenced by latest or by no tag, or pin them by version or digest.",
    frameworks: {
      cis: ["5.5.1"],
      nist: ["4.2.2"],
    },
    profiles: ["hardening"],
  },
  (template) => {
    const violations: Violation[] = [];
    for (const ref of containersOf(template)) {
      const policy = ref.container.imagePullPolicy;
      if (policy !== "IfNotPresent" && policy !== "Never") continue;
      const image = parseImageRef(ref.container.image);
      if (!image || !isMutableLatest(image)) continue;
      violations.push({
        path: [...ref.path, "imagePullPolicy"],
        message: `${containerLabel(ref)} pulls image "${ref.container.image}" with imagePullPolicy "${policy}"; a mutable latest image must use "Always"`,
      });
    }
    return violations;
  },
);
