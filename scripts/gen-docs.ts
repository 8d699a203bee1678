/**
 * Generate docs/rules.md from the rule metadata. `--check` exits 1 when the file is stale
 * (CI runs it), so the docs can never drift from the rules.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { renderRulesDoc } from "../src/docs/rules-doc.ts";

const target = new URL("../docs/rules.md", import.meta.url);
const expected = renderRulesDoc();
if (process.argv.includes("--check")) {
  let actual = "";
  try {
    actual = readFileSync(target, "utf8");
  } catch {
    // missing counts as stale
  }
  if (actual !== expected) {
    console.error("docs/rules.md is stale: run `npm run docs` and commit the result");
    process.exit(1);
  }
  console.log("docs/rules.md is up to date");
} else {
  writeFileSync(target, expected);
  console.log("wrote docs/rules.md");
}
