/**
 * Robustness: the loader, the locator and every rule survive arbitrary input. Text is mutated
 * for the loader; parsed objects are mutated structurally (any field can hold any type) for
 * the rules. A rule that throws shows up as an `error` finding, which must never happen.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluate } from "../src/engine/evaluate.ts";
import { locate } from "../src/resources/locate.ts";
import { makeResource, parseStream } from "../src/resources/parse.ts";
import type { KubeObject, Resource } from "../src/resources/types.ts";
import { ALL_RULES, RULE_IDS } from "../src/rules/index.ts";

/** A small seeded PRNG (mulberry32) so failures replay. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((e) => {
      const p = join(dir, e);
      return statSync(p).isDirectory() ? files(p) : /\.ya?ml$/.test(e) ? [p] : [];
    });
}

const root = new URL("..", import.meta.url).pathname;
const corpus = [...files(join(root, "test/fixtures/rules")), ...files(join(root, "examples"))].map((f) =>
  readFileSync(f, "utf8"),
);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

const WEIRD: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1e308,
  "",
  "yes",
  "ALL",
  [],
  {},
  [null],
  { "": 1 },
  [[1]],
  "a\u0000b",
];

function mutateValue(value: unknown, random: () => number, depth = 0): unknown {
  if (random() < 0.08 || depth > 12) return WEIRD[Math.floor(random() * WEIRD.length)];
  if (Array.isArray(value)) return value.map((v) => mutateValue(v, random, depth + 1));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      if (random() > 0.03) out[k] = mutateValue(v, random, depth + 1);
    return out;
  }
  return value;
}

function mutateText(text: string, random: () => number): string {
  const lines = text.split("\n");
  const ops = 1 + Math.floor(random() * 4);
  for (let i = 0; i < ops; i++) {
    const at = Math.floor(random() * lines.length);
    const r = random();
    if (r < 0.25) lines.splice(at, 1);
    else if (r < 0.5) lines.splice(at, 0, lines[Math.floor(random() * lines.length)] ?? "");
    else if (r < 0.7) lines[at] = ` ${lines[at] ?? ""}`;
    else if (r < 0.85)
      lines[at] = (lines[at] ?? "").replace(
        /: .*/,
        `: ${["[", "{", "'", '"', "&a", "*a", "!!str", "|", "? x"][Math.floor(random() * 9)]}`,
      );
    else lines[at] = (lines[at] ?? "").slice(0, Math.floor(random() * (lines[at]?.length ?? 0)));
  }
  return lines.join("\n");
}

describe(`fuzz (seed ${SEED})`, () => {
  it("parseStream and locate never throw on mutated text", () => {
    const random = rng(SEED);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const text = mutateText(corpus[Math.floor(random() * corpus.length)] as string, random);
      const { resources, errors } = parseStream(text, "fuzz.yaml");
      parsed += resources.length;
      for (const e of errors) expect(e.line ?? 1).toBeGreaterThan(0);
      for (const r of resources) {
        locate(r, ["spec", "template", "spec", "containers", 0, "securityContext", "privileged"]);
        locate(r, ["metadata", "annotations", "belay.dev/ignore"]);
      }
    }
    expect(parsed).toBeGreaterThan(1000);
  });

  it("no rule throws on structurally mutated objects", () => {
    const random = rng(SEED + 1);
    const base = corpus.flatMap((text) => parseStream(text, "base.yaml").resources);
    const resources: Resource[] = [];
    for (let i = 0; i < 4000; i++) {
      const original = base[Math.floor(random() * base.length)] as Resource;
      const object = mutateValue(original.object, random) as KubeObject;
      if (object === null || typeof object !== "object" || Array.isArray(object)) continue;
      resources.push(
        makeResource({ ...object, apiVersion: original.ref.apiVersion, kind: original.ref.kind }),
      );
    }
    const findings = evaluate(resources, {
      rules: ALL_RULES,
      pssVersion: Number.POSITIVE_INFINITY,
      knownRuleIds: RULE_IDS,
      showPassed: true,
    });
    const errors = findings.filter((f) => f.status === "error");
    expect(errors.map((f) => `${f.ruleId}: ${f.message}`).slice(0, 5)).toEqual([]);
    expect(findings.length).toBeGreaterThan(1000);
  });
});
