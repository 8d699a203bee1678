/**
 * belay's CEL environment for Kubernetes: variables, the function libraries of the pinned
 * Kubernetes version, compile (parse → check → plan, once per expression) and evaluate (many
 * times, never throwing, with cel-go-compatible cost limits).
 *
 * @example
 * const env = createCelEnvironment({ k8sVersion: v(1, 30), variables: VAP_VARIABLES });
 * const compiled = env.compile("object.spec.replicas <= 5", { expectedType: "bool" });
 * if (compiled.ok) compiled.value.evaluate({ object: pod }); // { kind: "value", value: true }
 */
import { CelScalar, celEnv, celError, celFunc, celUint, isCelError, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { RE2JS } from "re2js";
import { err, ok, type Result } from "../result.ts";
import { inferType } from "./check.ts";
import { type CostBudget, CostLimitExceeded, CostTracker, PER_CALL_COST_LIMIT } from "./cost.ts";
import type { CallContext, Overload, RegexHandle } from "./functions.ts";
import {
  LazyMembers,
  Planner,
  type Runtime,
  type StdFuncs,
  setUintFactory,
  type VarSource,
} from "./interpreter.ts";
import type { AuthzUser, CelAuthorizer } from "./lib/authz.ts";
import { allOverloads } from "./libraries.ts";
import { rewriteOptionalSyntax } from "./optional-syntax.ts";
import { references } from "./references.ts";
import {
  type ExpressionInfo,
  entryKey,
  entryStore,
  requestOnlyKey as sharedRequestKey,
  shareKeys,
  type VariableEntry,
  type VariableMemo,
} from "./shared-variables.ts";
import { fromCel, type JsValue, toCelShared, type Val, type ValOrErr } from "./values.ts";
import {
  compareVersions,
  formatVersion,
  type K8sVersion,
  LATEST_K8S_VERSION,
  OLDEST_K8S_VERSION,
  v,
} from "./version.ts";

setUintFactory((x) => celUint(x) as unknown as Val);

/** Declared variable types; belay's Kubernetes variables are `dyn` as upstream declares them without schemas. */
export type CelVariableType = "dyn" | "bool" | "int" | "string" | "map" | "list";

/** The variables of a ValidatingAdmissionPolicy expression (`variables` is lazy, `authorizer` needs an authorizer). */
export const VAP_VARIABLES: Readonly<Record<string, CelVariableType>> = {
  object: "dyn",
  oldObject: "dyn",
  request: "dyn",
  params: "dyn",
  namespaceObject: "dyn",
  variables: "dyn",
  authorizer: "dyn",
  "authorizer.requestResource": "dyn",
};

/** Options of {@link createCelEnvironment}. */
export interface CelEnvironmentOptions {
  /** Kubernetes version whose CEL environment to reproduce; default {@link LATEST_K8S_VERSION}. */
  k8sVersion?: K8sVersion;
  /** Variables and their types. */
  variables: Readonly<Record<string, CelVariableType>>;
  /** Per-expression runtime cost limit; default 1,000,000 (kube-apiserver's PerCallLimit). */
  perCallCostLimit?: number;
  /** Reject mixed-type list/map literals, as kube-apiserver does (default true). */
  homogeneousAggregateLiterals?: boolean;
  /**
   * Which of kube-apiserver's two environments (environment.go EnvSet): `stored` (default)
   * has everything of `k8sVersion`, as the API server evaluates stored policies; `new` is the
   * one it checks new or changed expressions against at creation, that of the previous
   * release (the minimum compatibility version, so that a rollback can still run them).
   */
  expressions?: "new" | "stored";
}

/** A compile error with its position in the expression (1-based line and column). */
export interface CelCompileError {
  message: string;
  offset: number;
  line: number;
  column: number;
}

/** Options of {@link CelEnvironment.compile}. */
export interface CompileOptions {
  /** The type the expression must produce (`bool` for validations, `string` for messageExpression). */
  expectedType?: "bool" | "string" | "int" | "list" | "map";
}

/** Why an evaluation produced no value. `cost-limit`: the per-expression limit or the shared budget ran out. */
export type EvaluationErrorCode = "runtime" | "cost-limit" | "type";

/** The outcome of an evaluation: a plain JS value or an error (never thrown). `cost` in cel-go units. */
export type EvaluationResult =
  | { kind: "value"; value: JsValue; cost: number }
  | { kind: "error"; code: EvaluationErrorCode; message: string; cost: number };

/** Options of {@link CompiledExpression.evaluate}. */
export interface EvaluateOptions {
  /** Shared per-evaluation budget (see `createCostBudget`); charged with this evaluation's cost. */
  costBudget?: CostBudget;
  /** Overrides the environment's per-expression limit. */
  costLimit?: number;
}

/** A compiled expression: plan once, evaluate many times. */
export interface CompiledExpression {
  readonly expression: string;
  /** Statically known result type, `dyn` when unknown. */
  readonly resultType: string;
  /**
   * Evaluates against `bindings` (plain JSON per variable, or an {@link Activation} to share
   * conversions and lazy variables between expressions). Never throws.
   */
  evaluate(bindings: Activation | Record<string, unknown>, options?: EvaluateOptions): EvaluationResult;
  /** Like evaluate, but returns the CEL value itself (for composing `variables`). Never throws. */
  evaluateCel(
    activation: Activation,
    options?: EvaluateOptions,
  ): { value: ValOrErr; cost: number; costLimit?: string };
}

/** Variable values for evaluations, converted once and shared by many compiled expressions. */
export interface Activation {
  readonly kind: "activation";
  /** @internal */
  lookup(name: string, rt: Runtime): ValOrErr | undefined;
}

/** Options of {@link CelEnvironment.activation}. */
export interface ActivationOptions {
  /** VAP `variables`: each computed on first use from its compiled expression, in this activation. */
  lazyVariables?: Readonly<Record<string, CompiledExpression>>;
  /** Backs `authorizer` and `authorizer.requestResource`. */
  authorizer?: CelAuthorizer;
  /** Who `authorizer` checks run as (the request's `userInfo`); default the empty user. */
  authorizerUser?: AuthzUser;
  /** The request's resource for `authorizer.requestResource`. */
  requestResource?: {
    group: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  /**
   * Share `lazyVariables` values with other activations of the same request (see
   * src/cel/shared-variables.ts): give one map (`new Map()`) to every activation whose
   * `object`, `oldObject`, `request` and `namespaceObject` are the same objects. Values and
   * costs are exactly those of evaluating each variable here.
   */
  variableMemo?: VariableMemo;
}

export type { VariableMemo } from "./shared-variables.ts";

/** Compiled expressions' sources and references, for sharing variables between policies. */
const expressionInfo = new WeakMap<CompiledExpression, ExpressionInfo>();
const infoOf = (compiled: CompiledExpression) => expressionInfo.get(compiled);

/** See shared-variables.ts: the id of an expression that reads only the request's bindings. */
export const requestOnlyKey = (compiled: CompiledExpression): number | undefined =>
  sharedRequestKey(compiled, infoOf);
let environments = 0;

/** An environment pinned to one Kubernetes version. */
export interface CelEnvironment {
  readonly k8sVersion: K8sVersion;
  /** Parses, checks and plans `expression`; returns every compile error found. Never throws. */
  compile(expression: string, options?: CompileOptions): Result<CompiledExpression, CelCompileError[]>;
  /** Converts plain JSON bindings once for use by many expressions. Never throws for JSON input. */
  activation(bindings: Record<string, unknown>, options?: ActivationOptions): Activation;
  /** Names of the functions available in this environment, sorted. */
  functionNames(): string[];
}

const STD_ENV = celEnv({ funcs: strings });

/*
 * Some of the library's standard functions (timestamps, durations, `type()` of a message) need
 * its evaluation context, which only its own planner sets. belay enters that context only for
 * those calls, through a one-call library program: most evaluations never reach the library's
 * functions, and entering it for each one was ~2 % of a webhook request's CPU.
 */
let pendingRun: (() => void) | undefined;
/** Whether a library call is running inside the context now (a nested call needs no second). */
let insideLibrary = false;
const HOOK_ENV = celEnv({
  funcs: [
    celFunc("__belay_run", [], CelScalar.BOOL, () => {
      pendingRun?.();
      return true;
    }),
  ],
});
const HOOK_PLAN = plan(HOOK_ENV, parse("__belay_run()"));

/** Runs `f` inside the library's evaluation context; throws what `f` throws. */
function inLibraryContext<T>(f: () => T): T {
  if (insideLibrary) return f();
  let value: T | undefined;
  let threw = false;
  let thrown: unknown;
  pendingRun = () => {
    insideLibrary = true;
    try {
      value = f();
    } catch (ex) {
      threw = true;
      thrown = ex;
    } finally {
      insideLibrary = false;
    }
  };
  try {
    HOOK_PLAN();
  } finally {
    pendingRun = undefined;
  }
  if (threw) throw thrown;
  return value as T;
}

/** The library's standard functions, each call made inside its evaluation context. */
const STD_FUNCS: StdFuncs = {
  find(name) {
    const group = (STD_ENV.funcs as unknown as StdFuncs).find(name);
    if (group === undefined) return undefined;
    return { call: (id, target, args) => inLibraryContext(() => group.call(id, target, args)) };
  },
};
const STD_NAMES = new Set<string>();
for (const f of STD_ENV.funcs) STD_NAMES.add(f.name);
/** strings extension v2 functions absent before Kubernetes 1.29 (which used StringsVersion(0)). */
const STRINGS_V2_ONLY = new Set(["format", "strings.quote"]);

const REGEX_CACHE_LIMIT = 512;
const regexCache = new Map<string, RegexHandle | string>();

/** Compiles an RE2 pattern with re2js, caching compiled patterns (and errors) process-wide. */
export function compileRegex(pattern: string): RegexHandle | string {
  const hit = regexCache.get(pattern);
  if (hit !== undefined) return hit;
  let h: RegexHandle | string;
  try {
    const re = RE2JS.compile(pattern);
    h = {
      matches: (s) => re.matcher(s).find(),
      find: (s) => {
        const m = re.matcher(s);
        return m.find() ? (m.group(0) ?? "") : undefined;
      },
      findAll: (s, limit) => {
        const out: string[] = [];
        const m = re.matcher(s);
        while ((limit < 0 || out.length < limit) && m.find()) out.push(m.group(0) ?? "");
        return out;
      },
    };
  } catch (ex) {
    h = `invalid regex '${pattern}': ${ex instanceof Error ? ex.message : String(ex)}`;
  }
  if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.delete(regexCache.keys().next().value as string);
  regexCache.set(pattern, h);
  return h;
}

function lineCol(src: string, offset: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < src.length; i++) {
    if (src[i] === "\n") {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}

/** `1.37`, or for new expressions `1.38 for new expressions (introduced in 1.37; …)`. */
function availableFrom(since: K8sVersion, isNew: boolean): string {
  if (!isNew) return formatVersion(since);
  return `${formatVersion(v(since.major, since.minor + 1))} for new expressions (introduced in ${formatVersion(since)}; kube-apiserver checks new expressions against the previous release's environment)`;
}

function available(o: Overload, ver: K8sVersion): boolean {
  return compareVersions(ver, o.since) >= 0 && (o.until === undefined || compareVersions(ver, o.until) < 0);
}

type Plan = ReturnType<Planner["plan"]>;

/** What the last {@link run} charged, and its cost-limit message if it stopped there. */
let lastCost = 0;
let lastLimit: string | undefined;

/**
 * Evaluates a planned expression on an activation: returns its value (a JavaScript Error for a
 * failure of the evaluator itself) and leaves its cost in {@link lastCost} and a cost-limit stop
 * in {@link lastLimit}, read right after (a nested evaluation has finished by then). Charges
 * the budget in `eopts`.
 */
function run(planned: Plan, act: ActivationImpl, eopts: EvaluateOptions, perCall: number): ValOrErr {
  const tracker = new CostTracker(eopts.costLimit ?? perCall, eopts.costBudget);
  // The activation's runtime, with this evaluation's tracker while it runs (a lazy variable
  // evaluates inside another evaluation on the same activation).
  const outer = act.context.tracker;
  act.context.tracker = tracker;
  let value: ValOrErr;
  let cost = 0;
  let limit: string | undefined;
  try {
    value = planned(act.runtime, undefined);
    cost = tracker.cost;
  } catch (ex) {
    if (ex instanceof CostLimitExceeded) {
      value = null;
      cost = ex.cost;
      limit = ex.message;
    } else {
      cost = tracker.cost;
      value = new Error(
        ex instanceof RangeError ? `evaluation failed: ${ex.message}` : `internal error: ${String(ex)}`,
      ) as unknown as ValOrErr;
    }
  } finally {
    act.context.tracker = outer;
    if (eopts.costBudget !== undefined)
      eopts.costBudget.remaining -= Math.min(tracker.cost, eopts.costBudget.remaining);
  }
  lastCost = cost;
  lastLimit = limit;
  return value;
}

/**
 * Creates an environment with belay's Kubernetes CEL libraries as kube-apiserver has them at
 * `k8sVersion`. Never throws.
 */
export function createCelEnvironment(options: CelEnvironmentOptions): CelEnvironment {
  const server = options.k8sVersion ?? LATEST_K8S_VERSION;
  const isNew = options.expressions === "new" && compareVersions(server, OLDEST_K8S_VERSION) > 0;
  // Libraries are filtered by the environment's compatibility version: the release before the
  // server's for new expressions (DefaultCompatibilityVersion = binary minor - 1).
  const ver = isNew ? v(server.major, server.minor - 1) : server;
  const perCall = options.perCallCostLimit ?? PER_CALL_COST_LIMIT;
  const overloads = new Map<string, Overload[]>();
  const later = new Map<string, string>();
  for (const o of allOverloads) {
    if (available(o, ver)) {
      const l = overloads.get(o.name) ?? [];
      l.push(o);
      overloads.set(o.name, l);
    } else if (compareVersions(ver, o.since) < 0 && !later.has(o.name)) {
      later.set(o.name, availableFrom(o.since, isNew));
    }
  }
  const modern = compareVersions(ver, v(1, 29)) >= 0;
  const stdNames = new Set([...STD_NAMES].filter((n) => modern || !STRINGS_V2_ONLY.has(n)));
  if (!modern) for (const n of STRINGS_V2_ONLY) later.set(n, availableFrom(v(1, 29), isNew));
  for (const n of overloads.keys()) later.delete(n);
  const planEnv = {
    overloads,
    laterFunctions: later,
    std: STD_FUNCS,
    stdNames,
    variables: new Set(Object.keys(options.variables)),
    twoVarComprehensions: compareVersions(ver, v(1, 32)) >= 0,
    optionals: compareVersions(ver, v(1, 28)) >= 0,
    // kube-apiserver does not enable cel-go's bindings extension (environment/base.go, through 1.37).
    bindings: false,
    features: { listsV3: compareVersions(ver, v(1, 34)) >= 0 },
  };
  const validateRegexLiterals = modern;
  const envSerial = ++environments;

  const env: CelEnvironment = {
    k8sVersion: server,
    functionNames: () =>
      [...new Set([...overloads.keys(), ...stdNames])]
        .filter((n) => !n.startsWith("@") && !n.startsWith("_"))
        .sort(),
    activation(bindings, aopts = {}) {
      return makeActivation(bindings, aopts);
    },
    compile(expression, copts = {}) {
      const toError = (message: string, offset: number): CelCompileError => ({
        message,
        offset,
        ...lineCol(expression, offset),
      });
      const rewrite = rewriteOptionalSyntax(expression);
      if (rewrite.used && !planEnv.optionals) {
        return err([toError("optional syntax needs Kubernetes 1.28 or newer", 0)]);
      }
      let parsed: ReturnType<typeof parse>;
      try {
        parsed = parse(rewrite.source);
      } catch (ex) {
        const loc = (ex as { location?: { start?: { offset?: number } } }).location?.start?.offset ?? 0;
        const msg =
          (ex as { rawMessage?: string }).rawMessage ?? (ex instanceof Error ? ex.message : String(ex));
        return err([toError(`Syntax error: ${msg}`, loc)]);
      }
      const planner = new Planner(planEnv, parsed.sourceInfo?.positions ?? {}, rewrite.marks);
      const planned = planner.plan(parsed.expr as Expr);
      const errors = planner.issues.map((i) => toError(i.message, i.offset));
      const checked = inferType(parsed.expr as Expr, overloads, parsed.sourceInfo?.positions ?? {}, {
        regexLiterals: validateRegexLiterals ? compileRegex : undefined,
        homogeneous: options.homogeneousAggregateLiterals ?? true,
        // Optional elements unwrap to their value type; stay conservative there.
        trackDyn: !rewrite.used,
      });
      for (const i of checked.issues) errors.push(toError(i.message, i.offset));
      if (copts.expectedType !== undefined && checked.type !== "dyn" && checked.type !== copts.expectedType) {
        errors.push(
          toError(
            `cel expression must evaluate to ${copts.expectedType}, but evaluates to ${checked.type}`,
            0,
          ),
        );
      }
      if (errors.length > 0) {
        errors.sort((a, b) => a.offset - b.offset);
        return err(errors);
      }
      const expectedType = copts.expectedType;
      const compiled: CompiledExpression = {
        expression,
        resultType: checked.type,
        evaluateCel(activation, eopts = {}) {
          const value = run(planned, activation as ActivationImpl, eopts, perCall);
          return lastLimit !== undefined
            ? { value, cost: lastCost, costLimit: lastLimit }
            : { value, cost: lastCost };
        },
        evaluate(bindings, eopts = {}) {
          const activation = isActivation(bindings) ? bindings : makeActivation(bindings, {});
          let result: ValOrErr;
          try {
            result = run(planned, activation as ActivationImpl, eopts, perCall);
          } catch (ex) {
            return { kind: "error", code: "runtime", message: `internal error: ${String(ex)}`, cost: 0 };
          }
          const cost = lastCost;
          if (lastLimit !== undefined) return { kind: "error", code: "cost-limit", message: lastLimit, cost };
          if (isCelError(result) || result instanceof Error) {
            return { kind: "error", code: "runtime", message: (result as Error).message, cost };
          }
          const value = fromCel(result as Val);
          if (expectedType !== undefined && !jsMatches(value, expectedType)) {
            return {
              kind: "error",
              code: "type",
              message: `expression must evaluate to ${expectedType}, got ${typeof value}`,
              cost,
            };
          }
          return { kind: "value", value, cost };
        },
      };
      expressionInfo.set(compiled, {
        expression,
        references: references(parsed.expr as Expr, planEnv.variables),
        env: envSerial,
      });
      return ok(compiled);
    },
  };

  function makeActivation(bindings: Record<string, unknown>, aopts: ActivationOptions): Activation {
    return new ActivationImpl(bindings, aopts, options.variables, perCall);
  }
  return env;
}

function jsMatches(value: JsValue, t: string): boolean {
  switch (t) {
    case "bool":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "int":
      return typeof value === "number" || typeof value === "bigint";
    case "list":
      return Array.isArray(value);
    default:
      return typeof value === "object" && value !== null && !Array.isArray(value);
  }
}

function isActivation(x: unknown): x is Activation {
  return x instanceof ActivationImpl;
}

const variableNameSets = new WeakMap<Readonly<Record<string, CompiledExpression>>, ReadonlySet<string>>();

/** The names of a policy's `variables`, computed once per policy rather than per evaluation. */
function variableNames(vars: Readonly<Record<string, CompiledExpression>>): ReadonlySet<string> {
  let names = variableNameSets.get(vars);
  if (names === undefined) {
    names = new Set(Object.keys(vars));
    variableNameSets.set(vars, names);
  }
  return names;
}

/** A variable being computed: the variables it read and what computing them charged. */
interface Frame {
  deps: string[];
  nested: number;
}

/** The tracker of an activation with no evaluation running: it allows nothing. */
const IDLE_TRACKER = new CostTracker(0, undefined);

class ActivationImpl implements Activation, VarSource {
  readonly kind = "activation" as const;
  private readonly converted = new Map<string, Val>();
  private readonly bindings: Record<string, unknown>;
  private readonly options: ActivationOptions;
  private readonly declared: Readonly<Record<string, CelVariableType>>;
  private readonly perCall: number;
  private readonly frames: Frame[] = [];
  /** What functions see of the evaluation in progress; `tracker` is that evaluation's. */
  readonly context: {
    tracker: CostTracker;
    authorizer: CelAuthorizer | undefined;
    regex: CallContext["regex"];
  };
  /** The runtime every evaluation on this activation runs with (one object, not one per evaluation). */
  readonly runtime: Runtime;
  constructor(
    bindings: Record<string, unknown>,
    options: ActivationOptions,
    declared: Readonly<Record<string, CelVariableType>>,
    perCall: number,
  ) {
    this.bindings = bindings;
    this.options = options;
    this.declared = declared;
    this.perCall = perCall;
    this.context = { tracker: IDLE_TRACKER, authorizer: options.authorizer, regex: compileRegex };
    this.runtime = { call: this.context, vars: this };
  }
  lookup(name: string, rt: Runtime): ValOrErr | undefined {
    return this.get(name, rt);
  }
  get(name: string, _rt: Runtime): ValOrErr | undefined {
    const hit = this.converted.get(name);
    if (hit !== undefined) return hit;
    let value: Val | undefined;
    if (name === "variables" && this.options.lazyVariables !== undefined) {
      const vars = this.options.lazyVariables;
      const lazy: LazyMembers = new LazyMembers(
        variableNames(vars),
        (n, rt) => {
          const value = this.variable(vars, n, lazy);
          const cost = this.variableCost;
          rt.call.tracker.charge(cost);
          const top = this.frames[this.frames.length - 1];
          if (top !== undefined) top.nested += cost;
          return value;
        },
        this.options.variableMemo === undefined
          ? undefined
          : (n) => {
              const top = this.frames[this.frames.length - 1];
              if (top !== undefined && !top.deps.includes(n)) top.deps.push(n);
            },
      );
      value = lazy;
    } else if (name === "authorizer" && this.options.authorizer !== undefined) {
      value = authorizerValue(this.options.authorizer, this.options.authorizerUser);
    } else if (name === "authorizer.requestResource" && this.options.authorizer !== undefined) {
      value = requestResourceValue(
        this.options.authorizer,
        this.options.requestResource,
        this.options.authorizerUser,
      );
    } else if (name in this.bindings) {
      value = toCelShared(this.bindings[name]);
    } else if (name in this.declared) {
      // Declared but unbound variables are null, as kube-apiserver binds absent oldObject/params.
      value = null;
    }
    if (value !== undefined) this.converted.set(name, value);
    return value;
  }

  /** What the last {@link variable} call charges (read right after it returns). */
  private variableCost = 0;

  /**
   * A variable's value, shared through the memo when it may be; what computing it here charges
   * is left in {@link variableCost}.
   */
  private variable(
    vars: Readonly<Record<string, CompiledExpression>>,
    name: string,
    lazy: LazyMembers,
  ): ValOrErr {
    const compiled = vars[name] as CompiledExpression;
    const memo = this.options.variableMemo;
    const shares = memo === undefined ? undefined : shareKeys(vars, infoOf);
    const share = shares?.get(name);
    if (memo === undefined || shares === undefined || share === undefined) {
      const r = compiled.evaluateCel(this);
      this.variableCost = r.cost;
      return r.costLimit !== undefined ? celError(`variables.${name}: ${r.costLimit}`) : r.value;
    }
    const params = this.bindings.params;
    const store = entryStore(share, memo, params);
    const key = entryKey(share, params);
    const entry = store.get(key);
    if (entry !== undefined) {
      // What evaluating it would charge here: its own cost, plus the variables it reads that
      // this activation has not computed yet (computed now, as the evaluation would).
      let cost = entry.own;
      for (const dep of entry.deps) {
        if (lazy.computed(dep)) continue;
        lazy.put(dep, this.variable(vars, dep, lazy));
        cost += this.variableCost;
      }
      this.variableCost = cost;
      return entry.value;
    }
    const frame: Frame = { deps: [], nested: 0 };
    this.frames.push(frame);
    let r: ReturnType<CompiledExpression["evaluateCel"]>;
    try {
      r = compiled.evaluateCel(this);
    } finally {
      this.frames.pop();
    }
    this.variableCost = r.cost;
    if (r.costLimit !== undefined) return celError(`variables.${name}: ${r.costLimit}`);
    const own = r.cost - frame.nested;
    let bound = own;
    for (const dep of frame.deps) {
      const depShare = shares.get(dep);
      const depEntry: VariableEntry | undefined =
        depShare && entryStore(depShare, memo, params).get(entryKey(depShare, params));
      bound = depEntry === undefined ? Number.POSITIVE_INFINITY : bound + depEntry.bound;
    }
    if (bound <= this.perCall) store.set(key, { value: r.value, own, deps: frame.deps, bound });
    return r.value;
  }
}

import { authorizerValue, requestResourceValue } from "./lib/authz.ts";
