/**
 * The webhook's configuration file (`belay webhook --config F`), `belay.dev/v1alpha1`
 * `WebhookConfig`, and the action table that decides what each finding does to a request.
 * Pure: the caller reads the file; every problem is reported with its field path.
 *
 * ```yaml
 * apiVersion: belay.dev/v1alpha1
 * kind: WebhookConfig
 * profiles: [all]
 * pssVersion: latest
 * rules: []            # run only these rule ids (default: every rule of the profiles)
 * skipRules: []
 * exceptions: /etc/belay/exceptions.yaml
 * policies: [/etc/belay/policies]
 * clusterPolicies: false
 * clusterPoliciesRefresh: 30s
 * authorizer: sar      # how policies' CEL `authorizer` checks are answered: sar or none
 * exemptNamespaces: [kube-system, belay-system]
 * failureMode: deny
 * actions: {default: ..., pss: deny, severity:medium: warn, liveness-probe: off, policy:require-team: audit}
 * decisionLog: {file: /var/log/belay/decisions.jsonl, includeObjects: false}
 * mutate: {enabled: false}
 * workers: 1           # processes serving the port (1–64 or auto); see docs/webhook.md
 * ```
 */
import yaml from "js-yaml";
import { type Finding, isSeverity, SEVERITIES } from "../findings/finding.ts";
import { appError, err, ok, type Result } from "../result.ts";
import { PROFILES, parsePssVersion, RULE_IDS } from "../rules/index.ts";
import { parseGoDuration } from "./review.ts";

/** What a finding does to an admission request. */
export const ACTIONS = ["deny", "warn", "audit", "off"] as const;
export type Action = (typeof ACTIONS)[number];

/** What to do when a request cannot be evaluated in time. */
export const FAILURE_MODES = ["deny", "allow"] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

/**
 * How user policies' CEL `authorizer` checks are answered: `sar` (SubjectAccessReviews to the
 * cluster, the default) or `none` (no authorizer: expressions using it are evaluation
 * errors, decided by each policy's failurePolicy).
 */
export const AUTHORIZER_MODES = ["sar", "none"] as const;
export type AuthorizerMode = (typeof AUTHORIZER_MODES)[number];

/** Namespaces exempt by default: the control plane's and belay's own. */
export const DEFAULT_EXEMPT_NAMESPACES: readonly string[] = ["kube-system", "belay-system"];

/** Default period between two reloads of the cluster's policies. */
export const DEFAULT_CLUSTER_POLICIES_REFRESH_MS = 30_000;

/**
 * Action keys, most specific first: a rule id; `policy:<name>` (one user policy); `policies`
 * (every user policy); `pss-restricted` / `pss-baseline` / `pss` (rules that implement a
 * Pod Security Standards check of that level, or any); `severity:<level>`; `default` (every
 * built-in rule not matched above). User policies follow their binding's
 * `validationActions` unless `policy:<name>` or `policies` is set; `default` does not
 * override a binding, which is already an explicit choice.
 */
export type ActionTable = Readonly<Record<string, Action>>;

/** The file's fields, validated. Absent fields keep the flag or built-in default. */
export interface WebhookConfig {
  profiles?: string[];
  pssVersion?: string;
  rules?: string[];
  skipRules?: string[];
  exceptions?: string;
  policies?: string[];
  clusterPolicies?: boolean;
  clusterPoliciesRefreshMs?: number;
  authorizer?: AuthorizerMode;
  exemptNamespaces?: string[];
  failureMode?: FailureMode;
  actions?: ActionTable;
  decisionLog?: { file?: string; includeObjects?: boolean };
  mutate?: { enabled: boolean };
  /** Processes serving the port: a number 1…{@link MAX_WORKERS}, or `auto` (one per CPU, capped by the cgroup CPU limit). */
  workers?: number | "auto";
}

/** The most worker processes `belay webhook` forks. */
export const MAX_WORKERS = 64;

/**
 * Parse a worker count: an integer 1…{@link MAX_WORKERS} (a number or its decimal string) or
 * `auto`. Returns undefined for anything else. Never throws.
 *
 * @example parseWorkers("4") // 4
 */
export function parseWorkers(value: unknown): number | "auto" | undefined {
  if (value === "auto") return "auto";
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS ? n : undefined;
}

const KEYS = [
  "apiVersion",
  "kind",
  "profiles",
  "pssVersion",
  "rules",
  "skipRules",
  "exceptions",
  "policies",
  "clusterPolicies",
  "clusterPoliciesRefresh",
  "authorizer",
  "exemptNamespaces",
  "failureMode",
  "actions",
  "decisionLog",
  "mutate",
  "workers",
];

const SELECTOR_KEYS = ["default", "policies", "pss", "pss-baseline", "pss-restricted"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const quoteList = (items: readonly string[]) =>
  `${items.slice(0, -1).join(", ")}${items.length > 1 ? " or " : ""}${items.at(-1) ?? ""}`;

/**
 * Validate one action key. Returns a problem (without the path) or undefined.
 *
 * @example actionKeyProblem("severity:urgent") // 'unknown severity "urgent"; use critical, high, medium, low or info'
 */
export function actionKeyProblem(key: string): string | undefined {
  if (SELECTOR_KEYS.includes(key) || RULE_IDS.has(key)) return undefined;
  if (key.startsWith("severity:")) {
    const level = key.slice("severity:".length);
    return isSeverity(level) ? undefined : `unknown severity "${level}"; use ${quoteList(SEVERITIES)}`;
  }
  if (key.startsWith("policy:")) {
    return /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(key.slice("policy:".length))
      ? undefined
      : `"${key.slice("policy:".length)}" is not a policy name`;
  }
  return `unknown rule "${key}"; use a rule id (see \`belay rules list\`), policy:<name>, policies, pss, pss-baseline, pss-restricted, severity:<level> or default`;
}

/** Validate an action table (from the file or built in code); every problem has its path. */
export function validateActions(value: unknown, path = "actions"): Result<ActionTable, string[]> {
  if (!isRecord(value)) return err([`${path}: must be a map of rule id or selector to an action`]);
  const problems: string[] = [];
  const table: Record<string, Action> = {};
  for (const [key, action] of Object.entries(value)) {
    const keyProblem = actionKeyProblem(key);
    if (keyProblem !== undefined) problems.push(`${path}.${key}: ${keyProblem}`);
    if (typeof action !== "string" || !(ACTIONS as readonly string[]).includes(action))
      problems.push(
        `${path}.${key}: unknown action ${JSON.stringify(action ?? null)}; use ${quoteList(ACTIONS)}`,
      );
    else if (keyProblem === undefined) table[key] = action as Action;
  }
  return problems.length > 0 ? err(problems) : ok(table);
}

/**
 * Parse and validate a WebhookConfig document. Returns every problem, each prefixed with the
 * file and the field path (`config.yaml: actions.liveness-probe: unknown action "block"; ...`).
 * Never throws.
 */
export function parseWebhookConfig(text: string, file: string): Result<WebhookConfig> {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    return err(
      appError("config", `invalid webhook config ${file}`, [
        `${file}: not valid YAML: ${(e as Error).message.split("\n")[0]}`,
      ]),
    );
  }
  const problems: string[] = [];
  const config: WebhookConfig = {};
  if (!isRecord(doc)) {
    return err(
      appError("config", `invalid webhook config ${file}`, [
        `${file}: must be a YAML map (kind: WebhookConfig)`,
      ]),
    );
  }
  if (doc.apiVersion !== "belay.dev/v1alpha1")
    problems.push(`apiVersion: must be "belay.dev/v1alpha1", got ${JSON.stringify(doc.apiVersion ?? null)}`);
  if (doc.kind !== "WebhookConfig")
    problems.push(`kind: must be "WebhookConfig", got ${JSON.stringify(doc.kind ?? null)}`);
  for (const key of Object.keys(doc))
    if (!KEYS.includes(key)) problems.push(`${key}: unknown field; use ${quoteList(KEYS)}`);

  const strings = (key: string): string[] | undefined => {
    const value = doc[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      problems.push(`${key}: must be a list of strings`);
      return undefined;
    }
    const bad = value.findIndex((v) => typeof v !== "string" || v === "");
    if (bad >= 0) {
      problems.push(`${key}[${bad}]: must be a non-empty string`);
      return undefined;
    }
    return value as string[];
  };
  const string = (key: string): string | undefined => {
    const value = doc[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string" || value === "") {
      problems.push(`${key}: must be a non-empty string`);
      return undefined;
    }
    return value;
  };
  const bool = (value: unknown, path: string): boolean | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") {
      problems.push(`${path}: must be true or false`);
      return undefined;
    }
    return value;
  };

  const profiles = strings("profiles");
  profiles?.forEach((p, i) => {
    if (!(PROFILES as readonly string[]).includes(p))
      problems.push(`profiles[${i}]: unknown profile "${p}"; use ${quoteList(PROFILES)}`);
  });
  if (profiles) config.profiles = profiles;
  const pssVersion =
    doc.pssVersion === undefined || doc.pssVersion === null ? undefined : String(doc.pssVersion);
  if (pssVersion !== undefined && parsePssVersion(pssVersion) === undefined)
    problems.push(`pssVersion: "${pssVersion}" is not v1.N or latest`);
  else if (pssVersion !== undefined) config.pssVersion = pssVersion;
  for (const key of ["rules", "skipRules"] as const) {
    const ids = strings(key);
    ids?.forEach((id, i) => {
      if (!RULE_IDS.has(id)) problems.push(`${key}[${i}]: unknown rule "${id}" (see \`belay rules list\`)`);
    });
    if (ids) config[key] = ids;
  }
  const exceptions = string("exceptions");
  if (exceptions) config.exceptions = exceptions;
  const policies = strings("policies");
  if (policies) config.policies = policies;
  const clusterPolicies = bool(doc.clusterPolicies, "clusterPolicies");
  if (clusterPolicies !== undefined) config.clusterPolicies = clusterPolicies;
  const refresh = string("clusterPoliciesRefresh");
  if (refresh !== undefined) {
    const ms = parseGoDuration(refresh);
    if (ms === undefined || ms < 1000)
      problems.push(`clusterPoliciesRefresh: "${refresh}" is not a duration of at least 1s (e.g. 30s, 2m)`);
    else config.clusterPoliciesRefreshMs = ms;
  }
  const exempt = strings("exemptNamespaces");
  exempt?.forEach((n, i) => {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n))
      problems.push(`exemptNamespaces[${i}]: "${n}" is not a valid namespace name`);
  });
  if (exempt) config.exemptNamespaces = exempt;
  const authorizer = string("authorizer");
  if (authorizer !== undefined) {
    if ((AUTHORIZER_MODES as readonly string[]).includes(authorizer))
      config.authorizer = authorizer as AuthorizerMode;
    else problems.push(`authorizer: must be sar or none, got "${authorizer}"`);
  }
  const failureMode = string("failureMode");
  if (failureMode !== undefined) {
    if ((FAILURE_MODES as readonly string[]).includes(failureMode))
      config.failureMode = failureMode as FailureMode;
    else problems.push(`failureMode: must be deny or allow, got "${failureMode}"`);
  }
  if (doc.actions !== undefined && doc.actions !== null) {
    const actions = validateActions(doc.actions);
    if (actions.ok) config.actions = actions.value;
    else problems.push(...actions.error);
  }
  if (doc.decisionLog !== undefined && doc.decisionLog !== null) {
    if (!isRecord(doc.decisionLog)) problems.push("decisionLog: must be a map with file and includeObjects");
    else {
      const log: { file?: string; includeObjects?: boolean } = {};
      for (const key of Object.keys(doc.decisionLog))
        if (key !== "file" && key !== "includeObjects")
          problems.push(`decisionLog.${key}: unknown field; use file or includeObjects`);
      const file = doc.decisionLog.file;
      if (file !== undefined && file !== null) {
        if (typeof file !== "string" || file === "")
          problems.push("decisionLog.file: must be a non-empty string");
        else log.file = file;
      }
      const include = bool(doc.decisionLog.includeObjects, "decisionLog.includeObjects");
      if (include !== undefined) log.includeObjects = include;
      config.decisionLog = log;
    }
  }
  if (doc.mutate !== undefined && doc.mutate !== null) {
    if (!isRecord(doc.mutate)) problems.push("mutate: must be a map with enabled");
    else {
      for (const key of Object.keys(doc.mutate))
        if (key !== "enabled") problems.push(`mutate.${key}: unknown field; use enabled`);
      const enabled = bool(doc.mutate.enabled, "mutate.enabled");
      config.mutate = { enabled: enabled ?? false };
    }
  }
  if (doc.workers !== undefined && doc.workers !== null) {
    const workers = parseWorkers(doc.workers);
    if (workers === undefined)
      problems.push(
        `workers: must be an integer from 1 to ${MAX_WORKERS} or auto, got ${JSON.stringify(doc.workers)}`,
      );
    else config.workers = workers;
  }
  if (problems.length > 0)
    return err(
      appError(
        "config",
        `invalid webhook config ${file}`,
        problems.map((p) => `${file}: ${p}`),
      ),
    );
  return ok(config);
}

/** The built-in action of a built-in rule's failing finding: today's deny/warn split. */
export function builtinAction(finding: Finding): Action {
  return finding.frameworks.pss !== undefined ||
    finding.severity === "critical" ||
    finding.severity === "high"
    ? "deny"
    : "warn";
}

/**
 * The action for a built-in rule's finding (status `fail` or `warn`) under `table`, most
 * specific key first (see {@link ActionTable}). A `warn` finding is advice: it never denies.
 */
export function ruleAction(finding: Finding, table: ActionTable): Action {
  const pss = finding.frameworks.pss;
  const action =
    table[finding.ruleId] ??
    (pss ? (table[`pss-${pss.level}`] ?? table.pss) : undefined) ??
    table[`severity:${finding.severity}`] ??
    table.default ??
    builtinAction(finding);
  return finding.status === "warn" && action === "deny" ? "warn" : action;
}

/**
 * The override for a user policy, or undefined to follow its binding's validationActions.
 */
export function policyAction(policy: string, table: ActionTable): Action | undefined {
  return table[`policy:${policy}`] ?? table.policies;
}

/**
 * Whether a built-in rule can never act under `table` (its action is `off` whatever its
 * finding): such rules are not run at all.
 */
export function ruleIsOff(
  meta: { id: string; severity: Finding["severity"]; frameworks: Finding["frameworks"] },
  table: ActionTable,
): boolean {
  const probe = {
    ruleId: meta.id,
    severity: meta.severity,
    frameworks: meta.frameworks,
    status: "fail",
  } as Finding;
  return ruleAction(probe, table) === "off";
}
