/**
 * Every overload belay's CEL environment can offer, each tagged with the Kubernetes release
 * that introduced it (the environment filters them by `--k8s-version`). Listed explicitly, no
 * registration by import side effect.
 */
import type { Overload } from "./functions.ts";
import { authzOverloads } from "./lib/authz.ts";
import { coreOverloads } from "./lib/core.ts";
import { extOverloads } from "./lib/ext.ts";
import { formatOverloads } from "./lib/format.ts";
import { k8sListsOverloads } from "./lib/lists.ts";
import { netOverloads } from "./lib/net.ts";
import { optionalOverloads } from "./lib/optional.ts";
import { quantityOverloads } from "./lib/quantity.ts";
import { regexOverloads } from "./lib/regex.ts";
import { semverOverloads } from "./lib/semver.ts";
import { urlOverloads } from "./lib/url.ts";

/** All overloads, core first (they take precedence over `@bufbuild/cel`'s standard functions). */
export const allOverloads: readonly Overload[] = [
  ...coreOverloads,
  ...optionalOverloads,
  ...regexOverloads,
  ...k8sListsOverloads,
  ...authzOverloads,
  ...urlOverloads,
  ...quantityOverloads,
  ...netOverloads,
  ...formatOverloads,
  ...semverOverloads,
  ...extOverloads,
];
