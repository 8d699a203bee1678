/**
 * Runs one upstream CEL conformance test (from `@bufbuild/cel-spec`) against belay's
 * environment. Used by conformance.test.ts; not part of the module's API.
 */

import { celUint, isCelError, isCelType } from "@bufbuild/cel";
import type { Value } from "@bufbuild/cel-spec/cel/expr/value_pb.js";
import type { IncrementalTest } from "@bufbuild/cel-spec/testdata/tests.js";
import { createCelEnvironment } from "./environment.ts";
import { BelayMap, list, OptionalValue, type Val, valEquals } from "./values.ts";

/** Outcome: passed, or failed with a reason (for the skip list). */
export type ConformanceOutcome = { pass: true } | { pass: false; why: string };

class Unsupported extends Error {}

function toVal(v: Value | undefined): Val {
  if (v === undefined) return null;
  const k = v.kind;
  switch (k.case) {
    case "nullValue":
      return null;
    case "boolValue":
    case "doubleValue":
    case "stringValue":
    case "bytesValue":
      return k.value as Val;
    case "int64Value":
      return BigInt(k.value);
    case "uint64Value":
      return celUint(BigInt(k.value)) as unknown as Val;
    case "listValue":
      return list(k.value.values.map(toVal));
    case "mapValue": {
      const m = new BelayMap();
      for (const e of k.value.entries) m.setEntry(toVal(e.key), toVal(e.value));
      return m.asCel();
    }
    case "objectValue": {
      const url = k.value.typeUrl;
      if (url.endsWith("cel.expr.conformance.proto3.TestAllTypes") || url.endsWith("TestAllTypes")) {
        throw new Unsupported("protobuf message value");
      }
      throw new Unsupported(`message value ${url}`);
    }
    default:
      throw new Unsupported(`value kind ${k.case}`);
  }
}

/** Runs `test`; never throws. */
export function runConformanceTest(test: IncrementalTest): ConformanceOutcome {
  const t = test.original;
  try {
    if (t.disableMacros) return { pass: false, why: "disableMacros unsupported" };
    if (t.container !== "") return { pass: false, why: "containers unsupported" };
    const variables: Record<string, "dyn"> = {};
    for (const d of t.typeEnv) variables[d.name] = "dyn";
    for (const name of Object.keys(t.bindings)) variables[name] = "dyn";
    // Conformance data assumes mixed-type literals are allowed (kube-apiserver forbids them).
    const env = createCelEnvironment({ variables, homogeneousAggregateLiterals: false });
    const bindings: Record<string, unknown> = {};
    for (const [name, ev] of Object.entries(t.bindings)) {
      if (ev.kind.case !== "value") return { pass: false, why: "non-value binding" };
      bindings[name] = toVal(ev.kind.value);
    }
    const compiled = env.compile(t.expr);
    const m = t.resultMatcher;
    if (!compiled.ok) {
      if (m.case === "evalError" || m.case === "anyEvalErrors") return { pass: true };
      return { pass: false, why: `compile: ${compiled.error[0]?.message}` };
    }
    if (t.checkOnly) return { pass: true };
    const r = compiled.value.evaluateCel(env.activation(bindings), { costLimit: 100_000_000 });
    const errored = r.costLimit !== undefined || isCelError(r.value) || r.value instanceof Error;
    switch (m.case) {
      case "value": {
        if (m.value.kind.case === "typeValue") {
          const got = r.value as { name?: unknown } | null;
          return isCelType(got) && got.name === m.value.kind.value
            ? { pass: true }
            : { pass: false, why: "wrong type value" };
        }
        if (errored)
          return { pass: false, why: `error: ${(r.value as Error | null)?.message ?? r.costLimit}` };
        const expected = toVal(m.value);
        return valEquals(r.value as Val, expected) && sameKind(r.value as Val, expected)
          ? { pass: true }
          : { pass: false, why: "wrong value" };
      }
      case "evalError":
      case "anyEvalErrors":
        return errored ? { pass: true } : { pass: false, why: "expected an error" };
      case undefined:
        // Expected value `true` when no matcher is given.
        return !errored && r.value === true ? { pass: true } : { pass: false, why: "expected true" };
      default:
        return { pass: false, why: `matcher ${m.case}` };
    }
  } catch (ex) {
    return { pass: false, why: ex instanceof Unsupported ? ex.message : `threw: ${String(ex)}` };
  }
}

function sameKind(a: Val, b: Val): boolean {
  if (a instanceof OptionalValue || b instanceof OptionalValue) return true;
  return typeof a === typeof b;
}
