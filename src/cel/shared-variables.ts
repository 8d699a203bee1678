/**
 * Policy `variables` computed once and shared: many policies of a request define the same
 * variable (the catalog's `podSpec` and `containers` appear in 14 policies), and variables
 * that read only `params` (`allowed := params.data.…split(',')…`) give the same value for
 * every request. Sharing must not change any answer, costs included, so:
 *
 * - A variable is shared only under a key made of its expression text, the environment it was
 *   compiled in, and — recursively — the keys of the variables it reads; one that reads
 *   `authorizer` or the whole `variables` map is never shared.
 * - An entry keeps the value, the variable's own cost (without the variables it computed on
 *   the way) and which variables it read. Reusing it charges exactly what evaluating it would
 *   have charged in that activation: its own cost plus the variables it reads that the
 *   activation has not computed yet (computed now, from their own entries).
 * - An entry is kept only when even a cold activation could not pass the per-expression cost
 *   limit with it (own cost plus its variables' bounds), and never for a cost-limit error:
 *   the error paths always evaluate for real.
 *
 * The caller gives one {@link VariableMemo} to the activations of one request whose
 * `object`, `oldObject`, `request` and `namespaceObject` are the same objects; entries of
 * variables that read nothing but `params` are kept on the params object across requests.
 */
import { ObjectMemo } from "../object-memo.ts";
import type { References } from "./references.ts";
import type { ValOrErr } from "./values.ts";

/** One shared variable value and what computing it charged. */
export interface VariableEntry {
  readonly value: ValOrErr;
  /** Cost of the variable's own expression, without the variables it computed. */
  readonly own: number;
  /** The variables it read, in order of first read. */
  readonly deps: readonly string[];
  /** The most that evaluating it could charge in any activation. */
  readonly bound: number;
}

/** Shared variable values of one request (see the module comment). Opaque to callers. */
export type VariableMemo = Map<number, VariableEntry>;

/** Where a variable's entry is kept and under which key. */
export interface ShareKey {
  /** The interned id of {@link text} (hashing the long text on every lookup was slow). */
  readonly key: number;
  /** The full key: environment, expression text and its variables' keys. */
  readonly text: string;
  /** Reads only `params` (directly or through its variables): keep with the params object. */
  readonly paramsOnly: boolean;
  readonly usesParams: boolean;
}

/** What the environment knows of a compiled expression. */
export interface ExpressionInfo {
  readonly expression: string;
  readonly references: References;
  /** The environment that compiled it. */
  readonly env: number;
}

const PARAMS_SCOPE: ReadonlySet<string> = new Set(["params", "variables"]);

const keysByVariables = new WeakMap<object, ReadonlyMap<string, ShareKey | undefined>>();
/** Key texts → small ids; grows only with the distinct expressions ever compiled. */
const keyIds = new Map<string, number>();

/** The small id of a key text (hashing the long text on every lookup was slow). */
function internKey(text: string): number {
  let key = keyIds.get(text);
  if (key === undefined) {
    key = keyIds.size + 1;
    keyIds.set(text, key);
  }
  return key;
}

/** The bindings that are the same for every policy evaluated on one admission request. */
const REQUEST_BINDINGS: ReadonlySet<string> = new Set(["object", "oldObject", "request", "namespaceObject"]);
const requestKeys = new WeakMap<object, number | null>();

/**
 * A small id shared by the expressions with the same text, compiled in the same environment,
 * that read nothing but `object`, `oldObject`, `request` and `namespaceObject` (no `params`, no
 * `variables`, no `authorizer`): on one request, with those bindings, each of them evaluates to
 * the same value at the same cost. Undefined for any other expression.
 */
export function requestOnlyKey<C extends object>(
  compiled: C,
  infoOf: (compiled: C) => ExpressionInfo | undefined,
): number | undefined {
  let key = requestKeys.get(compiled);
  if (key === undefined) {
    const info = infoOf(compiled);
    const refs = info?.references;
    key =
      info !== undefined &&
      refs?.variables?.size === 0 &&
      [...refs.globals].every((g) => REQUEST_BINDINGS.has(g))
        ? internKey(`${info.env}\u0001${info.expression}`)
        : null;
    requestKeys.set(compiled, key);
  }
  return key ?? undefined;
}

/**
 * The share keys of a policy's variables (undefined for one that must not be shared),
 * computed once per variables record (policies are long-lived; a WeakMap suits them).
 */
export function shareKeys<C extends object>(
  variables: Readonly<Record<string, C>>,
  infoOf: (compiled: C) => ExpressionInfo | undefined,
): ReadonlyMap<string, ShareKey | undefined> {
  const known = keysByVariables.get(variables);
  if (known !== undefined) return known;
  const keys = new Map<string, ShareKey | undefined>();
  const visiting = new Set<string>();
  const visit = (name: string): ShareKey | undefined => {
    if (keys.has(name)) return keys.get(name);
    const compiled = Object.hasOwn(variables, name) ? variables[name] : undefined;
    const info = compiled === undefined ? undefined : infoOf(compiled);
    let result: ShareKey | undefined;
    const refs = info?.references;
    if (
      info !== undefined &&
      refs?.variables !== undefined &&
      !refs.globals.has("authorizer") &&
      !visiting.has(name)
    ) {
      visiting.add(name);
      let paramsOnly = [...refs.globals].every((g) => PARAMS_SCOPE.has(g));
      let usesParams = refs.globals.has("params");
      const parts: string[] = [];
      let shareable = true;
      for (const dep of [...refs.variables].sort()) {
        if (!Object.hasOwn(variables, dep)) {
          parts.push(`${dep}=?`);
          continue;
        }
        const depKey = visit(dep);
        if (depKey === undefined) {
          shareable = false;
          break;
        }
        parts.push(`${dep}=(${depKey.text})`);
        paramsOnly &&= depKey.paramsOnly;
        usesParams ||= depKey.usesParams;
      }
      visiting.delete(name);
      if (shareable) {
        const text = `${info.env}\u0001${info.expression}\u0001${parts.join("\u0001")}`;
        result = { key: internKey(text), text, paramsOnly, usesParams };
      }
    }
    keys.set(name, result);
    return result;
  };
  for (const name of Object.keys(variables)) visit(name);
  keysByVariables.set(variables, keys);
  return keys;
}

const paramsStores = new ObjectMemo<object, VariableMemo>("sharedVariables");
const paramsIds = new ObjectMemo<object, number>("paramsId");
let nextParamsId = 1;

/** Room for params ids in a numeric key: key id × 2^32 + params id stays a safe integer. */
const PARAMS_SPACE = 2 ** 32;
/**
 * The same key in small-integer form when both ids are small (the usual case): key id × 2^14 +
 * params id, below 2^30. V8 keeps such numbers unboxed, so a lookup allocates nothing and
 * hashes an integer; the large form (at least 2^32) never collides with it.
 */
const SMALL_PARAMS_SPACE = 2 ** 14;
const SMALL_KEY_LIMIT = 2 ** 16;

/** The store of a variable's entry for these params. */
export function entryStore(share: ShareKey, memo: VariableMemo, params: unknown): VariableMemo {
  return share.paramsOnly && typeof params === "object" && params !== null ? paramsStore(params) : memo;
}

/** The key of a variable's entry for these params, in {@link entryStore}. */
export function entryKey(share: ShareKey, params: unknown): number {
  const id =
    !share.usesParams || typeof params !== "object" || params === null
      ? 0
      : paramsIds.getOrCompute(params, () => nextParamsId++);
  return share.key < SMALL_KEY_LIMIT && id < SMALL_PARAMS_SPACE
    ? share.key * SMALL_PARAMS_SPACE + id
    : share.key * PARAMS_SPACE + id;
}

function paramsStore(params: object): VariableMemo {
  return paramsStores.getOrCompute(params, () => new Map());
}
