/**
 * image-no-tag
 *
 * Field: `image` of every container, init container and ephemeral container.
 * Disallowed values: a reference with neither a tag nor a digest (`nginx`,
 * `registry:5000/team/app`), which the runtime resolves to `latest`. A registry port is
 * not a tag.
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { parseImageRef } from "./lib/images.ts";

/** Images must name a tag or digest instead of implying `latest`. */
export const imageNoTag: Rule = podRule(
  {
    id: "image-no-tag",
    title: "Image has no tag",
    severity: "medium",
    description:
      "An image reference without a tag or digest is pulled as latest: what runs changes with every push, nodes can run " +
      "different builds side by side, and no manifest records which version was deployed.",
    remediation: "Reference the image by a specific version tag or, better, by its digest.",
    frameworks: {
      cis: ["5.5.1"],
      nist: ["4.2.2"],
      mitre: ["T1525"],
    },
    profiles: ["hardening"],
  },
  (template) => {
    const violations: Violation[] = [];
    for (const ref of containersOf(template)) {
      const image = parseImageRef(ref.container.image);
      if (!image || image.digest !== undefined || image.tag !== undefined) continue;
      violations.push({
        path: [...ref.path, "image"],
        message: `${containerLabel(ref)} uses image "${ref.container.image}" with no tag, which resolves to "latest"`,
      });
    }
    return violations;
  },
);
