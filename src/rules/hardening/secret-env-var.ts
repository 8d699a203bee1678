/**
 * secret-env-var
 *
 * Fields: `env[*].valueFrom.secretKeyRef` and `envFrom[*].secretRef` of every container,
 * init container and ephemeral container. Any such reference fails: Secrets should be
 * mounted as files instead (CIS 5.4.1).
 */
import { containerLabel, containersOf, podRule } from "../pod-rule.ts";
import type { Rule, Violation } from "../rule.ts";
import { asArray, asObject, isObject } from "./lib/objects.ts";

/** Secrets should be consumed as files rather than environment variables (advice). */
export const secretEnvVar: Rule = podRule(
  {
    id: "secret-env-var",
    title: "Secret exposed as an environment variable",
    severity: "low",
    description:
      "Environment variables leak more easily than files: they are inherited by every child process, shown by crash " +
      "reporters, debug endpoints and `docker inspect`, and often logged at start-up. Secrets mounted as files can be " +
      "read only by processes that open them and are updated in place when the Secret changes.",
    remediation: "Mount the Secret as a volume and have the application read the value from the file.",
    frameworks: {
      cis: ["5.4.1"],
      nsa: ["Secrets"],
      mitre: ["T1552.007"],
    },
    profiles: ["hardening"],
    status: "warn",
  },
  (template) => {
    const violations: Violation[] = [];
    for (const ref of containersOf(template)) {
      asArray(ref.container.env).forEach((entry, index) => {
        if (!isObject(entry)) return;
        const secretKeyRef = asObject(entry.valueFrom).secretKeyRef;
        if (!isObject(secretKeyRef)) return;
        const name = typeof entry.name === "string" ? entry.name : `#${index}`;
        const secret = typeof secretKeyRef.name === "string" ? `Secret "${secretKeyRef.name}"` : "a Secret";
        const key = typeof secretKeyRef.key === "string" ? ` key "${secretKeyRef.key}"` : "";
        violations.push({
          path: [...ref.path, "env", index, "valueFrom", "secretKeyRef"],
          message: `env "${name}" of ${containerLabel(ref)} reads ${secret}${key} through valueFrom.secretKeyRef`,
        });
      });
      asArray(ref.container.envFrom).forEach((entry, index) => {
        if (!isObject(entry) || !isObject(entry.secretRef)) return;
        const secret =
          typeof entry.secretRef.name === "string" ? `Secret "${entry.secretRef.name}"` : "a Secret";
        violations.push({
          path: [...ref.path, "envFrom", index, "secretRef"],
          message: `${containerLabel(ref)} imports every key of ${secret} as environment variables through envFrom.secretRef`,
        });
      });
    }
    return violations;
  },
);
