/**
 * secrets-in-configmap
 *
 * Field: `data[<key>]` of every ConfigMap (`v1`). One violation per offending key.
 * A value is treated as a config file when it spans several lines or its key has a file
 * extension (`application.properties`, `config.yaml`, …); otherwise as a single setting.
 * Disallowed:
 *   - in any value: a credential in a known format (private key, cloud/SaaS token, JWT,
 *     URL with a password);
 *   - in a setting: a credential-like key (PASSWORD, SECRET, TOKEN, API_KEY, …) with a value
 *     that is not a placeholder, reference, path, boolean or small number; or a random-looking
 *     token;
 *   - in a config file: `key: value` / `key=value` lines with a credential-like key and a
 *     literal value, and one-line files named like a credential (`password.txt`).
 * `binaryData` is not inspected. Messages name keys and line numbers, never values.
 */
import { defineRule, type Rule, type Violation } from "../rule.ts";
import {
  configAssignments,
  isCredentialName,
  isHighEntropyToken,
  isPlaceholderValue,
  knownCredentialKind,
} from "./lib/credentials.ts";
import { isObject } from "./lib/objects.ts";

const FILE_EXTENSION =
  /\.(?:ya?ml|json|conf|cfg|cnf|ini|toml|properties|env|xml|txt|sh|py|js|ts|rb|php|lua|tpl|config|hcl|tf)$/i;
const MAX_NAMED = 5;

/**
 * Why a ConfigMap value looks like it holds credentials (names of inner keys and kinds of
 * match, never values), or undefined when it does not.
 */
export function configMapCredentialFinding(key: string, value: string): string | undefined {
  const reasons: string[] = [];
  const isFile = value.trimEnd().includes("\n") || FILE_EXTENSION.test(key);
  if (isFile) {
    const named = configAssignments(value).filter(
      (a) => isCredentialName(a.key) && !isPlaceholderValue(a.value),
    );
    if (named.length > 0) {
      const listed = named.slice(0, MAX_NAMED).map((a) => `"${a.key}" (line ${a.line})`);
      const more = named.length > MAX_NAMED ? ` and ${named.length - MAX_NAMED} more` : "";
      reasons.push(`sets ${listed.join(", ")}${more} to literal credentials`);
    } else if (!value.trim().includes("\n")) {
      const stem = key.replace(FILE_EXTENSION, "");
      if (isCredentialName(stem) && !isPlaceholderValue(value)) reasons.push("holds a literal credential");
    }
  } else if (isCredentialName(key) && !isPlaceholderValue(value)) {
    reasons.push("holds a literal credential");
  } else if (isHighEntropyToken(value)) {
    reasons.push("holds a high-entropy literal that looks like a key");
  }
  const kind = knownCredentialKind(value);
  if (kind !== undefined) reasons.push(`holds what looks like ${kind}`);
  return reasons.length > 0 ? reasons.join(" and ") : undefined;
}

/** ConfigMaps must not hold credentials. */
export const secretsInConfigmap: Rule = defineRule({
  meta: {
    id: "secrets-in-configmap",
    title: "Credential in a ConfigMap",
    severity: "high",
    description:
      "ConfigMaps are meant for non-confidential configuration: they are readable by far more subjects than Secrets, are " +
      "not encrypted at rest by the usual configuration and end up in logs, dashboards and version control. A password, " +
      "token or key placed in a ConfigMap is exposed to all of them.",
    remediation: "Move the credential into a Secret and mount or reference it from there.",
    frameworks: {
      nsa: ["Secrets"],
      nist: ["4.1.4"],
      mitre: ["T1552.001"],
    },
    profiles: ["hardening"],
  },
  check(resource) {
    if (resource.ref.kind !== "ConfigMap" || resource.ref.apiVersion !== "v1") return [];
    const data = resource.object.data;
    if (!isObject(data)) return [];
    const violations: Violation[] = [];
    for (const key of Object.keys(data).sort()) {
      const value = data[key];
      if (typeof value !== "string") continue;
      const finding = configMapCredentialFinding(key, value);
      if (finding !== undefined) {
        violations.push({
          path: ["data", key],
          message: `ConfigMap "${resource.ref.name}" key "${key}" ${finding}`,
        });
      }
    }
    return violations;
  },
});
