/**
 * A js-yaml schema that resolves plain scalars the way kubectl does.
 *
 * kubectl and the API server read YAML through sigs.k8s.io/yaml, which is go-yaml v2: a
 * YAML 1.1 resolver. There `yes`, `on`, `y` are true and `no`, `off`, `n` are false, and a
 * leading-zero integer is octal. A YAML 1.2 reader sees the string "yes" in
 * `privileged: yes` and misses a privileged container, so belay resolves like go-yaml v2.
 */
import yaml from "js-yaml";

const TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]);
const FALSE = new Set(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]);

const bool11 = new yaml.Type("tag:yaml.org,2002:bool", {
  kind: "scalar",
  resolve: (data: unknown) => typeof data === "string" && (TRUE.has(data) || FALSE.has(data)),
  construct: (data: string) => TRUE.has(data),
  predicate: (value: unknown) => typeof value === "boolean",
  represent: { lowercase: (value: object) => (value ? "true" : "false") },
  defaultStyle: "lowercase",
});

/** go-yaml v2 integers: strconv.ParseInt(s, 0, 64) after removing underscores. */
const INT = /^[-+]?(0b[01]+|0o?[0-7]+|0x[0-9a-fA-F]+|[1-9][0-9]*|0)$/;

function parseInt11(data: string): number {
  const text = data.replaceAll("_", "");
  const sign = text.startsWith("-") ? -1 : 1;
  const body = text.replace(/^[-+]/, "");
  if (body.startsWith("0b")) return sign * Number.parseInt(body.slice(2), 2);
  if (body.startsWith("0x")) return sign * Number.parseInt(body.slice(2), 16);
  if (body.startsWith("0o")) return sign * Number.parseInt(body.slice(2), 8);
  if (body.length > 1 && body.startsWith("0")) return sign * Number.parseInt(body.slice(1), 8);
  return sign * Number.parseInt(body, 10);
}

const int11 = new yaml.Type("tag:yaml.org,2002:int", {
  kind: "scalar",
  resolve: (data: unknown) => typeof data === "string" && INT.test(data.replaceAll("_", "")),
  construct: parseInt11,
  predicate: (value: unknown) => typeof value === "number" && Number.isInteger(value),
  represent: { decimal: (value: object) => String(value) },
  defaultStyle: "decimal",
});

/**
 * The schema: js-yaml's core schema (null, float, merge keys) with YAML 1.1 booleans and
 * integers tried first (a float pattern would otherwise read `0777` as 777).
 */
export const KUBE_YAML_SCHEMA: yaml.Schema = new yaml.Schema({
  implicit: [
    bool11,
    int11,
    ...(
      yaml.CORE_SCHEMA as unknown as { compiledImplicit: (yaml.Type & { tag: string })[] }
    ).compiledImplicit.filter((t) => t.tag !== "tag:yaml.org,2002:bool" && t.tag !== "tag:yaml.org,2002:int"),
  ],
  explicit: (yaml.CORE_SCHEMA as unknown as { compiledExplicit: yaml.Type[] }).compiledExplicit,
});
