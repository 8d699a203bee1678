/**
 * A built-in rule's CEL form (its catalog template) must deny what the rule fails: every
 * fail fixture of the rule is denied by the template with its example params.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPolicySet } from "../src/engine/policies.ts";
import { evaluateAdmission, requestForObject } from "../src/policy/vap/index.ts";
import { parseStream } from "../src/resources/parse.ts";
import { RULE_VAP_TEMPLATES } from "../src/rules/vap-forms.ts";

const root = new URL("..", import.meta.url).pathname;
/** API groups of the built-in kinds a template can match (pod templates in CRDs are the scan's job). */
const BUILTIN_GROUPS = new Set([
  "",
  "apps",
  "batch",
  "networking.k8s.io",
  "rbac.authorization.k8s.io",
  "policy",
]);
const groupOf = (apiVersion: string) =>
  apiVersion.includes("/") ? (apiVersion.split("/")[0] as string) : "";

describe.each(Object.entries(RULE_VAP_TEMPLATES))("rule %s as template %s", (rule, template) => {
  const sources = ["policy.yaml", "binding.yaml", "params.yaml"].flatMap((f) => {
    try {
      return parseStream(readFileSync(join(root, "policies", template, f), "utf8"), f).resources;
    } catch {
      return [];
    }
  });
  const { set, errors } = loadPolicySet(sources);
  const dir = join(root, "test/fixtures/rules", rule, "fail");
  // CRD-only fixtures are outside what a template can match (pod templates in CRDs are the scan's job).
  const fixtures = readdirSync(dir)
    .sort()
    .map((file) => ({ file, resources: parseStream(readFileSync(join(dir, file), "utf8"), file).resources }))
    .map(({ file, resources }) => ({
      file,
      builtin: resources.filter((r) => BUILTIN_GROUPS.has(groupOf(r.ref.apiVersion))),
    }))
    .filter(({ builtin }) => builtin.length > 0);
  it("has fixtures a template can match", () => expect(fixtures.length).toBeGreaterThan(0));
  for (const { file, builtin } of fixtures) {
    it(`denies fail/${file}`, () => {
      expect(errors).toEqual([]);
      const denied = builtin.some((r) => {
        const namespace = r.ref.namespace ?? "default";
        const request = requestForObject(r.object, "CREATE", {
          namespaceObject: {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: namespace, labels: { "kubernetes.io/metadata.name": namespace } },
          },
        });
        return !evaluateAdmission(set.env, set.policies, set.bindings, request, set.params).allowed;
      });
      expect(denied).toBe(true);
    });
  }
});
