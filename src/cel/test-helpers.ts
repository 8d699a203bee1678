/** Test helpers for src/cel (not exported from the module). */
import { createCelEnvironment, type EvaluationResult } from "./environment.ts";
import { type K8sVersion, LATEST_K8S_VERSION } from "./version.ts";

/** Compiles and evaluates `expr` with `bindings` (variables `object`, `params`, `x`); throws on compile errors. */
export function evalCel(
  expr: string,
  bindings: Record<string, unknown> = {},
  k8sVersion: K8sVersion = LATEST_K8S_VERSION,
): EvaluationResult {
  const env = createCelEnvironment({
    k8sVersion,
    variables: { object: "dyn", params: "dyn", x: "dyn" },
  });
  const c = env.compile(expr);
  if (!c.ok) throw new Error(`compile failed: ${c.error.map((e) => e.message).join("; ")}`);
  return c.value.evaluate(bindings);
}

/** The value of `expr`, or throws with the evaluation error. */
export function celValueOf(expr: string, bindings: Record<string, unknown> = {}): unknown {
  const r = evalCel(expr, bindings);
  if (r.kind === "error") throw new Error(`evaluation failed (${r.code}): ${r.message}`);
  return r.value;
}
