/**
 * Kubernetes format library (library/format.go, 1.31+): `format.dns1123Label()`,
 * `format.dns1123Subdomain()`, `format.dns1035Label()`, `format.qualifiedName()`,
 * `format.dns1123LabelPrefix()`, `format.dns1123SubdomainPrefix()`, `format.dns1035LabelPrefix()`,
 * `format.labelValue()`, `format.uri()`, `format.uuid()`, `format.byte()`, `format.date()`,
 * `format.datetime()`, `format.named(name)` → optional Format, and `Format.validate(s)` →
 * `optional.none()` when valid, else the list of error messages (apimachinery's wording).
 */
import { traversalCost } from "../cost.ts";
import { fn, method, type Overload } from "../functions.ts";
import { actualSize, list, OpaqueValue, OptionalValue, type Val } from "../values.ts";
import { v } from "../version.ts";
import { parseUrl } from "./url.ts";

const V1_31 = v(1, 31);

type Validator = (s: string) => string[];

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const maxLen = (n: number) => `must be no more than ${n} characters`;

function dns1123Label(s: string): string[] {
  const e: string[] = [];
  if (s.length > 63) e.push(maxLen(63));
  if (!DNS1123_LABEL.test(s)) {
    e.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return e;
}
function dns1123Subdomain(s: string): string[] {
  const e: string[] = [];
  if (s.length > 253) e.push(maxLen(253));
  if (!DNS1123_SUBDOMAIN.test(s)) {
    e.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return e;
}
function dns1035Label(s: string): string[] {
  const e: string[] = [];
  if (s.length > 63) e.push(maxLen(63));
  if (!DNS1035_LABEL.test(s)) {
    e.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return e;
}
function qualifiedName(s: string): string[] {
  const parts = s.split("/");
  const e: string[] = [];
  let name = s;
  if (parts.length === 2) {
    const [prefix = "", n = ""] = parts;
    name = n;
    if (prefix.length === 0) e.push("prefix part must be non-empty");
    else e.push(...dns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) e.push("name part must be non-empty");
  else if (name.length > 63) e.push(`name part ${maxLen(63)}`);
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) {
    e.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  }
  return e;
}
function labelValue(s: string): string[] {
  const e: string[] = [];
  if (s.length > 63) e.push(maxLen(63));
  if (!LABEL_VALUE.test(s)) {
    e.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  }
  return e;
}
/** Prefix variants (for generateName) allow a trailing '-'. */
const prefix =
  (f: Validator): Validator =>
  (s) =>
    f(s.endsWith("-") ? s.slice(0, -1) : s);

function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m === null) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

const FORMATS: Record<string, Validator> = {
  dns1123Label,
  dns1123Subdomain,
  dns1035Label,
  qualifiedName,
  dns1123LabelPrefix: prefix(dns1123Label),
  dns1123SubdomainPrefix: prefix(dns1123Subdomain),
  dns1035LabelPrefix: prefix(dns1035Label),
  labelValue,
  uri: (s) => (typeof parseUrl(s) === "string" ? ["invalid URI"] : []),
  uuid: (s) =>
    /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)
      ? []
      : ["does not match the UUID format"],
  byte: (s) =>
    /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) ? [] : ["invalid base64"],
  date: (s) => (isDate(s) ? [] : ["invalid date"]),
  datetime: (s) =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) &&
    isDate(s.slice(0, 10))
      ? []
      : ["invalid datetime"],
};

/** A named string format. */
export class Format extends OpaqueValue {
  readonly typeName = "kubernetes.NamedFormat";
  readonly name: string;
  constructor(name: string) {
    super();
    this.name = name;
  }
  equals(o: unknown): boolean {
    return o instanceof Format && o.name === this.name;
  }
  override toString(): string {
    return this.name;
  }
}

const F = "kubernetes.NamedFormat";

/** The format library overloads. */
export const formatOverloads: Overload[] = [
  ...Object.keys(FORMATS).map((name) => fn(`format.${name}`, [], F, V1_31, () => new Format(name))),
  fn("format.named", ["string"], "optional_type", V1_31, ([n]) =>
    (n as string) in FORMATS ? OptionalValue.of(new Format(n as string)) : OptionalValue.NONE,
  ),
  method<Format>(
    "validate",
    F,
    ["string"],
    "optional_type",
    V1_31,
    (f, [s]) => {
      const errors = (FORMATS[f.name] as Validator)(s as string);
      return errors.length === 0 ? OptionalValue.NONE : OptionalValue.of(list(errors));
    },
    { cost: (a: Val[]) => Math.max(1, traversalCost(actualSize(a[1]))) },
  ),
];
