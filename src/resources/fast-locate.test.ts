import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fastLocate, scanText } from "./fast-locate.ts";
import { slowLocate } from "./locate.ts";
import { parseStream } from "./parse.ts";
import type { FieldPath } from "./path.ts";
import type { Resource } from "./types.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(entry) ? [path] : [];
    });
}

/** Every path in a value, plus a missing child under each container. */
function allPaths(value: unknown, prefix: FieldPath = []): FieldPath[] {
  const paths: FieldPath[] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) paths.push(...allPaths(item, [...prefix, i]));
    paths.push([...prefix, value.length]);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) paths.push(...allPaths(v, [...prefix, k]));
    paths.push([...prefix, "notAField"]);
  } else {
    paths.push([...prefix, "below"]);
  }
  return paths;
}

function compare(resources: Resource[]): { checked: number; fast: number } {
  let checked = 0;
  let fast = 0;
  for (const resource of resources) {
    const source = resource.source;
    if (!source) continue;
    const scanned = scanText(source.text);
    for (const path of allPaths(resource.object)) {
      checked++;
      const quick = fastLocate(scanned, [...source.basePath, ...path]);
      if (!quick) continue;
      fast++;
      const exact = slowLocate(resource, path);
      expect(
        { line: source.lineOffset + quick.line + 1, column: quick.column + 1 },
        `${source.file} ${JSON.stringify(path)}`,
      ).toEqual({ line: exact?.line, column: exact?.column });
    }
  }
  return { checked, fast };
}

describe("fastLocate agrees with the full parser", () => {
  it("on every field of every fixture and example", () => {
    const files = [...yamlFiles(join(ROOT, "test/fixtures")), ...yamlFiles(join(ROOT, "examples"))];
    let checked = 0;
    let fast = 0;
    for (const file of files) {
      const { resources } = parseStream(readFileSync(file, "utf8"), file);
      const counts = compare(resources);
      checked += counts.checked;
      fast += counts.fast;
    }
    console.log(`fastLocate: ${fast} of ${checked} paths answered fast (${files.length} files)`);
    expect(checked).toBeGreaterThan(10_000);
    expect(fast / checked).toBeGreaterThan(0.8);
  });

  it("on tricky but valid block YAML", () => {
    const text = `# comment
---
apiVersion: v1
kind: Pod
metadata:
  name: "tricky"   # trailing comment
  'single''quoted': x
  annotations:
    a: |
      key: not a key
      - not an item
    b: >-
      folded
spec:
  containers:
  - name: same-indent-sequence
    args:
    -
      nested: item
    - plain
    env: []
  -   name: extra-spaces
      image: i
  volumes: [{name: flow}]   
  dup: 1
  dup: 2
  ports: [ {containerPort: 80, "name": 'web'},
    {containerPort: 443}, [nested, "seq"] ]   # comment
  empty: {a: , b}
status:
`;
    const { resources } = parseStream(text, "t.yaml");
    const counts = compare(resources);
    expect(counts.fast).toBeGreaterThan(20);
    const scanned = scanText(text);
    expect(fastLocate(scanned, ["spec", "volumes", 0, "name"])).toEqual({ line: 23, column: 13 });
    expect(fastLocate(scanned, ["spec", "dup"])).toEqual({ line: 25, column: 2 });
  });

  it("gives up on anchors, aliases, tags, explicit keys, merge keys and tabs", () => {
    const cases = [
      "a: &x\n  b: 1\nc: *x\n",
      "a: !!map\n  b: 1\n",
      "? a\n: b\n",
      "a:\n  <<: {b: 1}\n",
      "a:\n\tb: 1\n",
      "a:\n  yes: 1\n",
    ];
    for (const text of cases) {
      const scanned = scanText(text);
      const paths: FieldPath[] = [["a", "b"], ["c", "b"], ["a"], ["a", "true"]];
      const answers = paths.map((p) => fastLocate(scanned, p));
      expect(
        answers.some((a) => a === undefined),
        text,
      ).toBe(true);
    }
  });
});
