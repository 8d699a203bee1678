/**
 * Fidelity of belay's Pod Security rules against upstream pod-security-admission's own
 * fixtures (test/fixtures/pss-upstream, see PROVENANCE.md there).
 *
 * Upstream generates, per level and per minor version v1.N, pods that must be allowed
 * (`pass/`) and pods that must be rejected (`fail/`), and its integration test (test/run.go)
 * creates each one in a namespace enforcing exactly that level at exactly v1.N. So each
 * fixture here is evaluated once, at its own level and version, never at later ones:
 * - level baseline runs the baseline rules; level restricted runs baseline and restricted;
 * - rules that do not exist yet at v1.N are left out, and so are baseline rules that a
 *   selected restricted rule supersedes at v1.N (upstream's OverrideCheckIDs).
 * A pass fixture must yield no violation, a fail fixture at least one, and one of them from
 * the rule for the check the fixture is named after (or the restricted rule replacing it).
 *
 * The per-rule fixtures (test/fixtures/rules/pss-*) are checked here too, at `latest`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeRuleContext } from "../src/engine/context.ts";
import type { PssLevel } from "../src/findings/finding.ts";
import { CIS_CONTROLS, MITRE_TECHNIQUES, NIST_SECTIONS, NSA_SECTIONS } from "../src/findings/frameworks.ts";
import { parseStream } from "../src/resources/parse.ts";
import { formatPath } from "../src/resources/path.ts";
import { PSS_RULES } from "../src/rules/pss/index.ts";
import type { PssVersion, Rule } from "../src/rules/rule.ts";

const UPSTREAM = path.join(import.meta.dirname, "fixtures", "pss-upstream");
const PER_RULE = path.join(import.meta.dirname, "fixtures", "rules");
const LEVELS: readonly PssLevel[] = ["baseline", "restricted"];

/** The rules upstream runs for `level` at `version`. */
function rulesFor(level: PssLevel, version: PssVersion): Rule[] {
  const selected = PSS_RULES.filter(
    (rule) =>
      (level === "restricted" || rule.meta.frameworks.pss?.level === "baseline") &&
      (rule.appliesAt?.(version) ?? true),
  );
  const superseded = new Set(selected.flatMap((rule) => rule.supersedes?.(version) ?? []));
  return selected.filter((rule) => !superseded.has(rule.meta.id));
}

interface Fired {
  ruleId: string;
  path: string;
  message: string;
}

/** Parse one file holding one object and run `rules` on it at `version`. */
function evaluate(file: string, rules: readonly Rule[], version: PssVersion): Fired[] {
  const { resources, errors } = parseStream(readFileSync(file, "utf8"), file);
  if (errors.length > 0 || resources.length !== 1) {
    throw new Error(
      `${file}: expected one object, got ${resources.length} and errors ${JSON.stringify(errors)}`,
    );
  }
  const [resource] = resources;
  if (!resource) throw new Error(`${file}: no object`);
  const context = makeRuleContext(resources, version);
  return rules.flatMap((rule) =>
    rule
      .check(resource, context)
      .map((v) => ({ ruleId: rule.meta.id, path: formatPath(v.path), message: v.message })),
  );
}

function yamlFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith(".yaml"))
        .sort()
    : [];
}

interface Mismatch {
  fixture: string;
  expected: "pass" | "fail";
  got: string;
  violations: Fired[];
}

interface Row {
  level: PssLevel;
  version: number;
  pass: number;
  fail: number;
  agree: number;
  mismatches: Mismatch[];
}

/** `capabilities_baseline2.yaml` → `capabilities_baseline`: the upstream check a fixture exercises. */
function checkOfFixture(file: string): string {
  return file.replace(/[0-9]*\.yaml$/, "");
}

function runUpstream(): { rows: Row[]; checksSeen: Set<string>; rulesFired: Set<string> } {
  const rows: Row[] = [];
  const checksSeen = new Set<string>();
  const rulesFired = new Set<string>();
  for (const level of LEVELS) {
    const versions = readdirSync(path.join(UPSTREAM, level))
      .map((dir) => /^v1\.([0-9]+)$/.exec(dir)?.[1])
      .filter((minor): minor is string => minor !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const version of versions) {
      const rules = rulesFor(level, version);
      const row: Row = { level, version, pass: 0, fail: 0, agree: 0, mismatches: [] };
      for (const expected of ["pass", "fail"] as const) {
        const dir = path.join(UPSTREAM, level, `v1.${version}`, expected);
        for (const name of yamlFiles(dir)) {
          const fixture = path.relative(UPSTREAM, path.join(dir, name));
          const violations = evaluate(path.join(dir, name), rules, version);
          const fired = new Set(violations.map((v) => v.ruleId));
          for (const id of fired) rulesFired.add(id);
          row[expected]++;
          let got: string | undefined;
          if (expected === "pass") {
            if (violations.length > 0) got = "fail";
          } else if (violations.length === 0) {
            got = "pass";
          } else {
            // Attribution: the rule for the fixture's check, or the rule replacing it here.
            const check = checkOfFixture(name);
            checksSeen.add(check);
            const owners = rules.filter(
              (rule) =>
                rule.meta.frameworks.pss?.check.toLowerCase() === check ||
                (rule.supersedes?.(version) ?? []).some(
                  (id) =>
                    PSS_RULES.find((r) => r.meta.id === id)?.meta.frameworks.pss?.check.toLowerCase() ===
                    check,
                ),
            );
            if (!owners.some((rule) => fired.has(rule.meta.id)))
              got = `fail, but not by the rule for "${check}"`;
          }
          if (got === undefined) row.agree++;
          else row.mismatches.push({ fixture, expected, got, violations });
        }
      }
      rows.push(row);
    }
  }
  return { rows, checksSeen, rulesFired };
}

const upstream = runUpstream();

function table(rows: readonly Row[]): string {
  const lines = ["level       version  pass  fail  agree"];
  for (const row of rows) {
    const total = row.pass + row.fail;
    lines.push(
      `${row.level.padEnd(11)} v1.${String(row.version).padEnd(5)} ${String(row.pass).padStart(4)}  ${String(row.fail).padStart(4)}  ${row.agree}/${total}${row.agree === total ? "" : "  MISMATCH"}`,
    );
  }
  const pass = rows.reduce((n, r) => n + r.pass, 0);
  const fail = rows.reduce((n, r) => n + r.fail, 0);
  const agree = rows.reduce((n, r) => n + r.agree, 0);
  lines.push(
    `total               ${String(pass).padStart(4)}  ${String(fail).padStart(4)}  ${agree}/${pass + fail}`,
  );
  return lines.join("\n");
}

describe("PSS rules agree with upstream pod-security-admission fixtures", () => {
  it("has fixtures for every level and every version v1.0 to v1.37", () => {
    for (const level of LEVELS) {
      const versions = upstream.rows.filter((row) => row.level === level).map((row) => row.version);
      expect(versions).toEqual(Array.from({ length: 38 }, (_, i) => i));
    }
  });

  for (const row of upstream.rows) {
    it(`${row.level} v1.${row.version}: ${row.pass} pass and ${row.fail} fail fixtures`, () => {
      expect(row.pass).toBeGreaterThan(0);
      expect(row.fail).toBeGreaterThan(0);
      expect(row.mismatches).toEqual([]);
    });
  }

  it("agrees on 100% of fixtures", () => {
    console.log(`PSS upstream oracle\n${table(upstream.rows)}`);
    const mismatches = upstream.rows.flatMap((row) => row.mismatches);
    const report = mismatches
      .map(
        (m) =>
          `${m.fixture}: expected ${m.expected}, got ${m.got}${m.violations.map((v) => `\n    ${v.ruleId} ${v.path}: ${v.message}`).join("")}`,
      )
      .join("\n");
    expect(report).toBe("");
  });

  it("implements every upstream check, and every rule rejects some upstream fixture", () => {
    const checks = new Set(PSS_RULES.map((rule) => rule.meta.frameworks.pss?.check.toLowerCase()));
    expect([...upstream.checksSeen].filter((check) => !checks.has(check))).toEqual([]);
    expect(PSS_RULES.map((rule) => rule.meta.id).filter((id) => !upstream.rulesFired.has(id))).toEqual([]);
  });
});

describe("PSS rule metadata", () => {
  it("names each rule pss-<upstream check id in kebab case>, with valid framework references", () => {
    for (const rule of PSS_RULES) {
      const check = rule.meta.frameworks.pss?.check ?? "";
      const kebab = check
        .replace(/_/g, "-")
        .replace(/([a-z])([A-Z])/g, "$1-$2")
        .toLowerCase();
      expect(rule.meta.id).toBe(`pss-${kebab}`);
      expect(rule.meta.profiles).toEqual(
        rule.meta.frameworks.pss?.level === "baseline"
          ? ["pss-baseline", "pss-restricted"]
          : ["pss-restricted"],
      );
      const { cis = [], nsa = [], nist = [], mitre = [] } = rule.meta.frameworks;
      expect(cis.filter((id) => !(id in CIS_CONTROLS))).toEqual([]);
      expect(nsa.filter((section) => !NSA_SECTIONS.includes(section))).toEqual([]);
      expect(nist.filter((id) => !(id in NIST_SECTIONS))).toEqual([]);
      expect(mitre.filter((id) => !(id in MITRE_TECHNIQUES))).toEqual([]);
      expect(rule.meta.remediation).toMatch(/^[A-Z].*\.$/);
      expect(rule.meta.remediation).not.toMatch(/[.;]\s/);
    }
  });

  it("supersedes exactly upstream's overrides", () => {
    const supersedes = (id: string, version: number) =>
      PSS_RULES.find((rule) => rule.meta.id === id)?.supersedes?.(version) ?? [];
    expect(supersedes("pss-capabilities-restricted", 22)).toEqual(["pss-capabilities-baseline"]);
    expect(supersedes("pss-seccomp-profile-restricted", 19)).toEqual(["pss-seccomp-profile-baseline"]);
    expect(supersedes("pss-restricted-volumes", 0)).toEqual(["pss-host-path-volumes"]);
    expect(supersedes("pss-proc-mount-restricted", 35)).toEqual(["pss-proc-mount"]);
    expect(rulesFor("restricted", 18).map((rule) => rule.meta.id)).toContain("pss-seccomp-profile-baseline");
    expect(rulesFor("restricted", 34).map((rule) => rule.meta.id)).toContain("pss-proc-mount");
    expect(rulesFor("restricted", Number.POSITIVE_INFINITY).map((rule) => rule.meta.id)).not.toContain(
      "pss-proc-mount",
    );
  });
});

describe("PSS per-rule fixtures (at latest)", () => {
  for (const rule of PSS_RULES) {
    const id = rule.meta.id;
    it(`${id} has pass and fail fixtures that pass and fail`, () => {
      const context = (file: string) => {
        const { resources, errors } = parseStream(readFileSync(file, "utf8"), file);
        expect(errors).toEqual([]);
        expect(resources.length).toBeGreaterThan(0);
        return resources.flatMap((resource) =>
          rule
            .check(resource, makeRuleContext(resources))
            .map((v) => ({ path: formatPath(v.path), message: v.message })),
        );
      };
      const passFiles = yamlFiles(path.join(PER_RULE, id, "pass"));
      const failFiles = yamlFiles(path.join(PER_RULE, id, "fail"));
      expect(passFiles.length).toBeGreaterThan(0);
      expect(failFiles.length).toBeGreaterThan(0);
      for (const name of passFiles) {
        expect({ name, violations: context(path.join(PER_RULE, id, "pass", name)) }).toEqual({
          name,
          violations: [],
        });
      }
      for (const name of failFiles) {
        const file = path.join(PER_RULE, id, "fail", name);
        const violations = context(file);
        expect(violations.length, name).toBeGreaterThan(0);
        const expectPath = /^# expect-path: (.+)$/
          .exec(readFileSync(file, "utf8").split("\n")[0] ?? "")?.[1]
          ?.trim();
        if (expectPath !== undefined)
          expect(
            violations.map((v) => v.path),
            name,
          ).toContain(expectPath);
      }
    });
  }
});
