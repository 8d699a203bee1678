/**
 * belay's CEL interpreter: plans a parsed `cel.expr.Expr` (from `@bufbuild/cel`'s parser) once
 * into closures and evaluates them many times. It owns what the library's planner lacks:
 * optional values and syntax, two-variable comprehensions, `cel.bind`, lazy variables, and
 * cel-go-compatible runtime cost tracking (every node charges the tracker as cel-go's
 * `CostTracker` would, and the evaluation stops as soon as the limit is passed).
 * Function overloads come from belay's libraries first, then from the library's standard
 * functions (arithmetic with overflow checks, conversions, timestamps, strings extension).
 */
import type { CelValue } from "@bufbuild/cel";
import { CelScalar, celError, isCelError, isCelList, isCelMap, listType, mapType } from "@bufbuild/cel";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import {
  LIST_CREATE_BASE_COST,
  MAP_CREATE_BASE_COST,
  REGEX_STRING_LENGTH_COST_FACTOR,
  SELECT_AND_IDENT_COST,
  STRING_TRAVERSAL_COST_FACTOR,
  traversalCost,
} from "./cost.ts";
import { FAST_STD } from "./fast-std.ts";
import { type CallContext, type Overload, selectOverload, tagOf } from "./functions.ts";
import {
  actualSize,
  BelayList,
  BelayMap,
  isMapKey,
  JsonMap,
  list,
  mapGet,
  OpaqueValue,
  OptionalValue,
  typeNameOf,
  type Val,
  type ValOrErr,
  valEquals,
} from "./values.ts";

/** Library function group (from `@bufbuild/cel`'s resolver). */
export interface StdFuncs {
  find(
    name: string,
  ): { call(id: number, target: CelValue | undefined, args: CelValue[]): ValOrErr | undefined } | undefined;
}

/** Values of variables for one evaluation; `get` returns undefined for unbound names. */
export interface VarSource {
  get(name: string, rt: Runtime): ValOrErr | undefined;
}

/** Per-evaluation state. */
export interface Runtime {
  readonly call: CallContext;
  readonly vars: VarSource;
}

/** A value whose members are computed on first access (VAP's `variables`). */
export class LazyMembers extends OpaqueValue {
  readonly typeName = "map";
  private readonly cache = new Map<string, ValOrErr>();
  private readonly names: ReadonlySet<string>;
  private readonly compute: (name: string, rt: Runtime) => ValOrErr;
  private readonly onAccess: ((name: string) => void) | undefined;
  /** `onAccess` hears every read of a declared member, computed or cached. */
  constructor(
    names: ReadonlySet<string>,
    compute: (name: string, rt: Runtime) => ValOrErr,
    onAccess?: (name: string) => void,
  ) {
    super();
    this.names = names;
    this.compute = compute;
    this.onAccess = onAccess;
  }
  member(name: string, rt: Runtime): ValOrErr | undefined {
    if (!this.names.has(name)) return undefined;
    this.onAccess?.(name);
    let v = this.cache.get(name);
    if (v === undefined) {
      v = this.compute(name, rt);
      this.cache.set(name, v);
    }
    return v;
  }
  has(name: string): boolean {
    return this.names.has(name);
  }
  /** True once `name` has a value here (computed or {@link put}). */
  computed(name: string): boolean {
    return this.cache.has(name);
  }
  /** Give `name` its value without computing it (a value shared from another evaluation). */
  put(name: string, value: ValOrErr): void {
    this.cache.set(name, value);
  }
  equals(other: unknown): boolean {
    return other === this;
  }
}

type Plan = (rt: Runtime, scope: Scope | undefined) => ValOrErr;

class Scope {
  readonly name: string;
  value: ValOrErr;
  readonly parent: Scope | undefined;
  constructor(name: string, value: ValOrErr, parent: Scope | undefined) {
    this.name = name;
    this.value = value;
    this.parent = parent;
  }
  lookup(name: string): Scope | undefined {
    let s: Scope | undefined = this;
    while (s !== undefined) {
      if (s.name === name) return s;
      s = s.parent;
    }
    return undefined;
  }
}

/** A problem found while planning, at a source offset. */
export interface PlanIssue {
  message: string;
  offset: number;
}

/** What the planner needs from the environment. */
export interface PlanEnv {
  /** Overloads by function name, already filtered to the environment's Kubernetes version. */
  readonly overloads: ReadonlyMap<string, readonly Overload[]>;
  /** Names known to exist in a newer Kubernetes version, for clearer errors: name → version text. */
  readonly laterFunctions: ReadonlyMap<string, string>;
  readonly std: StdFuncs;
  readonly stdNames: ReadonlySet<string>;
  readonly variables: ReadonlySet<string>;
  readonly twoVarComprehensions: boolean;
  readonly optionals: boolean;
  readonly bindings: boolean;
  /** Names of macros/functions only in later versions; name → version text. */
  readonly features: { listsV3: boolean };
}

/** Optional-syntax marks from the source rewrite, by source offset. */
export interface OptionalMarks {
  selects: ReadonlySet<number>;
  indexes: ReadonlySet<number>;
  listElements: ReadonlyMap<number, ReadonlySet<number>>;
  mapEntries: ReadonlyMap<number, ReadonlySet<number>>;
}

const ACCU = "@result";

/** Type identifiers (`int`, `string`, ...) as values, for `type(x) == int`. */
const TYPE_IDENTS = new Map<string, Val>([
  ["bool", CelScalar.BOOL],
  ["int", CelScalar.INT],
  ["uint", CelScalar.UINT],
  ["double", CelScalar.DOUBLE],
  ["string", CelScalar.STRING],
  ["bytes", CelScalar.BYTES],
  ["null_type", CelScalar.NULL],
  ["type", CelScalar.TYPE],
  ["dyn", CelScalar.DYN],
  ["list", listType(CelScalar.DYN)],
  ["map", mapType(CelScalar.DYN, CelScalar.DYN)],
] as [string, Val][]);

function err(message: string, id: number): ValOrErr {
  return celError(message, id);
}

function noOverload(name: string, target: Val | undefined, args: Val[], id: number): ValOrErr {
  const types = args.map((a) => typeNameOf(a)).join(", ");
  return err(
    `found no matching overload for '${name}' applied to '${target !== undefined ? `${typeNameOf(target)}.` : ""}(${types})'`,
    id,
  );
}

/** Plans expressions for one environment. */
export class Planner {
  readonly issues: PlanIssue[] = [];
  private readonly env: PlanEnv;
  private readonly positions: Record<string, number>;
  private readonly marks: OptionalMarks;
  constructor(env: PlanEnv, positions: Record<string, number>, marks: OptionalMarks) {
    this.env = env;
    this.positions = positions;
    this.marks = marks;
  }

  private offsetOf(e: Expr): number {
    return this.positions[String(e.id)] ?? 0;
  }

  private issue(e: Expr, message: string): Plan {
    this.issues.push({ message, offset: this.offsetOf(e) });
    const id = Number(e.id);
    return () => err(message, id);
  }

  plan(e: Expr, locals: readonly string[] = []): Plan {
    const id = Number(e.id);
    const k = e.exprKind;
    switch (k.case) {
      case "constExpr": {
        const c = k.value.constantKind;
        let value: Val;
        switch (c.case) {
          case "int64Value":
            value = BigInt(c.value);
            break;
          case "uint64Value":
            value = uintOf(BigInt(c.value));
            break;
          case "doubleValue":
          case "stringValue":
          case "boolValue":
          case "bytesValue":
            value = c.value as Val;
            break;
          case "nullValue":
            value = null;
            break;
          default:
            return this.issue(e, `unsupported constant ${c.case}`);
        }
        return () => value;
      }
      case "identExpr":
        return this.planIdent(e, k.value.name, locals);
      case "selectExpr":
        return this.planSelect(e, k.value.operand as Expr, k.value.field, k.value.testOnly, locals);
      case "callExpr":
        return this.planCall(e, k.value.function, k.value.target, k.value.args, locals);
      case "listExpr":
        return this.planList(e, k.value.elements, locals);
      case "structExpr": {
        if (k.value.messageName !== "") {
          return this.issue(
            e,
            `undeclared reference to '${k.value.messageName}': message types are not supported`,
          );
        }
        return this.planMap(e, k.value.entries, locals);
      }
      case "comprehensionExpr": {
        const c = k.value;
        return this.planFold(
          id,
          c.iterRange as Expr,
          c.iterVar,
          c.iterVar2,
          c.accuVar,
          c.accuInit as Expr,
          c.loopCondition as Expr,
          c.loopStep as Expr,
          c.result as Expr,
          locals,
        );
      }
      default:
        return this.issue(e, "invalid expression");
    }
  }

  private planIdent(e: Expr, name: string, locals: readonly string[]): Plan {
    const id = Number(e.id);
    if (locals.includes(name)) {
      return (rt, scope) => {
        rt.call.tracker.charge(SELECT_AND_IDENT_COST);
        const s = scope?.lookup(name);
        return s === undefined ? err(`no such attribute: ${name}`, id) : s.value;
      };
    }
    if (this.env.variables.has(name)) {
      return (rt) => {
        rt.call.tracker.charge(SELECT_AND_IDENT_COST);
        const v = rt.vars.get(name, rt);
        return v === undefined ? err(`no such attribute: ${name}`, id) : v;
      };
    }
    const typeValue = TYPE_IDENTS.get(name);
    if (typeValue !== undefined) return () => typeValue;
    return this.issue(e, `undeclared reference to '${name}' (in container '')`);
  }

  /** Qualified name of an ident/select chain, if it is one (`a.b.c`). */
  private qualifiedName(e: Expr | undefined): string | undefined {
    if (e === undefined) return undefined;
    if (e.exprKind.case === "identExpr") return e.exprKind.value.name;
    if (e.exprKind.case === "selectExpr" && !e.exprKind.value.testOnly) {
      const p = this.qualifiedName(e.exprKind.value.operand);
      return p === undefined ? undefined : `${p}.${e.exprKind.value.field}`;
    }
    return undefined;
  }

  private rootIsLocalOrVar(e: Expr, locals: readonly string[]): boolean {
    let cur: Expr | undefined = e;
    while (cur?.exprKind.case === "selectExpr") cur = cur.exprKind.value.operand;
    if (cur?.exprKind.case !== "identExpr") return true;
    const n = cur.exprKind.value.name;
    return locals.includes(n) || this.env.variables.has(n);
  }

  private planSelect(
    e: Expr,
    operand: Expr,
    field: string,
    testOnly: boolean,
    locals: readonly string[],
  ): Plan {
    const id = Number(e.id);
    const offset = this.offsetOf(e);
    // A variable with a dotted name, e.g. `authorizer.requestResource`.
    const qn = this.qualifiedName(e);
    if (!testOnly && qn !== undefined && this.env.variables.has(qn)) {
      const root = qn.split(".")[0] as string;
      if (!locals.includes(root)) return this.planIdent(e, qn, locals);
    }
    const optional = this.marks.selects.has(offset);
    if (optional && !this.env.optionals) {
      return this.issue(e, "optional syntax '.?' needs Kubernetes 1.28 or newer");
    }
    const op = this.plan(operand, locals);
    if (testOnly) {
      return (rt, scope) => {
        const v = op(rt, scope);
        if (isCelError(v)) return v;
        return presence(v as Val, field, rt, id);
      };
    }
    return (rt, scope) => {
      const v = op(rt, scope);
      // A JSON map (the usual operand) is no error: skip the slower test.
      if (!(v instanceof JsonMap) && isCelError(v)) return v;
      rt.call.tracker.charge(SELECT_AND_IDENT_COST);
      return selectField(v as Val, field, optional, rt, id);
    };
  }

  private planList(e: Expr, elements: Expr[], locals: readonly string[]): Plan {
    const id = Number(e.id);
    const optIdx = this.marks.listElements.get(this.offsetOf(e)) ?? new Set<number>();
    if (optIdx.size > 0 && !this.env.optionals)
      return this.issue(e, "optional list elements need Kubernetes 1.28");
    const plans = elements.map((x) => this.plan(x, locals));
    const opt = plans.map((_, i) => optIdx.has(i));
    return (rt, scope) => {
      rt.call.tracker.charge(LIST_CREATE_BASE_COST);
      const out: Val[] = [];
      for (let i = 0; i < plans.length; i++) {
        const v = (plans[i] as Plan)(rt, scope);
        if (isCelError(v)) return v;
        if (opt[i]) {
          if (!(v instanceof OptionalValue)) {
            return err(
              `cannot initialize optional list element from non-optional value ${typeNameOf(v)}`,
              id,
            );
          }
          if (v.present) out.push(v.inner as Val);
        } else {
          out.push(v as Val);
        }
      }
      return list(out);
    };
  }

  private planMap(
    e: Expr,
    entries: {
      keyKind: { case: string | undefined; value?: unknown };
      value?: Expr;
      optionalEntry: boolean;
    }[],
    locals: readonly string[],
  ): Plan {
    const id = Number(e.id);
    const optIdx = this.marks.mapEntries.get(this.offsetOf(e)) ?? new Set<number>();
    if (optIdx.size > 0 && !this.env.optionals)
      return this.issue(e, "optional map entries need Kubernetes 1.28");
    const parts = entries.map((en, i) => ({
      key: this.plan(en.keyKind.value as Expr, locals),
      value: this.plan(en.value as Expr, locals),
      optional: en.optionalEntry || optIdx.has(i),
    }));
    return (rt, scope) => {
      rt.call.tracker.charge(MAP_CREATE_BASE_COST);
      const m = new BelayMap();
      for (const p of parts) {
        const k = p.key(rt, scope);
        if (isCelError(k)) return k;
        const v = p.value(rt, scope);
        if (isCelError(v)) return v;
        if (!isMapKey(k)) return err(`unsupported key type: ${typeNameOf(k)}`, id);
        let value = v as Val;
        if (p.optional) {
          if (!(v instanceof OptionalValue)) {
            return err(
              `cannot initialize optional entry '${String(k)}' from non-optional value ${typeNameOf(v)}`,
              id,
            );
          }
          if (!v.present) continue;
          value = v.inner as Val;
        }
        if (!m.setEntry(k as Val, value)) return err(`Failed with repeated key: ${String(k)}`, id);
      }
      return m.asCel();
    };
  }

  private planFold(
    id: number,
    rangeE: Expr,
    iterVar: string,
    iterVar2: string,
    accuVar: string,
    initE: Expr,
    condE: Expr,
    stepE: Expr,
    resultE: Expr,
    locals: readonly string[],
  ): Plan {
    const range = this.plan(rangeE, locals);
    const init = this.plan(initE, locals);
    const accuLocals = [...locals, accuVar];
    const iterLocals = iterVar2 !== "" ? [...accuLocals, iterVar, iterVar2] : [...accuLocals, iterVar];
    const cond = this.plan(condE, iterLocals);
    const step = this.plan(stepE, iterLocals);
    const result = this.plan(resultE, accuLocals);
    return (rt, scope) => {
      const r = range(rt, scope);
      if (isCelError(r)) return r;
      const a = init(rt, scope);
      if (isCelError(a)) return a;
      const accu = new Scope(accuVar, a, scope);
      if (r instanceof BelayList) {
        // belay's own lists (all JSON arrays and accumulators): by index, without an iterator,
        // and with the index as a CEL int only when a second variable needs it.
        const twoVar = iterVar2 !== "";
        for (let k = 0; k < r.size; k++) {
          const item = r.get(k) as Val;
          const s = twoVar
            ? new Scope(iterVar2, item, new Scope(iterVar, BigInt(k), accu))
            : new Scope(iterVar, item, accu);
          const c = cond(rt, s);
          if (c === false) break;
          accu.value = step(rt, s);
        }
      } else if (isCelList(r)) {
        let i = 0n;
        for (const item of r) {
          const s1 = iterVar2 !== "" ? new Scope(iterVar, i, accu) : accu;
          const s = new Scope(iterVar2 !== "" ? iterVar2 : iterVar, item as Val, s1);
          i++;
          const c = cond(rt, s);
          if (c === false) break;
          accu.value = step(rt, s);
        }
      } else if (isCelMap(r)) {
        for (const [key, value] of r) {
          const s1 = new Scope(iterVar, key as Val, accu);
          const s = iterVar2 !== "" ? new Scope(iterVar2, value as Val, s1) : s1;
          const c = cond(rt, s);
          if (c === false) break;
          accu.value = step(rt, s);
        }
      } else {
        return err(`expression of type '${typeNameOf(r)}' cannot be range of a comprehension`, id);
      }
      return result(rt, accu);
    };
  }

  private planCall(
    e: Expr,
    name: string,
    target: Expr | undefined,
    args: Expr[],
    locals: readonly string[],
  ): Plan {
    const id = Number(e.id);
    const offset = this.offsetOf(e);
    switch (name) {
      case "_&&_":
      case "_||_":
        return this.planLogic(id, name === "_&&_", args, locals);
      case "_?_:_": {
        const [c, t, f] = args.map((a) => this.plan(a, locals)) as [Plan, Plan, Plan];
        return (rt, scope) => {
          const cv = c(rt, scope);
          if (isCelError(cv)) return cv;
          if (cv === true) return t(rt, scope);
          if (cv === false) return f(rt, scope);
          return noOverload("_?_:_", undefined, [cv as Val], id);
        };
      }
      case "@not_strictly_false": {
        const a = this.plan(args[0] as Expr, locals);
        return (rt, scope) => {
          rt.call.tracker.charge(1);
          return a(rt, scope) !== false;
        };
      }
      case "_[_]":
      case "_[?_]": {
        const optional = name === "_[?_]" || this.marks.indexes.has(offset);
        if (optional && !this.env.optionals)
          return this.issue(e, "optional syntax '[?' needs Kubernetes 1.28");
        const [o, i] = args.map((a) => this.plan(a, locals)) as [Plan, Plan];
        return (rt, scope) => {
          const ov = o(rt, scope);
          if (isCelError(ov)) return ov;
          const iv = i(rt, scope);
          if (isCelError(iv)) return iv;
          rt.call.tracker.charge(SELECT_AND_IDENT_COST);
          return index(ov as Val, iv as Val, optional, rt, id);
        };
      }
      case "_?._": {
        const field =
          args[1]?.exprKind.case === "constExpr" ? String(args[1].exprKind.value.constantKind.value) : "";
        const o = this.plan(args[0] as Expr, locals);
        return (rt, scope) => {
          const ov = o(rt, scope);
          if (isCelError(ov)) return ov;
          rt.call.tracker.charge(SELECT_AND_IDENT_COST);
          return selectField(ov as Val, field, true, rt, id);
        };
      }
    }
    if (target !== undefined) {
      const special = this.planSpecialMember(e, name, target, args, locals);
      if (special !== undefined) return special;
      // A qualified global function such as `optional.of(x)` or `sets.contains(a, b)`.
      const qn = this.qualifiedName(target);
      if (qn !== undefined && !this.rootIsLocalOrVar(target, locals)) {
        const full = `${qn}.${name}`;
        if (full === "cel.bind") return this.planBind(e, args, locals);
        return this.planFunction(e, full, undefined, args, locals);
      }
    }
    return this.planFunction(e, name, target, args, locals);
  }

  private planLogic(id: number, isAnd: boolean, args: Expr[], locals: readonly string[]): Plan {
    const plans = args.map((a) => this.plan(a, locals));
    const absorbing = !isAnd;
    return (rt, scope) => {
      let firstErr: ValOrErr | undefined;
      for (const p of plans) {
        const v = p(rt, scope);
        if (v === absorbing) return absorbing;
        if (v === !absorbing) continue;
        if (firstErr === undefined) {
          firstErr = isCelError(v) ? v : noOverload(isAnd ? "_&&_" : "_||_", undefined, [v as Val], id);
        }
      }
      return firstErr ?? !absorbing;
    };
  }

  private identArg(e: Expr | undefined): string | undefined {
    return e?.exprKind.case === "identExpr" ? e.exprKind.value.name : undefined;
  }

  private planBind(e: Expr, args: Expr[], locals: readonly string[]): Plan {
    if (!this.env.bindings) return this.issue(e, "cel.bind is not available in this environment");
    const v = this.identArg(args[0]);
    if (args.length !== 3 || v === undefined)
      return this.issue(e, "cel.bind() variable name must be a simple identifier");
    const init = this.plan(args[1] as Expr, locals);
    const body = this.plan(args[2] as Expr, [...locals, v]);
    return (rt, scope) => body(rt, new Scope(v, init(rt, scope), scope));
  }

  private planSpecialMember(
    e: Expr,
    name: string,
    target: Expr,
    args: Expr[],
    locals: readonly string[],
  ): Plan | undefined {
    const id = Number(e.id);
    const twoVar = ["all", "exists", "existsOne", "exists_one"].includes(name) && args.length === 3;
    const transform =
      ["transformList", "transformMap", "transformMapEntry"].includes(name) &&
      (args.length === 3 || args.length === 4);
    if (twoVar || transform) {
      if (!this.env.twoVarComprehensions) {
        return this.issue(e, `two-variable comprehension '${name}' needs Kubernetes 1.32 or newer`);
      }
      const k = this.identArg(args[0]);
      const v = this.identArg(args[1]);
      if (k === undefined || v === undefined)
        return this.issue(e, `${name}() variable names must be simple identifiers`);
      if (k === v) return this.issue(e, `${name}() variable names must be different`);
      return this.planTwoVar(id, name, target, k, v, args.slice(2), locals);
    }
    if ((name === "optMap" || name === "optFlatMap") && args.length === 2) {
      if (!this.env.optionals) return this.issue(e, `${name}() needs Kubernetes 1.28 or newer`);
      const x = this.identArg(args[0]);
      if (x === undefined) return this.issue(e, `${name}() variable name must be a simple identifier`);
      const t = this.plan(target, locals);
      const body = this.plan(args[1] as Expr, [...locals, x]);
      const flat = name === "optFlatMap";
      return (rt, scope) => {
        const tv = t(rt, scope);
        if (isCelError(tv)) return tv;
        if (!(tv instanceof OptionalValue)) return noOverload(name, tv as Val, [], id);
        if (!tv.present) return tv;
        const r = body(rt, new Scope(x, tv.inner as Val, scope));
        if (isCelError(r) || !flat) return isCelError(r) ? r : OptionalValue.of(r as Val);
        return r instanceof OptionalValue
          ? r
          : err(`optFlatMap() expression must return an optional, got ${typeNameOf(r)}`, id);
      };
    }
    if ((name === "or" || name === "orValue") && args.length === 1 && this.env.optionals) {
      const t = this.plan(target, locals);
      const alt = this.plan(args[0] as Expr, locals);
      return (rt, scope) => {
        const tv = t(rt, scope);
        if (isCelError(tv)) return tv;
        if (!(tv instanceof OptionalValue)) return noOverload(name, tv as Val, [], id);
        rt.call.tracker.charge(1);
        if (tv.present) return name === "or" ? tv : (tv.inner as Val);
        const av = alt(rt, scope);
        if (name === "or" && !isCelError(av) && !(av instanceof OptionalValue)) {
          return noOverload("or", tv, [av as Val], id);
        }
        return av;
      };
    }
    if (name === "sortBy" && args.length === 2 && this.identArg(args[0]) !== undefined) {
      if (!this.env.features.listsV3) return this.issue(e, "sortBy() needs Kubernetes 1.34 or newer");
      const x = this.identArg(args[0]) as string;
      const t = this.plan(target, locals);
      const key = this.plan(args[1] as Expr, [...locals, x]);
      return (rt, scope) => {
        const tv = t(rt, scope);
        if (isCelError(tv)) return tv;
        if (!isCelList(tv)) return noOverload("sortBy", tv as Val, [], id);
        const keyed: [Val, Val][] = [];
        for (const item of tv) {
          const kv = key(rt, new Scope(x, item as Val, scope));
          if (isCelError(kv)) return kv;
          keyed.push([kv as Val, item as Val]);
        }
        rt.call.tracker.charge(Math.ceil(keyed.length * Math.log2(keyed.length + 1)));
        const sorted = sortValues(keyed.map((p) => p[0]));
        if (typeof sorted === "string") return err(sorted, id);
        const order = keyed.map((p, i) => ({ k: p[0], i }));
        order.sort((a, b) => compareValues(a.k, b.k) as number);
        return list(order.map((o) => (keyed[o.i] as [Val, Val])[1]));
      };
    }
    return undefined;
  }

  private planTwoVar(
    id: number,
    name: string,
    target: Expr,
    k: string,
    v: string,
    rest: Expr[],
    locals: readonly string[],
  ): Plan {
    const range = this.plan(target, locals);
    const inner = [...locals, ACCU, k, v];
    const filter = rest.length === 2 ? this.plan(rest[0] as Expr, inner) : undefined;
    const body = this.plan(rest[rest.length - 1] as Expr, inner);
    return (rt, scope) => {
      const r = range(rt, scope);
      if (isCelError(r)) return r;
      const pairs: [Val, Val][] = [];
      if (isCelList(r)) {
        let i = 0n;
        for (const item of r) pairs.push([i++, item as Val]);
      } else if (isCelMap(r)) {
        for (const [key, value] of r) pairs.push([key as Val, value as Val]);
      } else {
        return err(`expression of type '${typeNameOf(r)}' cannot be range of a comprehension`, id);
      }
      const accu = new Scope(ACCU, null, scope);
      const tracker = rt.call.tracker;
      switch (name) {
        case "all":
        case "exists": {
          const isAll = name === "all";
          let firstErr: ValOrErr | undefined;
          for (const [a, b] of pairs) {
            tracker.charge(3); // loop condition call + accumulator reads, as in cel-go's expansion
            const res = body(rt, new Scope(v, b, new Scope(k, a, accu)));
            if (res === !isAll) return !isAll;
            if (res !== isAll && firstErr === undefined) {
              firstErr = isCelError(res)
                ? res
                : noOverload(isAll ? "_&&_" : "_||_", undefined, [res as Val], id);
            }
          }
          return firstErr ?? isAll;
        }
        case "existsOne":
        case "exists_one": {
          let count = 0;
          for (const [a, b] of pairs) {
            tracker.charge(3);
            const res = body(rt, new Scope(v, b, new Scope(k, a, accu)));
            if (isCelError(res)) return res;
            if (res === true) count++;
            else if (res !== false) return noOverload("_?_:_", undefined, [res as Val], id);
          }
          return count === 1;
        }
        default: {
          const out: Val[] = [];
          const m = new BelayMap();
          for (const [a, b] of pairs) {
            tracker.charge(2);
            const s = new Scope(v, b, new Scope(k, a, accu));
            if (filter !== undefined) {
              const f = filter(rt, s);
              if (isCelError(f)) return f;
              if (f !== true) {
                if (f !== false) return noOverload("_?_:_", undefined, [f as Val], id);
                continue;
              }
            }
            const res = body(rt, s);
            if (isCelError(res)) return res;
            if (name === "transformList") {
              tracker.charge(LIST_CREATE_BASE_COST);
              out.push(res as Val);
            } else if (name === "transformMap") {
              if (!m.setEntry(a, res as Val))
                return err(`insert failed: key ${String(a)} already exists`, id);
            } else {
              if (!isCelMap(res))
                return err(`transformMapEntry() expression must return a map, got ${typeNameOf(res)}`, id);
              for (const [ek, ev] of res) {
                if (!m.setEntry(ek as Val, ev as Val))
                  return err(`insert failed: key ${String(ek)} already exists`, id);
              }
            }
          }
          return name === "transformList" ? list(out) : m.asCel();
        }
      }
    };
  }

  private planFunction(
    e: Expr,
    name: string,
    target: Expr | undefined,
    args: Expr[],
    locals: readonly string[],
  ): Plan {
    const id = Number(e.id);
    const overloads = this.env.overloads.get(name);
    const isStd = this.env.stdNames.has(name);
    if (overloads === undefined && !isStd) {
      const later = this.env.laterFunctions.get(name);
      if (later !== undefined) {
        return this.issue(e, `undeclared reference to '${name}': available from Kubernetes ${later}`);
      }
      return this.issue(e, `undeclared reference to '${name}' (in container '')`);
    }
    if (overloads !== undefined && !isStd) {
      const arity = overloads.some(
        (o) => o.args.length === args.length && (o.target !== undefined) === (target !== undefined),
      );
      if (!arity) {
        return this.issue(
          e,
          `found no matching overload for '${name}' with ${args.length} argument${args.length === 1 ? "" : "s"}${target !== undefined ? " on a receiver" : ""}`,
        );
      }
    }
    const t = target !== undefined ? this.plan(target, locals) : undefined;
    const a = args.map((x) => this.plan(x, locals));
    const std = isStd ? this.env.std.find(name) : undefined;
    // Arity and receiver are fixed by the syntax, so only these overloads can ever apply here;
    // selecting among them gives what selecting among all would (same order).
    const candidates = overloads?.filter(
      (o) => o.args.length === args.length && (o.target !== undefined) === (target !== undefined),
    );
    const first = candidates?.[0];
    // An overload taking anything (`_==_(dyn, dyn)`) is always the one chosen: no runtime search.
    const fixed =
      first !== undefined &&
      (first.target === undefined || first.target === "dyn") &&
      first.args.every((x) => x === "dyn")
        ? first
        : undefined;
    const choose =
      candidates === undefined || candidates.length === 0
        ? undefined
        : fixed !== undefined
          ? () => fixed
          : (tv: Val | undefined, vals: Val[]) => selectOverload(candidates, tv, vals);
    const fast = std !== undefined ? FAST_STD.get(name) : undefined;
    const call = (rt: Runtime, targetVal: Val | undefined, vals: Val[]): ValOrErr => {
      const o = choose !== undefined ? choose(targetVal, vals) : undefined;
      if (o !== undefined) {
        const tracker = rt.call.tracker;
        if (o.cost !== undefined)
          tracker.charge(o.cost(targetVal !== undefined ? [targetVal, ...vals] : vals));
        else tracker.charge(1);
        try {
          const r = o.impl(rt.call, targetVal, vals);
          if (r instanceof Error) return err(r.message, id);
          return r;
        } catch (ex) {
          if (ex instanceof Error && ex.name === "CostLimitExceeded") throw ex;
          return err(ex instanceof Error ? ex.message : String(ex), id);
        }
      }
      if (std !== undefined) {
        if (fast !== undefined) {
          const r = fast(rt.call.tracker, targetVal, vals);
          if (r !== undefined) return r;
        }
        const costArgs = targetVal !== undefined ? [targetVal, ...vals] : vals;
        if (costArgs.some((x) => x instanceof OpaqueValue)) return noOverload(name, targetVal, vals, id);
        rt.call.tracker.charge(stdCallCost(name, costArgs));
        let r: ValOrErr | undefined;
        try {
          r = std.call(id, targetVal as CelValue | undefined, vals as CelValue[]);
        } catch (ex) {
          return err(ex instanceof Error ? ex.message : String(ex), id);
        }
        if (r !== undefined) return r;
      }
      return noOverload(name, targetVal, vals, id);
    };
    // Specialised forms for the common shapes, so a call allocates no more than it must.
    // The first overload's shortcut accepts only arguments of its own types, so when it answers,
    // that overload is the one selection would pick.
    const fast2 = first?.fast2;
    if (t === undefined && a.length === 2) {
      const [p0, p1] = a as [Plan, Plan];
      return (rt, scope) => {
        const x0 = p0(rt, scope);
        if (isCelError(x0)) return x0;
        const x1 = p1(rt, scope);
        if (isCelError(x1)) return x1;
        if (fast2 !== undefined) {
          const r = fast2(rt.call.tracker, x0 as Val, x1 as Val);
          if (r !== undefined) return r;
        }
        return call(rt, undefined, [x0 as Val, x1 as Val]);
      };
    }
    if (t === undefined && a.length === 1) {
      const p0 = a[0] as Plan;
      return (rt, scope) => {
        const x0 = p0(rt, scope);
        if (isCelError(x0)) return x0;
        return call(rt, undefined, [x0 as Val]);
      };
    }
    if (t !== undefined && a.length === 0) {
      return (rt, scope) => {
        const tv = t(rt, scope);
        if (isCelError(tv)) return tv;
        return call(rt, tv as Val, []);
      };
    }
    return (rt, scope) => {
      let tv: ValOrErr | undefined;
      if (t !== undefined) {
        tv = t(rt, scope);
        if (isCelError(tv)) return tv;
      }
      const vals: Val[] = [];
      for (const p of a) {
        const x = p(rt, scope);
        if (isCelError(x)) return x;
        vals.push(x as Val);
      }
      return call(rt, tv as Val | undefined, vals);
    };
  }
}

function uintOf(v: bigint): Val {
  return UINT_FACTORY(v);
}

let UINT_FACTORY: (v: bigint) => Val = () => {
  throw new Error("uint factory not set");
};

/** Sets the `uint` constructor (from `@bufbuild/cel`); called once by the environment module. */
export function setUintFactory(f: (v: bigint) => Val): void {
  UINT_FACTORY = f;
}

/** cel-go's runtime cost of the standard library calls belay delegates to `@bufbuild/cel`. */
export function stdCallCost(name: string, args: Val[]): number {
  const size = (i: number) => actualSize(args[i]);
  switch (name) {
    case "_==_":
    case "_!=_":
    case "_<_":
    case "_<=_":
    case "_>_":
    case "_>=_":
      if (typeof args[0] === "string" || args[0] instanceof Uint8Array) {
        return Math.max(1, traversalCost(Math.min(size(0), size(1))));
      }
      return 1;
    case "_+_":
      if (typeof args[0] === "string" || args[0] instanceof Uint8Array) {
        return Math.max(1, traversalCost(size(0) + size(1)));
      }
      return 1;
    case "startsWith":
    case "endsWith":
      return Math.max(1, traversalCost(size(1)));
    case "contains":
      return Math.max(1, traversalCost(size(0)) * traversalCost(size(1)));
    case "matches":
      return Math.max(
        1,
        Math.ceil((1 + size(0)) * STRING_TRAVERSAL_COST_FACTOR) *
          Math.ceil(size(1) * REGEX_STRING_LENGTH_COST_FACTOR),
      );
    case "string":
    case "bytes":
      return Math.max(1, traversalCost(size(0)));
    // Kubernetes library/cost.go for the strings extension.
    case "lowerAscii":
    case "upperAscii":
    case "substring":
    case "trim":
    case "charAt":
    case "indexOf":
    case "lastIndexOf":
    case "format":
    case "strings.quote":
      return Math.max(1, traversalCost(size(0)));
    case "replace":
    case "split":
      return Math.max(1, traversalCost(size(0) * 2));
    case "join": {
      let total = 0;
      if (isCelList(args[0])) for (const x of args[0]) total += actualSize(x) + (args[1] ? size(1) : 0);
      return Math.max(1, traversalCost(total * 2));
    }
    default:
      return 1;
  }
}

function presence(v: Val, field: string, rt: Runtime, id: number): ValOrErr {
  if (v instanceof OptionalValue) {
    if (!v.present) return false;
    return presence(v.inner as Val, field, rt, id);
  }
  if (isCelMap(v)) return mapGet(v, field) !== undefined;
  if (v instanceof LazyMembers) return v.has(field);
  return err(`invalid type for field selection: ${typeNameOf(v)}`, id);
}

function selectField(v: Val, field: string, optional: boolean, rt: Runtime, id: number): ValOrErr {
  // Most selections read a field of the request's JSON: skip the general checks.
  if (v instanceof JsonMap) {
    const r = v.get(field);
    if (optional) return r === undefined ? OptionalValue.NONE : OptionalValue.of(r as Val);
    return r === undefined ? err(`no such key: ${field}`, id) : (r as Val);
  }
  if (v instanceof OptionalValue) {
    if (!v.present) return v;
    return selectField(v.inner as Val, field, true, rt, id);
  }
  if (isCelMap(v)) {
    const r = mapGet(v, field);
    if (optional) return r === undefined ? OptionalValue.NONE : OptionalValue.of(r as Val);
    return r === undefined ? err(`no such key: ${field}`, id) : (r as Val);
  }
  if (v instanceof LazyMembers) {
    const r = v.member(field, rt);
    if (optional)
      return r === undefined ? OptionalValue.NONE : isCelError(r) ? r : OptionalValue.of(r as Val);
    return r === undefined ? err(`no such key: ${field}`, id) : r;
  }
  if (
    v !== null &&
    typeof v === "object" &&
    "field" in (v as object) &&
    typeof (v as { field?: unknown }).field === "function"
  ) {
    return err(`message field selection is not supported: ${field}`, id);
  }
  return err(`type '${typeNameOf(v)}' does not support field selection`, id);
}

function index(v: Val, i: Val, optional: boolean, rt: Runtime, id: number): ValOrErr {
  if (v instanceof OptionalValue) {
    if (!v.present) return v;
    return index(v.inner as Val, i, true, rt, id);
  }
  if (isCelList(v)) {
    let n: number | undefined;
    const tag = tagOf(i);
    if (tag === "int") n = Number(i as bigint);
    else if (tag === "uint") n = Number((i as unknown as { value: bigint }).value);
    else if (tag === "double" && Number.isInteger(i as number)) n = i as number;
    else return noOverload("_[_]", undefined, [v, i], id);
    if (n < 0 || n >= v.size) {
      return optional ? OptionalValue.NONE : err(`index out of range: ${String(n)}`, id);
    }
    const r = v.get(n) as Val;
    return optional ? OptionalValue.of(r) : r;
  }
  if (isCelMap(v)) {
    if (!isMapKey(i) && typeof i !== "number") return noOverload("_[_]", undefined, [v, i], id);
    const r = mapGet(v, i);
    if (optional) return r === undefined ? OptionalValue.NONE : OptionalValue.of(r as Val);
    return r === undefined ? err(`no such key: ${String(i)}`, id) : (r as Val);
  }
  if (v instanceof LazyMembers && typeof i === "string") return selectField(v, i, optional, rt, id);
  return noOverload("_[_]", undefined, [v, i], id);
}

/** Ordering used by sort/min/max/isSorted: numbers across int/uint/double, strings, bools, bytes, durations, timestamps. */
export function compareValues(a: Val, b: Val): number | string {
  const ta = tagOf(a);
  const tb = tagOf(b);
  const num = (x: Val, t: string): number | bigint | undefined =>
    t === "int"
      ? (x as bigint)
      : t === "uint"
        ? (x as unknown as { value: bigint }).value
        : t === "double"
          ? (x as number)
          : undefined;
  const na = num(a, ta);
  const nb = num(b, tb);
  if (na !== undefined && nb !== undefined) {
    if (typeof na === "bigint" && typeof nb === "bigint") return na < nb ? -1 : na > nb ? 1 : 0;
    const x = Number(na);
    const y = Number(nb);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (ta !== tb) return `no such overload: cannot compare ${ta} with ${tb}`;
  switch (ta) {
    case "string":
    case "bool":
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case "bytes": {
      const x = a as Uint8Array;
      const y = b as Uint8Array;
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
      }
      return x.length - y.length;
    }
    case "timestamp":
    case "duration": {
      const x = (a as unknown as { message: { seconds: bigint; nanos: number } }).message;
      const y = (b as unknown as { message: { seconds: bigint; nanos: number } }).message;
      return x.seconds !== y.seconds ? (x.seconds < y.seconds ? -1 : 1) : x.nanos - y.nanos;
    }
    default:
      if (
        a instanceof OpaqueValue &&
        "compare" in a &&
        typeof (a as { compare?: unknown }).compare === "function"
      ) {
        return (a as unknown as { compare(o: Val): number | string }).compare(b);
      }
      return `no such overload: ${ta} values are not comparable`;
  }
}

/** Checks that all values are mutually comparable; returns an error message otherwise. */
export function sortValues(values: Val[]): true | string {
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[0] as Val, values[i] as Val);
    if (typeof c === "string") return c;
  }
  return true;
}

/** Equality used by `==`, `in` and list functions (re-exported for libraries). */
export { valEquals };
