/**
 * The risk rules that are not in the scan registry yet: well-formed metadata and a pass and
 * a fail fixture each (test/fixtures/rules/<id>/), as test/rules-registry.test.ts
 * checks for registered rules; and the version-aware catalog.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeRuleContext } from "../engine/context.ts";
import { CIS_CONTROLS, MITRE_TECHNIQUES, NIST_SECTIONS, NSA_SECTIONS } from "../findings/index.ts";
import { formatPath, parseStream } from "../resources/index.ts";
import { RULE_IDS } from "../rules/index.ts";
import { RBAC_RISKS, riskRulesAt } from "./catalog.ts";
import { RBAC_RISK_RULES } from "./risks.ts";

const FIXTURES = new URL("../../test/fixtures/rules/", import.meta.url).pathname;

describe.each(RBAC_RISK_RULES.map((r) => [r.meta.id, r]))("risk rule %s", (id, rule) => {
  it("has valid metadata", () => {
    const meta = rule.meta;
    expect(meta.remediation).toMatch(/^[A-Z][a-z]+ [\s\S]*\.$/);
    expect(meta.description.length).toBeGreaterThan(40);
    for (const c of meta.frameworks.cis ?? []) expect(Object.keys(CIS_CONTROLS)).toContain(c);
    for (const s of meta.frameworks.nsa ?? []) expect(NSA_SECTIONS).toContain(s);
    for (const n of meta.frameworks.nist ?? []) expect(Object.keys(NIST_SECTIONS)).toContain(n);
    for (const m of meta.frameworks.mitre ?? []) expect(Object.keys(MITRE_TECHNIQUES)).toContain(m);
  });
  for (const expected of ["pass", "fail"] as const) {
    const dir = join(FIXTURES, id, expected);
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".yaml")) : [];
    it(`has ${expected} fixtures`, () => expect(files.length).toBeGreaterThan(0));
    for (const file of files) {
      it(`${expected}/${file}`, () => {
        const text = readFileSync(join(dir, file), "utf8");
        const { resources } = parseStream(text, file);
        const context = makeRuleContext(resources, Number.POSITIVE_INFINITY, RULE_IDS);
        const violations = resources.flatMap((r) => rule.check(r, context));
        if (expected === "pass") expect(violations).toEqual([]);
        else {
          expect(violations.length).toBeGreaterThan(0);
          const path = /^# expect-path: (.+)$/m.exec(text)?.[1]?.trim();
          if (path) expect(violations.map((v) => formatPath(v.path))).toContain(path);
        }
      });
    }
  }
});

describe("RBAC risk catalog", () => {
  it("has unique ids and every version note", () => {
    const ids = RBAC_RISKS.map((r) => r.rule.meta.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(12);
  });

  it("counts get on pods/exec only before v1.35", () => {
    const { resources } = parseStream(
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: ws, namespace: a}\nrules: [{apiGroups: [''], resources: [pods/exec, pods/portforward], verbs: [get]}]\n",
      "ws.yaml",
    );
    const context = makeRuleContext(resources, Number.POSITIVE_INFINITY, RULE_IDS);
    const ids = (minor?: number) =>
      riskRulesAt(minor === undefined ? {} : { minor })
        .filter((rule) => resources.some((r) => rule.check(r, context).length > 0))
        .map((r) => r.meta.id);
    expect(ids(34)).toEqual(["rbac-pods-exec", "rbac-pods-portforward"]);
    expect(ids(35)).toEqual([]);
    expect(ids()).toEqual(["rbac-pods-exec", "rbac-pods-portforward"]);
  });
});
