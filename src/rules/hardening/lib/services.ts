/**
 * Reading Services for the exposure rules.
 */
import type { Resource } from "../../../resources/types.ts";
import { asObject } from "./objects.ts";

/** The `spec` of a core `v1` Service, or undefined for anything else. */
export function serviceSpec(resource: Resource): Record<string, unknown> | undefined {
  if (resource.ref.kind !== "Service" || resource.ref.apiVersion !== "v1") return undefined;
  return asObject(resource.object.spec);
}
