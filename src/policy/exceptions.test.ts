import { describe, expect, it } from "vitest";
import { parseStream } from "../resources/parse.ts";
import { exceptionCovers, globMatch, isExpired, parseExceptions } from "./exceptions.ts";
import { readIgnoreAnnotation } from "./ignore-annotation.ts";

const known = new Set(["pss-privileged", "pss-host-path-volumes"]);

describe("parseExceptions", () => {
  it("parses a valid file", () => {
    const text = `apiVersion: belay.dev/v1alpha1
kind: ExceptionList
exceptions:
  - rules: [pss-host-path-volumes]
    resource: {kind: DaemonSet, namespace: monitoring, name: "node-*", labels: {app: ne}}
    reason: reads host metrics
    owner: platform
    expires: 2027-03-31
  - rule: pss-privileged
    reason: legacy
    owner: team-a
    expires: "2026-01-01"
`;
    const result = parseExceptions(text, "ex.yaml", known);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toEqual([
      {
        index: 0,
        ruleIds: ["pss-host-path-volumes"],
        resource: { kind: "DaemonSet", namespace: "monitoring", name: "node-*", labels: { app: "ne" } },
        reason: "reads host metrics",
        owner: "platform",
        expires: "2027-03-31",
      },
      {
        index: 1,
        ruleIds: ["pss-privileged"],
        resource: {},
        reason: "legacy",
        owner: "team-a",
        expires: "2026-01-01",
      },
    ]);
  });

  it("reports every problem with its field path", () => {
    const text = `exceptions:
  - rules: [nope]
    resource: {kind: 3, colour: red}
    owner: ""
    expires: 2027-02-30
    extra: 1
  - 7
`;
    const result = parseExceptions(text, "ex.yaml", known);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toBe("ex.yaml: invalid exceptions file");
    expect(result.error.details).toEqual([
      'exceptions[0].rules: unknown rule "nope" (see `belay rules list`)',
      "exceptions[0].resource.kind: must be a non-empty string",
      "exceptions[0].resource.colour: unknown field",
      "exceptions[0].reason: required: say why the exception is acceptable",
      "exceptions[0].owner: required: say who owns it",
      "exceptions[0].expires: must be a date (YYYY-MM-DD); every exception expires",
      "exceptions[0].extra: unknown field",
      "exceptions[1]: must be a mapping",
    ]);
  });

  it("rejects invalid YAML and a file without a list", () => {
    const bad = parseExceptions("exceptions: [\n", "e.yaml", known);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/^e\.yaml: invalid YAML: .* at line \d+$/);
    const noList = parseExceptions("kind: ExceptionList\n", "e.yaml", known);
    expect(noList.ok ? [] : noList.error.details).toEqual(["exceptions: must be a list"]);
  });
});

describe("expiry and matching", () => {
  const exception = {
    index: 0,
    ruleIds: ["pss-privileged"],
    resource: { kind: "Deployment", namespace: "default", name: "web-*", labels: { tier: "front" } },
    reason: "r",
    owner: "o",
    expires: "2026-11-23",
  };

  it("holds through the whole expiry day (UTC) and lapses after it", () => {
    expect(isExpired(exception, new Date("2026-11-23T23:59:59Z"))).toBe(false);
    expect(isExpired(exception, new Date("2026-11-24T00:00:00Z"))).toBe(true);
  });

  it("matches kind, namespace (default when unset), name glob and labels", () => {
    const make = (name: string, labels: string) =>
      parseStream(
        `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, labels: {${labels}}}\n`,
        "d.yaml",
      ).resources[0] as never;
    expect(exceptionCovers(exception, "pss-privileged", make("web-1", "tier: front"))).toBe(true);
    expect(exceptionCovers(exception, "pss-privileged", make("api-1", "tier: front"))).toBe(false);
    expect(exceptionCovers(exception, "pss-privileged", make("web-1", "tier: back"))).toBe(false);
    expect(exceptionCovers(exception, "pss-host-path-volumes", make("web-1", "tier: front"))).toBe(false);
  });

  it("globMatch treats * as any run and everything else literally", () => {
    expect(globMatch("a*c", "abbbc")).toBe(true);
    expect(globMatch("a*c", "ac")).toBe(true);
    expect(globMatch("a*b*c", "abc")).toBe(true);
    expect(globMatch("a*b*c", "acb")).toBe(false);
    expect(globMatch("a.c", "abc")).toBe(false);
    expect(globMatch("*", "")).toBe(true);
    expect(globMatch("ab*ab", "ab")).toBe(false);
  });
});

describe("readIgnoreAnnotation", () => {
  const object = (value: unknown) => ({ metadata: { annotations: { "belay.dev/ignore": value } } });
  it("parses rule ids and a reason", () => {
    expect(readIgnoreAnnotation(object("pss-privileged, pss-host-path-volumes: node agent"), known)).toEqual({
      valid: true,
      ruleIds: ["pss-privileged", "pss-host-path-volumes"],
      reason: "node agent",
    });
  });
  it("rejects a missing reason, unknown rules, an empty list and non-strings", () => {
    expect(readIgnoreAnnotation(object("pss-privileged"), known)).toEqual({
      valid: false,
      problem: 'gives no reason; write "pss-privileged: <why this is acceptable>"',
    });
    expect(readIgnoreAnnotation(object("pss-privileged, x: r"), known)).toEqual({
      valid: false,
      problem: 'names unknown rule "x"',
    });
    expect(readIgnoreAnnotation(object(": r"), known)).toEqual({
      valid: false,
      problem: 'names no rule; write "<rule-id>[,<rule-id>]: <reason>"',
    });
    expect(readIgnoreAnnotation(object(true), known)).toEqual({ valid: false, problem: "must be a string" });
    expect(readIgnoreAnnotation({ metadata: {} }, known)).toBeUndefined();
  });
});
