/**
 * Generate docs/rules.md from the rule metadata and docs/policies.md from the policy catalog.
 * `--check` exits 1 when either is stale (CI runs it), so the docs never drift.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CatalogTemplate, renderPoliciesDoc } from "../src/docs/policies-doc.ts";
import { renderRulesDoc } from "../src/docs/rules-doc.ts";
import { parseStream } from "../src/resources/parse.ts";

const root = new URL("..", import.meta.url).pathname;

/** Read the catalog: one template per folder of policies/. */
export function readCatalog(dir = join(root, "policies")): CatalogTemplate[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => {
      const read = (file: string) => {
        const path = join(dir, e.name, file);
        return existsSync(path)
          ? parseStream(readFileSync(path, "utf8"), path).resources.map((r) => r.object)
          : [];
      };
      const policy = read("policy.yaml").find((o) => o.kind === "ValidatingAdmissionPolicy") ?? {};
      const params = read("params.yaml").find((o) => o.kind === "ConfigMap");
      const tests = read("tests.yaml").find((o) => o.kind === "PolicyTest");
      const cases = Array.isArray(tests?.cases) ? tests.cases.length : 0;
      return params ? { name: e.name, policy, params, cases } : { name: e.name, policy, cases };
    });
}

const outputs: [string, string][] = [
  ["docs/rules.md", renderRulesDoc()],
  ["docs/policies.md", renderPoliciesDoc(readCatalog())],
];

if (process.argv.includes("--check")) {
  let stale = false;
  for (const [file, expected] of outputs) {
    const path = join(root, file);
    const actual = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (actual !== expected) {
      console.error(`${file} is stale: run \`npm run docs\` and commit the result`);
      stale = true;
    } else console.log(`${file} is up to date`);
  }
  if (stale) process.exit(1);
} else {
  for (const [file, text] of outputs) {
    writeFileSync(join(root, file), text);
    console.log(`wrote ${file}`);
  }
}
