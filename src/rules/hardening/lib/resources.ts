/**
 * Shared logic of the four container resource rules (cpu/memory × requests/limits).
 */
import { containerLabel, containersOf, type PodCheck } from "../../pod-rule.ts";
import type { Violation } from "../../rule.ts";
import { byNamespace } from "./memo.ts";
import { asArray, asObject, namespaceKey } from "./objects.ts";

/** `requests` or `limits`. */
export type ResourceBound = "requests" | "limits";

function isQuantity(value: unknown): boolean {
  return (typeof value === "string" && value.trim() !== "") || typeof value === "number";
}

/**
 * A check that every container and init container sets `resources.<bound>.<name>`. A request
 * is also satisfied by a limit (the API server defaults the request to the limit), and either
 * by a LimitRange among the scanned resources in the same namespace whose Container entry
 * has a `default` (limits and requests) or `defaultRequest` (requests) for it.
 */
export function resourceCheck(bound: ResourceBound, name: "cpu" | "memory"): PodCheck {
  return (template, context, resource) => {
    const namespace = namespaceKey(resource);
    const defaulted = (byNamespace(context, "LimitRange").get(namespace) ?? []).some((limitRange) => {
      return asArray(asObject(limitRange.object.spec).limits).some((item) => {
        const entry = asObject(item);
        if (entry.type !== "Container") return false;
        if (isQuantity(asObject(entry.default)[name])) return true;
        return bound === "requests" && isQuantity(asObject(entry.defaultRequest)[name]);
      });
    });
    if (defaulted) return [];
    const violations: Violation[] = [];
    for (const ref of containersOf(template, ["initContainers", "containers"])) {
      const resources = asObject(ref.container.resources);
      if (isQuantity(asObject(resources[bound])[name])) continue;
      if (bound === "requests" && isQuantity(asObject(resources.limits)[name])) continue;
      violations.push({
        path: [...ref.path, "resources", bound, name],
        message: `${containerLabel(ref)} has no resources.${bound}.${name}`,
      });
    }
    return violations;
  };
}
