/**
 * AdmissionReview `admission.k8s.io/v1`: reading the request the API server sends and
 * building the response it expects. Pure: no I/O.
 */
import { HttpError } from "./http-error.ts";

/** Operations the API server sends to validating webhooks. */
export const OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The parts of `request` belay reads. */
export interface ReviewRequest {
  uid: string;
  operation: Operation;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource: string;
  namespace: string;
  name: string;
  object: Record<string, unknown> | null;
  oldObject: Record<string, unknown> | null;
  userInfo: { username: string; groups: string[]; uid?: string; extra?: Record<string, string[]> };
  dryRun: boolean;
}

/** The `response` of an AdmissionReview. */
export interface ReviewResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
  /** Keys without a slash: the API server prefixes each with `<webhook name>/`. */
  auditAnnotations?: Record<string, string>;
  /** `/mutate` only: base64 of a JSON Patch. */
  patchType?: "JSONPatch";
  patch?: string;
}

/**
 * The deepest nesting belay accepts in a request. Real objects nest a few dozen levels; the
 * limit keeps recursive code (rules, CEL, field location) far from the stack's end.
 */
export const MAX_NESTING_DEPTH = 1000;

/** Nesting depth of a JSON value (a scalar is 0), counted without recursion; stops past `limit`. */
export function nestingDepth(value: unknown, limit = MAX_NESTING_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== "object" || node === null) continue;
    const inner = depth + 1;
    if (inner > max) max = inner;
    if (max > limit) return max;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, inner]);
    }
  }
  return max;
}

/**
 * False when the JSON text `text` certainly nests no deeper than `limit`: every level needs
 * an opening bracket, so fewer than `limit` of them (counted anywhere, strings included) settle
 * it without walking the parsed value. True means "walk it" ({@link nestingDepth}).
 */
export function mayNestDeeperThan(text: string, limit: number): boolean {
  if (text.length <= limit) return false;
  let brackets = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === 0x7b || c === 0x5b) && ++brackets > limit) return true;
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/**
 * Read an AdmissionReview body. Throws HttpError 400 naming every problem (wrong apiVersion
 * or kind, missing request, uid or operation) so the API server's log says what was wrong.
 */
export function parseReview(body: unknown): ReviewRequest {
  if (!isObject(body)) throw new HttpError(400, "body must be a JSON object (an AdmissionReview)");
  const problems: string[] = [];
  if (body.apiVersion !== "admission.k8s.io/v1")
    problems.push(`apiVersion must be "admission.k8s.io/v1", got ${JSON.stringify(body.apiVersion ?? null)}`);
  if (body.kind !== "AdmissionReview")
    problems.push(`kind must be "AdmissionReview", got ${JSON.stringify(body.kind ?? null)}`);
  const request = body.request;
  if (!isObject(request)) {
    problems.push("request is missing");
    throw new HttpError(400, `invalid AdmissionReview: ${problems.join("; ")}`);
  }
  const uid = str(request.uid);
  if (uid === "") problems.push("request.uid is missing");
  const operation = str(request.operation);
  if (!(OPERATIONS as readonly string[]).includes(operation))
    problems.push(
      `request.operation must be one of ${OPERATIONS.join(", ")}, got ${JSON.stringify(request.operation ?? null)}`,
    );
  if (request.object !== undefined && request.object !== null && !isObject(request.object))
    problems.push("request.object must be an object");
  if (request.oldObject !== undefined && request.oldObject !== null && !isObject(request.oldObject))
    problems.push("request.oldObject must be an object");
  if (problems.length > 0) throw new HttpError(400, `invalid AdmissionReview: ${problems.join("; ")}`);
  const kind = isObject(request.kind) ? request.kind : {};
  const resource = isObject(request.resource) ? request.resource : {};
  const userInfo = isObject(request.userInfo) ? request.userInfo : {};
  const extra: Record<string, string[]> = {};
  if (isObject(userInfo.extra))
    for (const [k, v] of Object.entries(userInfo.extra))
      if (Array.isArray(v)) extra[k] = v.filter((x): x is string => typeof x === "string");
  return {
    uid,
    operation: operation as Operation,
    kind: { group: str(kind.group), version: str(kind.version), kind: str(kind.kind) },
    resource: {
      group: str(resource.group),
      version: str(resource.version),
      resource: str(resource.resource),
    },
    subResource: str(request.subResource),
    namespace: str(request.namespace),
    name: str(request.name),
    object: isObject(request.object) ? request.object : null,
    oldObject: isObject(request.oldObject) ? request.oldObject : null,
    userInfo: {
      username: str(userInfo.username),
      groups: Array.isArray(userInfo.groups) ? userInfo.groups.filter((g) => typeof g === "string") : [],
      ...(typeof userInfo.uid === "string" && userInfo.uid !== "" ? { uid: userInfo.uid } : {}),
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
    },
    dryRun: request.dryRun === true,
  };
}

/** The AdmissionReview the API server expects back. */
export function reviewResponse(response: ReviewResponse): Record<string, unknown> {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const GO_DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
/** The last text parsed and its value: the API server sends the same `timeout` on every request. */
let lastDuration: { text: string; ms: number | undefined } = { text: "", ms: undefined };

/**
 * Parse the `timeout` query parameter (a Go duration such as `10s`, `1m30s`, `500ms`) into
 * milliseconds; undefined when absent or not a duration.
 */
export function parseGoDuration(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (text === lastDuration.text) return lastDuration.ms;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(GO_DURATION_PART)) {
    total += Number(match[1]) * (GO_DURATION_UNITS[match[2] as string] as number);
    consumed += match[0].length;
  }
  const ms = consumed === text.length && consumed > 0 ? total : undefined;
  lastDuration = { text, ms };
  return ms;
}
