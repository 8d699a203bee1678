/**
 * Values remembered per object (a request's object, a pod template, a request), kept on the
 * object itself under a private symbol instead of in a WeakMap.
 *
 * Why not a WeakMap: V8 keeps a WeakMap's entries for young (just allocated) keys alive until
 * the next full collection, so every young-generation collection copies their values and
 * then promotes them. With a WeakMap per request object, the admission path's young-generation
 * pauses grew from ≈0.1 ms to 2–6 ms and most request garbage reached the old generation
 * (measured with `--trace-gc-nvp`; see docs/performance.md). A property dies with its object
 * and costs the collector nothing.
 *
 * The property is non-enumerable and symbol-keyed: JSON, `Object.keys`/`entries`, spreads and
 * `util.isDeepStrictEqual` do not see it, and a spread copy does not inherit a stale value.
 * Objects that cannot take a property (frozen, sealed) fall back to a WeakMap.
 */
export class ObjectMemo<K extends object, V> {
  readonly #key: symbol;
  readonly #fallback = new WeakMap<K, V>();

  /** `name` only labels the symbol (debuggers show it). */
  constructor(name: string) {
    this.#key = Symbol(name);
  }

  get(object: K): V | undefined {
    const own = (object as Record<symbol, V | undefined>)[this.#key];
    return own !== undefined ? own : this.#fallback.get(object);
  }

  set(object: K, value: V): void {
    if (Object.isExtensible(object))
      Object.defineProperty(object, this.#key, {
        value,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    else this.#fallback.set(object, value);
  }

  /** The remembered value, or `compute(object)` remembered now. */
  getOrCompute(object: K, compute: (object: K) => V): V {
    let value = this.get(object);
    if (value === undefined) {
      value = compute(object);
      this.set(object, value);
    }
    return value;
  }
}
