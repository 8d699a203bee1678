/**
 * image-no-digest
 *
 * Field: `image` of every container, init container and ephemeral container.
 * Allowed values: a reference pinned by digest (`…@sha256:<hex>`, with or without a tag).
 * Any other reference fails; a digest that is not `algorithm:hex` does not count.
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { parseImageRef } from "./lib/images.ts";

/** Images should be pinned by digest (advice). */
export const imageNoDigest: Rule = podRule(
  {
    id: "image-no-digest",
    title: "Image is not pinned by digest",
    severity: "info",
    description:
      "Tags are mutable: whoever can push to the repository can change what a version tag points to. Only a digest names " +
      "exactly one image, so what was scanned and signed is what runs.",
    remediation:
      "Pin the image by digest (image@sha256:<digest>), keeping the tag for readability if you like.",
    frameworks: {
      cis: ["5.5.1"],
      nist: ["4.2.2", "4.1.5"],
      mitre: ["T1525"],
    },
    profiles: ["hardening"],
    status: "warn",
  },
  (template) => {
    const violations: Violation[] = [];
    for (const ref of containersOf(template)) {
      const image = parseImageRef(ref.container.image);
      if (!image || image.digest !== undefined) continue;
      violations.push({
        path: [...ref.path, "image"],
        message: `${containerLabel(ref)} uses image "${ref.container.image}" without ${String(ref.container.image).includes("@") ? "a well-formed" : "a"} digest`,
      });
    }
    return violations;
  },
);
