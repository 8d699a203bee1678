/**
 * Runtime values of belay's CEL interpreter: the CEL values of `@bufbuild/cel` plus belay's
 * opaque Kubernetes types (optional, URL, Quantity, IP, CIDR, Semver, Format, authz), and
 * the conversions between plain JavaScript (JSON) and CEL values.
 */
import {
  type CelError,
  type CelList,
  type CelMap,
  type CelValue,
  celError,
  celType,
  celUint,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint,
} from "@bufbuild/cel";
import { ObjectMemo } from "../object-memo.ts";

/** Base class of belay's opaque CEL values; `typeName` is the CEL type name (`kubernetes.URL`). */
export abstract class OpaqueValue {
  abstract readonly typeName: string;
  /** CEL equality with another value of any type. */
  abstract equals(other: unknown): boolean;
}

/** An `optional(T)` value: `optional.of(x)` or `optional.none()`. */
export class OptionalValue extends OpaqueValue {
  readonly typeName = "optional_type";
  readonly present: boolean;
  readonly inner: Val | undefined;
  private constructor(present: boolean, inner: Val | undefined) {
    super();
    this.present = present;
    this.inner = inner;
  }
  static readonly NONE = new OptionalValue(false, undefined);
  static of(v: Val): OptionalValue {
    return new OptionalValue(true, v);
  }
  equals(other: unknown): boolean {
    if (!(other instanceof OptionalValue)) return false;
    if (!this.present || !other.present) return this.present === other.present;
    return valEquals(this.inner as Val, other.inner as Val);
  }
}

/** Any value the interpreter handles. */
export type Val = CelValue | OpaqueValue;
/** A value or a CEL error (errors are values inside the interpreter). */
export type ValOrErr = Val | CelError;

export { celError, isCelError };

/** True when `v` is a CEL error value. */
export function isErr(v: unknown): v is CelError {
  return isCelError(v);
}

/** The CEL type name of a value, as in error messages (`int`, `string`, `map`, `kubernetes.URL`). */
export function typeNameOf(v: unknown): string {
  if (v instanceof OpaqueValue) return v.typeName;
  if (isCelList(v)) return "list";
  if (isCelMap(v)) return "map";
  try {
    return celType(v as CelValue).name;
  } catch {
    return typeof v;
  }
}

/** cel-go's `actualSize`: the size of strings (code points), bytes, lists and maps; 1 otherwise. */
export function actualSize(v: unknown): number {
  if (typeof v === "string") return codePointLength(v);
  if (v instanceof Uint8Array) return v.length;
  if (isCelList(v)) return v.size;
  if (isCelMap(v)) return v.size;
  return 1;
}

/** Number of Unicode code points in `s` (CEL string size). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
}

/** CEL heterogeneous equality, extended to belay's opaque values. */
export function valEquals(a: Val, b: Val): boolean {
  if (a instanceof OpaqueValue) return a.equals(b);
  if (b instanceof OpaqueValue) return b.equals(a);
  return baseEquals(a, b);
}

function numeric(v: unknown): number | bigint | undefined {
  if (typeof v === "bigint" || typeof v === "number") return v;
  if (isCelUint(v)) return v.value;
  return undefined;
}

function baseEquals(a: CelValue, b: CelValue): boolean {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined || nb !== undefined) {
    if (na === undefined || nb === undefined) return false;
    if (typeof na === "number" || typeof nb === "number") {
      const x = Number(na);
      const y = Number(nb);
      if (Number.isNaN(x) || Number.isNaN(y)) return false;
      if (typeof na === "bigint" && Number.isFinite(y) && Number.isInteger(y)) return na === BigInt(y);
      if (typeof nb === "bigint" && Number.isFinite(x) && Number.isInteger(x)) return nb === BigInt(x);
      return x === y;
    }
    return na === nb;
  }
  if (a === null || b === null) return a === b;
  if (typeof a !== "object" || typeof b !== "object") return a === b;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  if (isCelList(a) || isCelList(b)) {
    if (!(isCelList(a) && isCelList(b)) || a.size !== b.size) return false;
    for (let i = 0; i < a.size; i++) {
      if (!valEquals(a.get(i) as Val, b.get(i) as Val)) return false;
    }
    return true;
  }
  if (isCelMap(a) || isCelMap(b)) {
    if (!(isCelMap(a) && isCelMap(b)) || a.size !== b.size) return false;
    for (const [k, v] of a) {
      const w = mapGet(b, k);
      if (w === undefined || !valEquals(v as Val, w as Val)) return false;
    }
    return true;
  }
  if (isCelType(a) || isCelType(b)) {
    return isCelType(a) && isCelType(b) && a.name === b.name;
  }
  // Timestamps, durations, messages: compare by their JSON-ish content.
  return messageKey(a) === messageKey(b);
}

function messageKey(v: unknown): string {
  const m = (v as { message?: Record<string, unknown> }).message ?? (v as Record<string, unknown>);
  return JSON.stringify(m, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
}

/** Map lookup with CEL's numeric key equivalence (`{1: x}[1u]`, `{1: x}[1.0]`). */
export function mapGet(m: CelMap, key: unknown): CelValue | undefined {
  if (typeof key === "string" || typeof key === "boolean" || typeof key === "bigint") {
    const v = m.get(key);
    if (v !== undefined || typeof key !== "bigint") return v;
    if (key >= 0n) return m.get(celUint(key));
    return undefined;
  }
  if (isCelUint(key)) {
    const v = m.get(key);
    return v !== undefined ? v : m.get(key.value);
  }
  if (typeof key === "number") {
    if (!Number.isInteger(key)) return undefined;
    return mapGet(m, BigInt(key));
  }
  return undefined;
}

/** True if `key` has a valid CEL map-key type. */
export function isMapKey(key: unknown): boolean {
  return typeof key === "string" || typeof key === "boolean" || typeof key === "bigint" || isCelUint(key);
}

const shared = new ObjectMemo<object, Val>("cel");

/**
 * {@link toCel} for a value that many evaluations read (the request's object, old object,
 * params, namespace): converted once per JavaScript object and reused, since CEL values are
 * immutable. The admission path evaluates dozens of policies on one object; converting it for
 * each was most of their time. Never mutate an object after passing it here.
 */
export function toCelShared(v: unknown): Val {
  if (typeof v !== "object" || v === null) return toCel(v);
  return shared.getOrCompute(v, toCel);
}

/**
 * Converts plain JavaScript (parsed JSON or YAML) to a CEL value: integral numbers become
 * `int` (as Kubernetes integer fields do), other numbers `double`, objects maps, arrays lists.
 * `undefined` object members are dropped. Throws on values JSON cannot hold (a programmer bug).
 */
export function toCel(v: unknown): Val {
  switch (typeof v) {
    case "string":
    case "boolean":
    case "bigint":
      return v;
    case "number":
      return Number.isInteger(v) && Number.isSafeInteger(v) ? BigInt(v) : v;
    case "undefined":
      return null;
    case "object":
      break;
    default:
      throw new Error(`cannot convert ${typeof v} to a CEL value`);
  }
  if (v === null) return null;
  if (v instanceof OpaqueValue || v instanceof Uint8Array || isCelList(v) || isCelMap(v) || isCelUint(v)) {
    return v as Val;
  }
  if (Array.isArray(v)) return new BelayList(v.map((x) => toCel(x))).asCel();
  if (v instanceof Map) {
    const m = new BelayMap();
    for (const [k, x] of v) m.setEntry(typeof k === "number" ? BigInt(k) : (k as Val), toCel(x));
    return m.asCel();
  }
  if (v instanceof Date) return v.toISOString();
  return new JsonMap(v as Record<string, unknown>).asCel();
}

/** Plain JavaScript form of a CEL value (see {@link fromCel}). */
export type JsValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | JsValue[]
  | { [k: string]: JsValue };

/**
 * Converts a CEL value to plain JavaScript: ints and uints become numbers when they are safe
 * integers (bigint otherwise), lists arrays, maps objects (keys as strings), timestamps RFC 3339
 * strings, durations `"1.5s"`, optionals their value (`null` for none), opaque values their
 * string form. Never throws.
 */
export function fromCel(v: Val): JsValue {
  if (v === null || typeof v === "boolean" || typeof v === "string" || typeof v === "number") return v;
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (isCelUint(v)) return Number.isSafeInteger(Number(v.value)) ? Number(v.value) : v.value;
  if (v instanceof Uint8Array) return v;
  if (v instanceof OptionalValue) return v.present ? fromCel(v.inner as Val) : null;
  if (v instanceof OpaqueValue) return String(v);
  if (isCelList(v)) return Array.from(v, (x) => fromCel(x as Val));
  if (isCelMap(v)) {
    const o: Record<string, JsValue> = {};
    for (const [k, x] of v) o[String(isCelUint(k) ? k.value : k)] = fromCel(x as Val);
    return o;
  }
  if (isCelType(v)) return v.name;
  const msg = (v as { message?: { $typeName?: string; seconds?: bigint; nanos?: number } }).message;
  if (msg?.$typeName === "google.protobuf.Timestamp") {
    const ms = Number(msg.seconds ?? 0n) * 1000 + Math.floor((msg.nanos ?? 0) / 1e6);
    return new Date(ms).toISOString();
  }
  if (msg?.$typeName === "google.protobuf.Duration") {
    return `${Number(msg.seconds ?? 0n) + (msg.nanos ?? 0) / 1e9}s`;
  }
  return String(v);
}

const LIST_SYMBOL = Symbol.for("@bufbuild/cel/list");
const MAP_SYMBOL = Symbol.for("@bufbuild/cel/map");

/**
 * Marks a class's instances as CEL lists or maps for `isCelList`/`isCelMap` (a `symbol in value`
 * test, which sees the prototype): one marker per class rather than an object per value.
 */
function markClass(cls: { prototype: object }, symbol: symbol): void {
  Object.defineProperty(cls.prototype, symbol, { value: Object.freeze({}) });
}

/**
 * belay's CEL list: holds interpreter values as they are (including opaque ones, which the
 * library's lists would reject) and appends in amortised O(1) when a list is extended by its
 * newest view (the accumulator of `map`/`filter`), while every view stays immutable.
 */
export class BelayList {
  private readonly items: Val[];
  readonly size: number;
  constructor(items: Val[], size: number = items.length) {
    this.items = items;
    this.size = size;
  }
  get(index: number): CelValue | undefined {
    return index >= 0 && index < this.size ? (this.items[index] as CelValue) : undefined;
  }
  *values(): IterableIterator<CelValue> {
    for (let i = 0; i < this.size; i++) yield this.items[i] as CelValue;
  }
  [Symbol.iterator](): IterableIterator<CelValue> {
    return this.values();
  }
  /** A new list `this + other`; shares the backing array when this is its newest view. */
  concat(other: CelList): CelList {
    if (other.size === 0) return this.asCel();
    const target = this.items.length === this.size ? this.items : this.items.slice(0, this.size);
    for (const x of other) target.push(x);
    return new BelayList(target).asCel();
  }
  asCel(): CelList {
    return this as unknown as CelList;
  }
}

function canonicalKey(k: unknown): string | boolean | undefined {
  if (typeof k === "string") return `s:${k}`;
  if (typeof k === "boolean") return k;
  if (typeof k === "bigint") return `n:${k}`;
  if (isCelUint(k)) return `n:${k.value}`;
  if (typeof k === "number" && Number.isInteger(k)) return `n:${BigInt(k)}`;
  return undefined;
}

/** belay's CEL map: keys compare with CEL's numeric equivalence; values kept as they are. */
export class BelayMap {
  private readonly store = new Map<string | boolean, [Val, Val]>();
  get size(): number {
    return this.store.size;
  }
  /** Adds an entry; returns false if the key already exists (a programmer check for literals). */
  setEntry(k: Val, v: Val): boolean {
    const c = canonicalKey(k);
    if (c === undefined) throw new Error(`unsupported map key type ${typeNameOf(k)}`);
    if (this.store.has(c)) return false;
    this.store.set(c, [k, v]);
    return true;
  }
  get(key: unknown): CelValue | undefined {
    const c = canonicalKey(key);
    return c === undefined ? undefined : (this.store.get(c)?.[1] as CelValue | undefined);
  }
  has(key: unknown): boolean {
    const c = canonicalKey(key);
    return c !== undefined && this.store.has(c);
  }
  *keys(): IterableIterator<string | bigint | boolean> {
    for (const [k] of this.store.values()) yield k as string | bigint | boolean;
  }
  *values(): IterableIterator<CelValue> {
    for (const [, v] of this.store.values()) yield v as CelValue;
  }
  *entries(): IterableIterator<[string | bigint | boolean, CelValue]> {
    for (const [k, v] of this.store.values()) yield [k as string | bigint | boolean, v as CelValue];
  }
  forEach(cb: (value: CelValue, key: string | bigint | boolean, map: CelMap) => void): void {
    for (const [k, v] of this.entries()) cb(v, k, this.asCel());
  }
  [Symbol.iterator](): IterableIterator<[string | bigint | boolean, CelValue]> {
    return this.entries();
  }
  asCel(): CelMap {
    return this as unknown as CelMap;
  }
}

/**
 * A CEL map over a plain JSON object, converting each member on first read. Policies read a
 * few fields of large objects, so converting the whole object up front was most of their
 * cost. Same observable behaviour as a {@link BelayMap} built from `Object.entries` (string
 * keys, insertion order, `undefined` members absent). The object must not change afterwards.
 */
export class JsonMap {
  private readonly object: Record<string, unknown>;
  private readonly converted = new Map<string, Val>();
  private count = -1;
  constructor(object: Record<string, unknown>) {
    this.object = object;
  }
  get size(): number {
    if (this.count < 0) {
      let n = 0;
      for (const key in this.object)
        if (Object.hasOwn(this.object, key) && this.object[key] !== undefined) n++;
      this.count = n;
    }
    return this.count;
  }
  get(key: unknown): CelValue | undefined {
    if (typeof key !== "string") return undefined;
    let value = this.converted.get(key);
    if (value !== undefined) return value as CelValue;
    if (!Object.hasOwn(this.object, key)) return undefined;
    const raw = this.object[key];
    if (raw === undefined) return undefined;
    value = toCel(raw);
    this.converted.set(key, value);
    return value as CelValue;
  }
  has(key: unknown): boolean {
    return typeof key === "string" && Object.hasOwn(this.object, key) && this.object[key] !== undefined;
  }
  *keys(): IterableIterator<string | bigint | boolean> {
    for (const key of Object.keys(this.object)) if (this.object[key] !== undefined) yield key;
  }
  *values(): IterableIterator<CelValue> {
    for (const key of this.keys()) yield this.get(key) as CelValue;
  }
  *entries(): IterableIterator<[string | bigint | boolean, CelValue]> {
    for (const key of this.keys()) yield [key, this.get(key) as CelValue];
  }
  forEach(cb: (value: CelValue, key: string | bigint | boolean, map: CelMap) => void): void {
    for (const [k, v] of this.entries()) cb(v, k, this.asCel());
  }
  [Symbol.iterator](): IterableIterator<[string | bigint | boolean, CelValue]> {
    return this.entries();
  }
  asCel(): CelMap {
    return this as unknown as CelMap;
  }
}

/** A list value from values already in CEL form. */
export function list(values: Val[]): CelList {
  return new BelayList(values).asCel();
}

/** `a + b` for lists, amortised O(1) for accumulators. */
export function listConcat(a: CelList, b: CelList): CelList {
  if (a instanceof BelayList) return a.concat(b);
  return new BelayList([...a, ...b] as Val[]).asCel();
}

/** A map value with string keys. */
export function stringMap(entries: Iterable<[string, Val]>): CelMap {
  const m = new BelayMap();
  for (const [k, v] of entries) m.setEntry(k, v);
  return m.asCel();
}

markClass(BelayList, LIST_SYMBOL);
markClass(BelayMap, MAP_SYMBOL);
markClass(JsonMap, MAP_SYMBOL);
