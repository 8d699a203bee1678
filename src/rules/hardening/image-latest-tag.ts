/**
 * image-latest-tag
 *
 * Field: `image` of every container, init container and ephemeral container.
 * Disallowed values: a reference whose tag is `latest` and that has no digest
 * (`nginx:latest`, `registry:5000/app:latest`). `nginx:latest@sha256:…` passes (the digest
 * decides what runs); an image with no tag at all is `image-no-tag`.
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { parseImageRef } from "./lib/images.ts";

/** Images must not use the mutable `latest` tag. */
export const imageLatestTag: Rule = podRule(
  {
    id: "image-latest-tag",
    title: "Image uses the latest tag",
    severity: "medium",
    description:
      "The latest tag points to whatever was pushed last, so the code that runs changes without any change to the manifest, " +
      "nodes can run different builds side by side, and a rollback cannot restore the previous version. A compromised " +
      "registry push is picked up silently.",
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
      if (!image || image.digest !== undefined || image.tag !== "latest") continue;
      violations.push({
        path: [...ref.path, "image"],
        message: `${containerLabel(ref)} uses image "${ref.container.image}" with the mutable tag "latest"`,
      });
    }
    return violations;
  },
);
