import type { Resource } from "../resources/types.ts";
import type { PssVersion, RuleContext } from "../rules/rule.ts";

/** Build the context rules read: all resources, indexed by kind on first use. */
export function makeRuleContext(
  resources: readonly Resource[],
  pssVersion: PssVersion = Number.POSITIVE_INFINITY,
  knownRuleIds: ReadonlySet<string> = new Set(),
): RuleContext {
  const byKind = new Map<string, Resource[]>();
  let indexed = false;
  return {
    pssVersion,
    resources,
    knownRuleIds,
    byKind(kind) {
      if (!indexed) {
        for (const resource of resources) {
          const list = byKind.get(resource.ref.kind);
          if (list) list.push(resource);
          else byKind.set(resource.ref.kind, [resource]);
        }
        indexed = true;
      }
      return byKind.get(kind) ?? [];
    },
  };
}
