/**
 * The pure core never touches the file system, the network or the process (DESIGN §4,
 * STYLE "Layout"): this test reads the imports of every non-test source file of the core.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../src/", import.meta.url).pathname;
const CORE = ["resources", "rules", "cel", "policy", "engine", "findings", "rbac", "output"];
const FORBIDDEN =
  /^(node:)?(fs|fs\/promises|child_process|net|http|https|http2|tls|dgram|dns|worker_threads|cluster)$/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    const isTestFile = /\.test\.ts$|test-support\.ts$|test-helpers\.ts$|conformance-runner\.ts$/.test(entry);
    return entry.endsWith(".ts") && !isTestFile ? [path] : [];
  });
}

describe("the pure core", () => {
  for (const module of CORE) {
    it(`src/${module} does no I/O`, () => {
      const problems: string[] = [];
      for (const file of sources(join(SRC, module))) {
        const text = readFileSync(file, "utf8");
        for (const match of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms)) {
          const [, typeOnly, specifier] = match as unknown as [string, string | undefined, string];
          if (FORBIDDEN.test(specifier)) problems.push(`${file}: imports ${specifier}`);
          if (specifier === "@kubernetes/client-node" && !typeOnly)
            problems.push(`${file}: imports the Kubernetes client`);
          if (/^\.\.\/(cli|sources|kube|admission|audit|console)\//.test(specifier)) {
            problems.push(`${file}: imports the edge module ${specifier}`);
          }
        }
        const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
        if (/\bprocess\.(env|argv|exit|stdout|stderr|cwd)\b/.test(code))
          problems.push(`${file}: uses process`);
      }
      expect(problems).toEqual([]);
    });
  }
});
