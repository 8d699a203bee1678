/**
 * Function declarations of belay's CEL environment: overloads with argument types, the
 * Kubernetes release that introduced them, an implementation and a runtime cost in cel-go units.
 */

import { isCelList, isCelMap, isCelType, isCelUint } from "@bufbuild/cel";
import type { CostTracker } from "./cost.ts";
import type { CelAuthorizer } from "./lib/authz.ts";
import { OpaqueValue, type Val, type ValOrErr } from "./values.ts";
import type { K8sVersion } from "./version.ts";

/** Argument type tags used for overload resolution; opaque types use their type name. */
export type TypeTag =
  | "dyn"
  | "bool"
  | "int"
  | "uint"
  | "double"
  | "string"
  | "bytes"
  | "list"
  | "map"
  | "null"
  | "type"
  | "timestamp"
  | "duration"
  | (string & {});

/** What a function implementation may use besides its arguments. */
export interface CallContext {
  readonly tracker: CostTracker;
  readonly authorizer: CelAuthorizer | undefined;
  /** Compiles (and caches) an RE2 regex; returns an error message for invalid patterns. */
  regex(pattern: string): RegexHandle | string;
}

/** A compiled RE2 pattern. */
export interface RegexHandle {
  matches(s: string): boolean;
  find(s: string): string | undefined;
  findAll(s: string, limit: number): string[];
}

/** One overload of a function or method. */
export interface Overload {
  readonly name: string;
  /** Receiver type for methods (`"a".f()`); undefined for global functions. */
  readonly target: TypeTag | undefined;
  readonly args: readonly TypeTag[];
  /** Declared result type, used by the compile-time checks. */
  readonly result: TypeTag;
  /** First Kubernetes release with this overload. */
  readonly since: K8sVersion;
  /** Last release before it was removed (exclusive), if any. */
  readonly until?: K8sVersion;
  /** Implementation: errors are returned (or thrown as Error, which becomes a CEL error). */
  readonly impl: (ctx: CallContext, target: Val | undefined, args: Val[]) => ValOrErr | Error;
  /** Runtime cost charged before the call; cel-go's `args` include the receiver first. Default 1. */
  readonly cost?: (args: Val[]) => number;
  /** Argument positions that must be valid regex literals (checked at compile time from 1.29). */
  readonly regexArgs?: readonly number[];
  /**
   * A shortcut for a two-argument function on common argument types, tried when this is the
   * first overload of its arity. It must answer only for arguments that match this overload's
   * types (so selection would pick it), charging its cost and returning what `impl` would;
   * otherwise it returns undefined and the general path runs.
   */
  readonly fast2?: (tracker: CostTracker, a: Val, b: Val) => ValOrErr | undefined;
}

/** The type tag of a runtime value. */
export function tagOf(v: unknown): TypeTag {
  switch (typeof v) {
    case "string":
      return "string";
    case "bigint":
      return "int";
    case "number":
      return "double";
    case "boolean":
      return "bool";
  }
  if (v === null) return "null";
  if (v instanceof OpaqueValue) return v.typeName;
  if (v instanceof Uint8Array) return "bytes";
  if (isCelUint(v)) return "uint";
  if (isCelList(v)) return "list";
  if (isCelMap(v)) return "map";
  if (isCelType(v)) return "type";
  const t = (v as { message?: { $typeName?: string } }).message?.$typeName;
  if (t === "google.protobuf.Timestamp") return "timestamp";
  if (t === "google.protobuf.Duration") return "duration";
  return "dyn";
}

/** True if the value matches the tag. */
export function matchesTag(v: Val, tag: TypeTag): boolean {
  return tag === "dyn" || tagOf(v) === tag;
}

/** Finds the overload applicable to the runtime arguments. */
export function selectOverload(
  overloads: readonly Overload[],
  target: Val | undefined,
  args: Val[],
): Overload | undefined {
  for (const o of overloads) {
    if ((o.target === undefined) !== (target === undefined)) continue;
    if (o.args.length !== args.length) continue;
    if (target !== undefined && o.target !== undefined && !matchesTag(target, o.target)) continue;
    let okArgs = true;
    for (let i = 0; i < args.length; i++) {
      if (!matchesTag(args[i] as Val, o.args[i] as TypeTag)) {
        okArgs = false;
        break;
      }
    }
    if (okArgs) return o;
  }
  return undefined;
}

/** Declares a global function overload. */
export function fn(
  name: string,
  args: readonly TypeTag[],
  result: TypeTag,
  since: K8sVersion,
  impl: (args: Val[], ctx: CallContext) => ValOrErr | Error,
  extra: Partial<Pick<Overload, "cost" | "until" | "regexArgs" | "fast2">> = {},
): Overload {
  return { name, target: undefined, args, result, since, impl: (ctx, _t, a) => impl(a, ctx), ...extra };
}

/** Declares a method overload on `target`. */
export function method<T extends Val = Val>(
  name: string,
  target: TypeTag,
  args: readonly TypeTag[],
  result: TypeTag,
  since: K8sVersion,
  impl: (target: T, args: Val[], ctx: CallContext) => ValOrErr | Error,
  extra: Partial<Pick<Overload, "cost" | "until" | "regexArgs">> = {},
): Overload {
  return { name, target, args, result, since, impl: (ctx, t, a) => impl(t as T, a, ctx), ...extra };
}
