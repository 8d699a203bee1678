/**
 * Per-evaluation indexes for rules that relate objects, built once per rule context instead
 * of scanning all resources for every workload.
 */

import { ObjectMemo } from "../../../object-memo.ts";
import type { Resource } from "../../../resources/types.ts";
import type { RuleContext } from "../../rule.ts";
import { namespaceKey } from "./objects.ts";

// Keyed by the context, like its own byKind index: one evaluation, one set of indexes.
const memo = new ObjectMemo<RuleContext, Map<string, unknown>>("perContext");

/** The value `build` returns for this context and `key`, built on first use. Never throws unless `build` does. */
export function perContext<T>(context: RuleContext, key: string, build: () => T): T {
  const entries = memo.getOrCompute(context, () => new Map());
  if (!entries.has(key)) entries.set(key, build());
  return entries.get(key) as T;
}

/** The resources of `kind` grouped by namespace key (see `namespaceKey`), indexed once per context. */
export function byNamespace(context: RuleContext, kind: string): ReadonlyMap<string, readonly Resource[]> {
  return perContext(context, `byNamespace:${kind}`, () => {
    const index = new Map<string, Resource[]>();
    for (const resource of context.byKind(kind)) {
      const key = namespaceKey(resource);
      const list = index.get(key);
      if (list) list.push(resource);
      else index.set(key, [resource]);
    }
    return index;
  });
}
