/** The shipped binary in a real process: bin/belay.js → dist/. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { VERSION } from "../../src/version.ts";

const root = new URL("../..", import.meta.url).pathname;
const node = `${root}node_modules/.bin/node`;

function belay(args: string[], input?: string) {
  return spawnSync(node, [`${root}bin/belay.js`, ...args], {
    cwd: root,
    input,
    encoding: "utf8",
    env: { PATH: process.env.PATH },
  });
}

describe("bin/belay.js", () => {
  it("scans the examples and exits 1 with findings", () => {
    const result = belay(["scan", "examples/", "-o", "json"]);
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as { summary: { findings: number; resources: number } };
    expect(report.summary.findings).toBeGreaterThan(10);
    expect(result.stderr).toBe("");
  });

  it("reads stdin and exits 0 on a clean object", () => {
    const result = belay(
      ["scan", "-", "--rules", "pss-privileged"],
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("No findings");
  });

  it("exits 2 on a usage error", () => {
    const result = belay(["scan", "--output", "nope", "examples/"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'belay: unknown output format "nope"; use one of table, json, yaml, sarif, junit, html\n',
    );
  });

  it("reports the package version", () => {
    const pkg = JSON.parse(spawnSync("cat", [`${root}package.json`], { encoding: "utf8" }).stdout) as {
      version: string;
    };
    expect(pkg.version).toBe(VERSION);
    expect(belay(["--version"]).stdout).toBe(`${VERSION}\n`);
  });
});
