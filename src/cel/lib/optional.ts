/**
 * cel-go's optional types library (`cel.OptionalTypes()`, Kubernetes 1.28+): `optional.of`,
 * `optional.none`, `optional.ofNonZeroValue`, `hasValue()`, `value()`. `or`/`orValue` (lazy)
 * and `optMap`/`optFlatMap` (macros) are special forms of the interpreter.
 */
import { isCelList, isCelMap } from "@bufbuild/cel";
import { fn, method, type Overload, tagOf } from "../functions.ts";
import { actualSize, OptionalValue, type Val } from "../values.ts";
import { v } from "../version.ts";

const V1_28 = v(1, 28);

/** True for CEL zero values: null, false, 0, 0u, 0.0, "", b"", [], {}, a zero duration or timestamp. */
export function isZeroValue(x: Val): boolean {
  if (x === null || x === false || x === "" || x === 0 || x === 0n) return true;
  const tag = tagOf(x);
  if (tag === "uint") return (x as unknown as { value: bigint }).value === 0n;
  if (tag === "bytes" || isCelList(x) || isCelMap(x)) return actualSize(x) === 0;
  if (tag === "timestamp" || tag === "duration") {
    const m = (x as unknown as { message: { seconds: bigint; nanos: number } }).message;
    return m.seconds === 0n && m.nanos === 0;
  }
  if (x instanceof OptionalValue) return !x.present;
  return false;
}

/** The optional library overloads. */
export const optionalOverloads: Overload[] = [
  fn("optional.of", ["dyn"], "optional_type", V1_28, ([x]) => OptionalValue.of(x as Val)),
  fn("optional.none", [], "optional_type", V1_28, () => OptionalValue.NONE),
  fn("optional.ofNonZeroValue", ["dyn"], "optional_type", V1_28, ([x]) =>
    isZeroValue(x as Val) ? OptionalValue.NONE : OptionalValue.of(x as Val),
  ),
  method<OptionalValue>("hasValue", "optional_type", [], "bool", V1_28, (o) => o.present),
  method<OptionalValue>("value", "optional_type", [], "dyn", V1_28, (o) =>
    o.present ? (o.inner as Val) : new Error("optional.none() dereference"),
  ),
];
