import { describe, expect, it } from "vitest";
import { ALL_RULES } from "../../src/rules/index.ts";
import { runCli } from "../helpers.ts";

describe("belay rules", () => {
  it("lists every rule", async () => {
    const { code, stdout } = await runCli(["rules", "list"]);
    expect(code).toBe(0);
    for (const rule of ALL_RULES) expect(stdout).toContain(rule.meta.id);
    expect(stdout).toMatch(/^ID +SEVERITY +STATUS +PROFILES +TITLE$/m);
  });

  it("lists a profile as JSON", async () => {
    const { code, stdout } = await runCli(["rules", "list", "--profile", "pss-baseline", "-o", "json"]);
    expect(code).toBe(0);
    const metas = JSON.parse(stdout) as { id: string; profiles: string[] }[];
    expect(metas.length).toBeGreaterThan(5);
    expect(metas.every((m) => m.profiles.includes("pss-baseline"))).toBe(true);
  });

  it("shows one rule", async () => {
    const { code, stdout } = await runCli(["rules", "show", "pss-privileged"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^pss-privileged: /);
    expect(stdout).toContain("How to fix: ");
    expect(stdout).toContain("PSS baseline: privileged");
  });

  it("rejects an unknown rule with exit 2", async () => {
    expect(await runCli(["rules", "show", "nope"])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'belay: unknown rule "nope" (see `belay rules list`)\n',
    });
  });

  it("prints help and version with exit 0", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("scan");
    const version = await runCli(["--version"]);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });
});
