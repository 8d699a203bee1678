/**
 * What a parsed expression reads: which declared variables (`object`, `params`, `authorizer`…)
 * and which members of VAP's `variables`. The environment uses it to share the value of a
 * policy variable between policies that define the same expression over the same inputs.
 */
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";

/** The inputs of one expression. */
export interface References {
  /** Declared variables it reads (comprehension variables that shadow them excluded). */
  readonly globals: ReadonlySet<string>;
  /**
   * The members of `variables` it reads by a constant name (`variables.x`, `variables.?x`,
   * `variables['x']`); undefined when it uses `variables` in any other way (the whole map).
   */
  readonly variables: ReadonlySet<string> | undefined;
}

const INDEX_FUNCTIONS = new Set(["_[_]", "_[?_]", "_?._"]);

/** The declared variables (`declared`) and `variables` members that `expr` reads. Pure. */
export function references(expr: Expr, declared: ReadonlySet<string>): References {
  const globals = new Set<string>();
  let members: Set<string> | undefined = new Set<string>();
  const isGlobal = (e: Expr | undefined, name: string, locals: ReadonlySet<string>) =>
    e?.exprKind.case === "identExpr" && e.exprKind.value.name === name && !locals.has(name);

  const visit = (e: Expr | undefined, locals: ReadonlySet<string>): void => {
    if (e === undefined) return;
    const kind = e.exprKind;
    switch (kind.case) {
      case "identExpr":
        if (locals.has(kind.value.name)) return;
        if (kind.value.name === "variables") members = undefined;
        if (declared.has(kind.value.name)) globals.add(kind.value.name);
        return;
      case "selectExpr":
        if (isGlobal(kind.value.operand, "variables", locals)) {
          members?.add(kind.value.field);
          globals.add("variables");
          return;
        }
        visit(kind.value.operand, locals);
        return;
      case "callExpr": {
        const [first, second] = kind.value.args;
        if (
          INDEX_FUNCTIONS.has(kind.value.function) &&
          kind.value.target === undefined &&
          isGlobal(first, "variables", locals) &&
          second?.exprKind.case === "constExpr" &&
          second.exprKind.value.constantKind.case === "stringValue"
        ) {
          members?.add(second.exprKind.value.constantKind.value);
          globals.add("variables");
          return;
        }
        visit(kind.value.target, locals);
        for (const arg of kind.value.args) visit(arg, locals);
        return;
      }
      case "listExpr":
        for (const element of kind.value.elements) visit(element, locals);
        return;
      case "structExpr":
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") visit(entry.keyKind.value, locals);
          visit(entry.value, locals);
        }
        return;
      case "comprehensionExpr": {
        const c = kind.value;
        visit(c.iterRange, locals);
        visit(c.accuInit, locals);
        const withAccu = new Set([...locals, c.accuVar]);
        const inLoop = new Set([...withAccu, c.iterVar, ...(c.iterVar2 ? [c.iterVar2] : [])]);
        visit(c.loopCondition, inLoop);
        visit(c.loopStep, inLoop);
        visit(c.result, withAccu);
        return;
      }
      default:
        return;
    }
  };
  visit(expr, new Set());
  return { globals, variables: members };
}
