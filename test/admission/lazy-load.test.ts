/**
 * fastify and prom-client (~20 MB) are loaded only when `belay webhook` runs: no module the
 * CLI loads at startup imports them statically. Walks the static, non-type imports from
 * src/cli/main.ts; `await import(...)` inside a command does not count.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { expect, it } from "vitest";

const HEAVY = ["fastify", "prom-client", "@kubernetes/client-node"];

function staticImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?"([^"]+)"/gms)) {
    const [, typeOnly, specifier] = match as unknown as [string, string | undefined, string];
    if (!typeOnly) specifiers.push(specifier);
  }
  return specifiers;
}

it("the CLI's startup graph does not import fastify, prom-client or the Kubernetes client", () => {
  const start = new URL("../../src/cli/main.ts", import.meta.url).pathname;
  const seen = new Set<string>();
  const heavy: string[] = [];
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of staticImports(file)) {
      if (specifier.startsWith(".")) {
        const target = resolve(dirname(file), specifier);
        if (existsSync(target)) queue.push(target);
      } else if (HEAVY.includes(specifier))
        heavy.push(`${file.replace(join(start, "../../.."), "")} imports ${specifier}`);
    }
  }
  expect(seen.size).toBeGreaterThan(50);
  expect(seen.has(new URL("../../src/cli/webhook.ts", import.meta.url).pathname)).toBe(true);
  expect(seen.has(new URL("../../src/admission/server.ts", import.meta.url).pathname)).toBe(false);
  expect(heavy).toEqual([]);
});
