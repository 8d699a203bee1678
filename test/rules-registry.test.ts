/**
 * Meta-tests over the whole rule library: every rule is well formed, documented, mapped to
 * valid framework references, and proven by at least one pass and one fail fixture.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderRulesDoc } from "../src/docs/rules-doc.ts";
import { makeRuleContext } from "../src/engine/context.ts";
import {
  CIS_CONTROLS,
  MITRE_TECHNIQUES,
  NIST_SECTIONS,
  NSA_SECTIONS,
  SEVERITIES,
} from "../src/findings/index.ts";
import { formatPath, parseStream } from "../src/resources/index.ts";
import { ALL_RULES, ENGINE_RULE_METAS, RULE_IDS } from "../src/rules/index.ts";

const FIXTURES = new URL("./fixtures/rules/", import.meta.url).pathname;
const metas = [...ALL_RULES.map((r) => r.meta), ...ENGINE_RULE_METAS];

describe("rule registry", () => {
  it("has at least 45 rules with unique kebab-case ids", () => {
    expect(metas.length).toBeGreaterThanOrEqual(45);
    const ids = metas.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it.each(metas.map((m) => [m.id, m]))("%s has complete metadata", (_id, meta) => {
    expect(meta.title.length).toBeGreaterThan(5);
    expect(SEVERITIES).toContain(meta.severity);
    expect(meta.description.length).toBeGreaterThan(40);
    // One imperative sentence ending with a period.
    expect(meta.remediation).toMatch(/^[A-Z][a-z]+ [\s\S]*\.$/);
    expect(meta.remediation.slice(0, -1)).not.toMatch(/[.!?] [A-Z]/);
    expect(meta.profiles.length).toBeGreaterThan(0);
    const f = meta.frameworks;
    for (const id of f.cis ?? []) expect(Object.keys(CIS_CONTROLS), `cis ${id}`).toContain(id);
    for (const s of f.nsa ?? []) expect(NSA_SECTIONS, `nsa ${s}`).toContain(s);
    for (const id of f.nist ?? []) expect(Object.keys(NIST_SECTIONS), `nist ${id}`).toContain(id);
    for (const id of f.mitre ?? []) expect(Object.keys(MITRE_TECHNIQUES), `mitre ${id}`).toContain(id);
    if (f.pss) {
      expect(meta.id.startsWith("pss-")).toBe(true);
      expect(meta.profiles).toContain("pss-restricted");
      expect(meta.profiles.includes("pss-baseline")).toBe(f.pss.level === "baseline");
    }
  });

  it("documents every rule in docs/rules.md, and the file is current", () => {
    const doc = readFileSync(new URL("../docs/rules.md", import.meta.url), "utf8");
    expect(doc).toBe(renderRulesDoc());
    for (const meta of metas) expect(doc).toContain(`### ${meta.id}`);
  });

  it("has a fixture folder for every rule with a check, and none for unknown rules", () => {
    const folders = readdirSync(FIXTURES).sort();
    for (const folder of folders) expect(RULE_IDS, `fixture folder ${folder}`).toContain(folder);
    for (const rule of ALL_RULES) expect(folders, `fixtures for ${rule.meta.id}`).toContain(rule.meta.id);
  });
});

describe.each(ALL_RULES.map((r) => [r.meta.id, r]))("rule %s fixtures", (id, rule) => {
  const dir = join(FIXTURES, id);
  for (const expected of ["pass", "fail"] as const) {
    const sub = join(dir, expected);
    const files = existsSync(sub)
      ? readdirSync(sub)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
      : [];
    it(`has at least one ${expected} fixture`, () => expect(files.length).toBeGreaterThan(0));
    for (const file of files) {
      it(`${expected}/${file}`, () => {
        const text = readFileSync(join(sub, file), "utf8");
        const { resources, errors } = parseStream(text, file);
        expect(errors).toEqual([]);
        const context = makeRuleContext(resources, Number.POSITIVE_INFINITY, RULE_IDS);
        const violations = resources.flatMap((r) => rule.check(r, context));
        if (expected === "pass") {
          expect(violations).toEqual([]);
        } else {
          expect(violations.length).toBeGreaterThan(0);
          for (const v of violations) expect(v.message.length).toBeGreaterThan(10);
          const expectPath = /^# expect-path: (.+)$/m.exec(text)?.[1]?.trim();
          if (expectPath) expect(violations.map((v) => formatPath(v.path))).toContain(expectPath);
        }
      });
    }
  }
});
