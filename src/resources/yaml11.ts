/**
 * A js-yaml schema that resolves plain scalars the way kubectl and the API server do.
 *
 * They read YAML through sigs.k8s.io/yaml, which is go-yaml v2: a YAML 1.1 resolver. There
 * `yes`, `on`, `y` are true and `no`, `off`, `n` are false, and numbers follow Go's
 * `strconv` (leading-zero octal, `0x`/`0X`/`0o`/`0O`/`0b`/`0B` prefixes, underscores removed
 * before parsing). A YAML 1.2 reader sees the string "yes" in `privileged: yes` and misses a
 * privileged container, so belay resolves like go-yaml v2. Merge keys (`<<`) are applied
 * separately, with go-yaml's positional semantics (see `applyMergeKeys`).
 */
import yaml from "js-yaml";

/** go-yaml v2's table of special plain scalars (checked before numbers). */
const SPECIAL = new Map<string, boolean | number>([
  ...["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"].map((k) => [k, true] as const),
  ...["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"].map(
    (k) => [k, false] as const,
  ),
  ...[".nan", ".NaN", ".NAN"].map((k) => [k, Number.NaN] as const),
  ...[".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"].map((k) => [k, Number.POSITIVE_INFINITY] as const),
  ...["-.inf", "-.Inf", "-.INF"].map((k) => [k, Number.NEGATIVE_INFINITY] as const),
]);

const bool11 = new yaml.Type("tag:yaml.org,2002:bool", {
  kind: "scalar",
  resolve: (data: unknown) => typeof data === "string" && typeof SPECIAL.get(data) === "boolean",
  construct: (data: string) => SPECIAL.get(data) === true,
  predicate: (value: unknown) => typeof value === "boolean",
  represent: { lowercase: (value: object) => (value ? "true" : "false") },
  defaultStyle: "lowercase",
});

/** Go's strconv.ParseInt(s, 0, 64) / ParseUint syntax (underscores already removed). */
const GO_INT = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
/** go-yaml's yamlStyleFloat, applied after ParseInt failed. */
const GO_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** Go's ParseFloat for a scalar starting with a dot. */
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;

/**
 * The number go-yaml v2 reads from a plain scalar, or undefined when it stays a string. Only
 * scalars starting with a digit, a sign or a dot are numbers, as in go-yaml's resolve table.
 */
export function resolveGoNumber(text: string): number | undefined {
  const special = SPECIAL.get(text);
  if (typeof special === "number") return special;
  const first = text.charAt(0);
  if (first === ".") return DOT_FLOAT.test(text) ? Number(text) : undefined;
  if (!(first === "+" || first === "-" || (first >= "0" && first <= "9"))) return undefined;
  const plain = text.replaceAll("_", "");
  const int = GO_INT.exec(plain);
  if (int) {
    const sign = int[1] === "-" ? -1 : 1;
    const body = int[2] as string;
    const prefix = body.slice(0, 2).toLowerCase();
    const value =
      prefix === "0x"
        ? Number.parseInt(body.slice(2), 16)
        : prefix === "0o"
          ? Number.parseInt(body.slice(2), 8)
          : prefix === "0b"
            ? Number.parseInt(body.slice(2), 2)
            : body.length > 1 && body.startsWith("0")
              ? Number.parseInt(body.slice(1), 8)
              : Number.parseInt(body, 10);
    return sign * value;
  }
  return GO_FLOAT.test(plain) ? Number(plain) : undefined;
}

const number11 = new yaml.Type("tag:yaml.org,2002:float", {
  kind: "scalar",
  resolve: (data: unknown) => typeof data === "string" && resolveGoNumber(data) !== undefined,
  construct: (data: string) => resolveGoNumber(data) as number,
  predicate: (value: unknown) => typeof value === "number",
  represent: { decimal: (value: object) => String(value) },
  defaultStyle: "decimal",
});

type TaggedType = yaml.Type & { tag: string };
const core = yaml.CORE_SCHEMA as unknown as {
  compiledImplicit: TaggedType[];
  compiledExplicit: TaggedType[];
};

/**
 * The schema: go-yaml v2's booleans and numbers, js-yaml's core null (`~`, `null`, empty) and
 * core explicit types. Merge keys stay literal `<<` keys here; `applyMergeKeys` resolves them.
 */
export const KUBE_YAML_SCHEMA: yaml.Schema = new yaml.Schema({
  implicit: [bool11, number11, ...core.compiledImplicit.filter((t) => t.tag === "tag:yaml.org,2002:null")],
  explicit: core.compiledExplicit,
});

const MERGE = "<<";

/**
 * Resolve `<<` merge keys the way go-yaml v2 does: at the position of the `<<` entry its
 * map (or maps, the first of a list winning) is merged in, overwriting keys set before it;
 * keys after it overwrite merged ones. Aliased nodes are shared, so results are memoised
 * by identity (no exponential blow-up on alias-heavy input). Returns a new value; never throws.
 */
export function applyMergeKeys(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (value === null || typeof value !== "object") return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(applyMergeKeys(item, seen));
    return out;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [key, child] of Object.entries(value)) {
    if (key !== MERGE) {
      out[key] = applyMergeKeys(child, seen);
      continue;
    }
    const sources = Array.isArray(child) ? [...child].reverse() : [child];
    for (const source of sources) {
      const merged = applyMergeKeys(source, seen);
      if (merged !== null && typeof merged === "object" && !Array.isArray(merged)) Object.assign(out, merged);
    }
  }
  return out;
}
