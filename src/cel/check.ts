/**
 * Compile-time checks belay adds on top of planning: a small type inference (enough for
 * `expectedType`, since Kubernetes variables are `dyn`), homogeneous aggregate literals
 * (kube-apiserver enables `cel.HomogeneousAggregateLiterals`), and regex literal validation
 * (`cel.ValidateRegexLiterals`, Kubernetes 1.29+).
 */
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import type { Overload, RegexHandle } from "./functions.ts";

/** A compile-time issue at a source offset. */
export interface CheckIssue {
  message: string;
  offset: number;
}

const BOOL_OPS = new Set([
  "_==_",
  "_!=_",
  "_<_",
  "_<=_",
  "_>_",
  "_>=_",
  "_&&_",
  "_||_",
  "!_",
  "@in",
  "@not_strictly_false",
]);
const ARITH = new Set(["_+_", "_-_", "_*_", "_/_", "_%_", "-_"]);
const CONVERSIONS: Record<string, string> = {
  int: "int",
  uint: "uint",
  double: "double",
  string: "string",
  bytes: "bytes",
  bool: "bool",
  size: "int",
  timestamp: "timestamp",
  duration: "duration",
};

/** Variables kube-apiserver declares as `dyn` for admission policies. */
const DYN_ROOTS = new Set(["object", "oldObject", "params", "request", "namespaceObject"]);

/** Infers the result type of `e` ("dyn" when unknown) and collects issues. */
export function inferType(
  e: Expr,
  overloads: ReadonlyMap<string, readonly Overload[]>,
  positions: Record<string, number>,
  opts: {
    regexLiterals: ((p: string) => RegexHandle | string) | undefined;
    homogeneous: boolean;
    trackDyn?: boolean;
  },
): { type: string; issues: CheckIssue[] } {
  const issues: CheckIssue[] = [];
  const at = (x: Expr) => positions[String(x.id)] ?? 0;
  // Expressions whose static type is certainly `dyn` (selections and indexes rooted in the
  // request variables, which kube-apiserver declares as dyn). Other "dyn" results only mean
  // this checker does not know the type, so only these take part in homogeneity checks.
  const certainDyn = new WeakSet<Expr>();

  const visit = (x: Expr | undefined): string => {
    if (x === undefined) return "dyn";
    const k = x.exprKind;
    switch (k.case) {
      case "constExpr":
        switch (k.value.constantKind.case) {
          case "int64Value":
            return "int";
          case "uint64Value":
            return "uint";
          case "doubleValue":
            return "double";
          case "stringValue":
            return "string";
          case "boolValue":
            return "bool";
          case "bytesValue":
            return "bytes";
          case "nullValue":
            return "null";
          default:
            return "dyn";
        }
      case "listExpr": {
        const types = k.value.elements.map(visit);
        homogeneous(types, k.value.elements, "list");
        return "list";
      }
      case "structExpr": {
        const keys = k.value.entries.map((en) =>
          en.keyKind.case === "mapKey" ? visit(en.keyKind.value) : "string",
        );
        const values = k.value.entries.map((en) => visit(en.value));
        const keyExprs = k.value.entries.map((en) => (en.keyKind.case === "mapKey" ? en.keyKind.value : x));
        homogeneous(keys, keyExprs, "map key");
        homogeneous(
          values,
          k.value.entries.map((en) => en.value ?? x),
          "map value",
        );
        return "map";
      }
      case "comprehensionExpr": {
        visit(k.value.iterRange);
        const init = visit(k.value.accuInit);
        visit(k.value.loopCondition);
        visit(k.value.loopStep);
        const res = k.value.result;
        if (res?.exprKind.case === "identExpr" && res.exprKind.value.name === k.value.accuVar) return init;
        if (res?.exprKind.case === "callExpr" && res.exprKind.value.function === "_==_") return "bool";
        visit(res);
        return "dyn";
      }
      case "selectExpr":
        visit(k.value.operand);
        if (!k.value.testOnly && k.value.operand !== undefined && certainDyn.has(k.value.operand))
          certainDyn.add(x);
        return k.value.testOnly ? "bool" : "dyn";
      case "identExpr":
        if (opts.trackDyn && DYN_ROOTS.has(k.value.name)) certainDyn.add(x);
        return "dyn";
      case "callExpr": {
        const c = k.value;
        const t = c.target !== undefined ? visit(c.target) : undefined;
        const args = c.args.map(visit);
        const name = c.function;
        if (opts.regexLiterals !== undefined) {
          for (const o of overloads.get(name) ?? []) {
            for (const pos of o.regexArgs ?? []) {
              const argIndex = o.target !== undefined ? (c.target !== undefined ? pos : pos + 1) : pos;
              const a = c.target !== undefined || o.target === undefined ? c.args[argIndex] : undefined;
              if (a?.exprKind.case === "constExpr" && a.exprKind.value.constantKind.case === "stringValue") {
                const r = opts.regexLiterals(a.exprKind.value.constantKind.value);
                if (typeof r === "string" && !issues.some((i) => i.offset === at(a))) {
                  issues.push({ message: r, offset: at(a) });
                }
              }
            }
          }
        }
        if (BOOL_OPS.has(name)) return "bool";
        if (name === "_?_:_") return args[1] === args[2] ? (args[1] as string) : "dyn";
        if (name === "_[_]") {
          const operand = c.args[0];
          if (operand !== undefined && certainDyn.has(operand)) certainDyn.add(x);
          return "dyn";
        }
        if (ARITH.has(name)) {
          const first = args[0] as string;
          return args.every((a) => a === first) && first !== "dyn" ? first : "dyn";
        }
        if (t === undefined && CONVERSIONS[name] !== undefined && c.args.length === 1)
          return CONVERSIONS[name] as string;
        if (name === "size") return "int";
        const os = overloads.get(name);
        if (os !== undefined && os.length > 0) {
          const r = os[0]?.result as string;
          if (os.every((o) => o.result === r) && r !== "dyn") return r;
        }
        return "dyn";
      }
      default:
        return "dyn";
    }
  };

  const homogeneous = (types: string[], exprs: Expr[], what: string): void => {
    if (!opts.homogeneous) return;
    let first: string | undefined;
    for (let i = 0; i < types.length; i++) {
      const expr = exprs[i] as Expr;
      const t = certainDyn.has(expr) ? "dyn" : (types[i] as string);
      if ((t === "dyn" && !certainDyn.has(expr)) || t === "null") continue;
      if (first === undefined) first = t;
      else if (t !== first) {
        issues.push({
          message: `expected type '${first}' but found '${t}' (${what} literals must be homogeneous)`,
          offset: at(exprs[i] as Expr),
        });
        return;
      }
    }
  };

  return { type: visit(e), issues };
}
