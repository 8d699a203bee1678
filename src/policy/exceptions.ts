/**
 * The exceptions file (`--exceptions F`): written-down, owned, expiring suppressions.
 *
 *   apiVersion: belay.dev/v1alpha1
 *   kind: ExceptionList
 *   exceptions:
 *     - rules: [pss-host-path-volumes]      # or `rule: <id>`
 *       resource: { kind: DaemonSet, namespace: monitoring, name: "node-exporter*", labels: { app: x } }
 *       reason: reads host metrics from /proc
 *       owner: platform-team
 *       expires: 2027-03-31                 # the exception lapses after this day (UTC)
 *
 * Every selector field is optional (an empty selector matches every resource); `name` may use
 * `*` wildcards. An expired exception no longer suppresses, and is reported.
 */
import yaml from "js-yaml";
import type { ResourceRef } from "../findings/finding.ts";
import { formatPath } from "../resources/path.ts";
import type { Resource } from "../resources/types.ts";
import { KUBE_YAML_SCHEMA } from "../resources/yaml11.ts";
import { appError, err, ok, type Result } from "../result.ts";

/** Which resources an exception covers. */
export interface ResourceSelector {
  kind?: string;
  namespace?: string;
  name?: string;
  labels?: Record<string, string>;
}

/** One validated exception. */
export interface RuleException {
  /** Index in the file, for messages. */
  index: number;
  ruleIds: string[];
  resource: ResourceSelector;
  reason: string;
  owner: string;
  /** `YYYY-MM-DD`; the exception holds through the end of that day, UTC. */
  expires: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Parse and validate an exceptions file. Reports every problem with its field path, e.g.
 * `exceptions[1].expires: must be a date (YYYY-MM-DD)`. Never throws.
 */
export function parseExceptions(
  text: string,
  file: string,
  knownRuleIds: ReadonlySet<string>,
): Result<RuleException[]> {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: KUBE_YAML_SCHEMA, json: true });
  } catch (e) {
    const reason =
      e instanceof yaml.YAMLException ? `${e.reason} at line ${(e.mark?.line ?? 0) + 1}` : String(e);
    return err(appError("config", `${file}: invalid YAML: ${reason}`));
  }
  const problems: string[] = [];
  const root = isRecord(doc) ? doc : {};
  if (!isRecord(doc)) problems.push("(root): must be a mapping with `exceptions:`");
  if (root.kind !== undefined && root.kind !== "ExceptionList")
    problems.push('kind: must be "ExceptionList"');
  const items = root.exceptions;
  if (!Array.isArray(items)) {
    if (isRecord(doc)) problems.push("exceptions: must be a list");
    return err(appError("config", `${file}: invalid exceptions file`, problems));
  }
  const result: RuleException[] = [];
  items.forEach((item, index) => {
    const at = (field: string) => formatPath(["exceptions", index, ...field.split(".").filter(Boolean)]);
    if (!isRecord(item)) {
      problems.push(`${at("")}: must be a mapping`);
      return;
    }
    const ruleIds = ruleIdsOf(item, at, problems, knownRuleIds);
    const resource = selectorOf(item.resource, at, problems);
    for (const field of ["reason", "owner"] as const) {
      if (typeof item[field] !== "string" || (item[field] as string).trim() === "") {
        problems.push(
          `${at(field)}: required: say ${field === "reason" ? "why the exception is acceptable" : "who owns it"}`,
        );
      }
    }
    const expires = item.expires;
    if (typeof expires !== "string" || !isValidDate(expires)) {
      problems.push(`${at("expires")}: must be a date (YYYY-MM-DD); every exception expires`);
    }
    const known = new Set(["rule", "rules", "resource", "reason", "owner", "expires"]);
    for (const key of Object.keys(item).sort())
      if (!known.has(key)) problems.push(`${at(key)}: unknown field`);
    result.push({
      index,
      ruleIds,
      resource,
      reason: String(item.reason ?? ""),
      owner: String(item.owner ?? ""),
      expires: String(expires ?? ""),
    });
  });
  if (problems.length > 0) return err(appError("config", `${file}: invalid exceptions file`, problems));
  return ok(result);
}

function ruleIdsOf(
  item: Record<string, unknown>,
  at: (field: string) => string,
  problems: string[],
  knownRuleIds: ReadonlySet<string>,
): string[] {
  const raw = item.rules ?? item.rule;
  const field = item.rules !== undefined ? "rules" : "rule";
  const ids = typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw : undefined;
  if (!ids || ids.length === 0 || !ids.every((id) => typeof id === "string")) {
    problems.push(`${at(field)}: required: a rule id or a list of rule ids`);
    return [];
  }
  for (const id of ids)
    if (!knownRuleIds.has(id)) problems.push(`${at(field)}: unknown rule "${id}" (see \`belay rules list\`)`);
  return ids as string[];
}

function selectorOf(raw: unknown, at: (field: string) => string, problems: string[]): ResourceSelector {
  if (raw === undefined) return {};
  if (!isRecord(raw)) {
    problems.push(`${at("resource")}: must be a mapping (kind, namespace, name, labels)`);
    return {};
  }
  const selector: ResourceSelector = {};
  for (const key of ["kind", "namespace", "name"] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || value === "")
      problems.push(`${at(`resource.${key}`)}: must be a non-empty string`);
    else selector[key] = value;
  }
  if (raw.labels !== undefined) {
    if (!isRecord(raw.labels) || !Object.values(raw.labels).every((v) => typeof v === "string")) {
      problems.push(`${at("resource.labels")}: must map label names to string values`);
    } else selector.labels = raw.labels as Record<string, string>;
  }
  for (const key of Object.keys(raw).sort()) {
    if (!["kind", "namespace", "name", "labels"].includes(key))
      problems.push(`${at(`resource.${key}`)}: unknown field`);
  }
  return selector;
}

function isValidDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.getUTCMonth() === Number(m[2]) - 1 && date.getUTCDate() === Number(m[3]);
}

/** True when the exception has lapsed at `now` (it holds through the whole `expires` day, UTC). */
export function isExpired(exception: RuleException, now: Date): boolean {
  return now.getTime() >= Date.parse(`${exception.expires}T00:00:00Z`) + 86_400_000;
}

/** True when the exception's selector and rules cover this rule on this resource. */
export function exceptionCovers(exception: RuleException, ruleId: string, resource: Resource): boolean {
  if (!exception.ruleIds.includes(ruleId)) return false;
  return selectorMatches(exception.resource, resource.ref, resource.object.metadata);
}

function selectorMatches(selector: ResourceSelector, ref: ResourceRef, metadata: unknown): boolean {
  if (selector.kind !== undefined && selector.kind !== ref.kind) return false;
  if (selector.namespace !== undefined && selector.namespace !== (ref.namespace ?? "default")) return false;
  if (selector.name !== undefined && !globMatch(selector.name, ref.name)) return false;
  if (selector.labels) {
    const labels = (isRecord(metadata) && isRecord(metadata.labels) ? metadata.labels : {}) as Record<
      string,
      unknown
    >;
    for (const [key, value] of Object.entries(selector.labels)) if (labels[key] !== value) return false;
  }
  return true;
}

/** `*` matches any run of characters; everything else is literal. Linear time, no regex. */
export function globMatch(pattern: string, text: string): boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === text;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (!text.startsWith(first) || !text.endsWith(last) || text.length < first.length + last.length)
    return false;
  let position = first.length;
  const end = text.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = text.indexOf(middle, position);
    if (found < 0 || found + middle.length > end) return false;
    position = found + middle.length;
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
