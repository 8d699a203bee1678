/**
 * secrets-in-env
 *
 * Field: `env[*].value` of every container, init container and ephemeral container.
 * Disallowed values: a literal that holds a credential, recognised by
 *   - its format, whatever the variable's name: private keys, AWS/GitHub/GitLab/Slack/
 *     Google/Stripe/npm/SendGrid tokens, Azure storage keys, JWTs, URLs with a password;
 *   - the variable's name (PASSWORD, SECRET, TOKEN, API_KEY, …, but not names that describe
 *     a credential such as PASSWORD_FILE or TOKEN_URL) with a value that is not a
 *     placeholder, reference, path, boolean or small number;
 *   - a random-looking token (32–256 base64 characters mixing cases and digits, >= 4.3 bits
 *     of entropy per character).
 * `valueFrom` references are allowed. Messages name the variable, never the value.
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import {
  isCredentialName,
  isHighEntropyToken,
  isPlaceholderValue,
  knownCredentialKind,
} from "./lib/credentials.ts";
import { asArray, isObject } from "./lib/objects.ts";

/**
 * What a literal env var holds, if it looks like a credential: a phrase for the message
 * ("a literal credential", "what looks like a GitHub token"), never the value.
 */
export function envCredentialFinding(name: string, value: string): string | undefined {
  const kind = knownCredentialKind(value);
  if (kind !== undefined) return `what looks like ${kind}`;
  if (isCredentialName(name) && !isPlaceholderValue(value)) return "a literal credential";
  if (isHighEntropyToken(value)) return "a high-entropy literal that looks like a key";
  return undefined;
}

/** Credentials must not be written into env var values. */
export const secretsInEnv: Rule = podRule(
  {
    id: "secrets-in-env",
    title: "Credential in an environment variable value",
    severity: "high",
    description:
      "A password, token or key written as a literal env value is stored in plain text in the manifest, in version control, " +
      "in the API server and in every tool that reads pod specs; anyone who can read the workload can read the credential. " +
      "Secrets exist to keep such values out of pod specs and to control who may read them.",
    remediation:
      "Move the value into a Secret and reference it with valueFrom.secretKeyRef or a mounted secret volume.",
    frameworks: {
      nsa: ["Secrets"],
      nist: ["4.1.4"],
      mitre: ["T1552.001", "T1552.007"],
    },
    profiles: ["hardening"],
  },
  (template) => {
    const violations: Violation[] = [];
    for (const ref of containersOf(template)) {
      asArray(ref.container.env).forEach((entry, index) => {
        if (!isObject(entry) || typeof entry.value !== "string") return;
        const name = typeof entry.name === "string" ? entry.name : `#${index}`;
        const finding = envCredentialFinding(name, entry.value);
        if (finding === undefined) return;
        violations.push({
          path: [...ref.path, "env", index, "value"],
          message: `env "${name}" of ${containerLabel(ref)} holds ${finding}; reference a Secret instead`,
        });
      });
    }
    return violations;
  },
);
