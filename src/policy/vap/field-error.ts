/**
 * Field errors worded exactly like k8s.io/apimachinery's `field.Error` (v0.37):
 * `spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"`.
 */
import type { FieldPath } from "../../resources/path.ts";

/** The `field.ErrorType` strings the admissionregistration validation uses. */
export type FieldErrorType =
  | "Required value"
  | "Invalid value"
  | "Unsupported value"
  | "Duplicate value"
  | "Forbidden"
  | "Too many";

/** One validation problem at one field. */
export interface FieldError {
  type: FieldErrorType;
  path: FieldPath;
  /** The offending value; rendered for every type except Required and Forbidden. */
  value?: unknown;
  detail: string;
}

/** `field.Required`. */
export function required(path: FieldPath, detail = ""): FieldError {
  return { type: "Required value", path, detail };
}

/** `field.Invalid`. */
export function invalid(path: FieldPath, value: unknown, detail: string): FieldError {
  return { type: "Invalid value", path, value, detail };
}

/** `field.NotSupported`: the supported values are quoted and joined as the API server does. */
export function notSupported(path: FieldPath, value: unknown, supported: readonly string[]): FieldError {
  const detail = supported.length > 0 ? `supported values: ${supported.map(goQuote).join(", ")}` : "";
  return { type: "Unsupported value", path, value, detail };
}

/** `field.Duplicate`. */
export function duplicate(path: FieldPath, value: unknown): FieldError {
  return { type: "Duplicate value", path, value, detail: "" };
}

/** `field.Forbidden`. */
export function forbidden(path: FieldPath, detail: string): FieldError {
  return { type: "Forbidden", path, detail };
}

/** `field.TooMany`. */
export function tooMany(path: FieldPath, actual: number, max: number): FieldError {
  return { type: "Too many", path, value: actual, detail: `must have at most ${max} items` };
}

/**
 * Render a path as `field.Path.String()` does: `spec.validations[2].expression`
 * (map keys, which these objects never need, as `[key]`).
 */
export function fieldPathString(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

/** `field.Error.Error()`: `<path>: <type>[: <value>][: <detail>]`. Never throws. */
export function formatFieldError(error: FieldError): string {
  let body: string = error.type;
  if (error.type !== "Required value" && error.type !== "Forbidden") {
    body += `: ${renderValue(error.value)}`;
  }
  if (error.detail !== "") body += `: ${error.detail}`;
  return `${fieldPathString(error.path)}: ${body}`;
}

/** Go's `%q` for the strings these messages hold (printable text). */
export function goQuote(value: string): string {
  return JSON.stringify(value);
}

// ErrorBody (apimachinery v0.37): simple types with %v, strings with %q, the rest as JSON
// (encoding/json escapes <, > and & as \u003c, \u003e, \u0026).
function renderValue(value: unknown): string {
  if (typeof value === "string") return goQuote(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === undefined || value === null) return "null";
  const json = JSON.stringify(value) ?? "null";
  return json.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}
