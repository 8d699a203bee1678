import { describe, expect, it } from "vitest";
import { parseStream } from "../../src/resources/parse.ts";
import { runCli } from "../helpers.ts";

describe("belay export pss-labels", () => {
  it("writes Namespaces with the labels of each mode", async () => {
    const result = await runCli([
      "export",
      "pss-labels",
      "shop",
      "--level",
      "baseline",
      "--pss-version",
      "v1.30",
      "--modes",
      "enforce,warn",
    ]);
    expect(result).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "---",
        "apiVersion: v1",
        "kind: Namespace",
        "metadata:",
        "  name: shop",
        "  labels:",
        "    pod-security.kubernetes.io/enforce: baseline",
        "    pod-security.kubernetes.io/enforce-version: v1.30",
        "    pod-security.kubernetes.io/warn: baseline",
        "    pod-security.kubernetes.io/warn-version: v1.30",
        "",
      ].join("\n"),
    });
  });

  it("keeps the labels of Namespaces read from manifests", async () => {
    const result = await runCli(["export", "pss-labels", "-f", "examples/hardened-app/namespace.yaml"]);
    const [ns] = parseStream(result.stdout, "out.yaml").resources;
    expect(ns?.object.metadata).toEqual({
      name: "shop",
      labels: {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
      },
    });
  });

  it.each([
    [["shop", "--level", "strict"], 'belay: unknown level "strict"; use privileged, baseline, restricted\n'],
    [["shop", "--pss-version", "1.30"], 'belay: invalid --pss-version "1.30"; use v1.N or latest\n'],
    [
      ["shop", "--modes", "enforce,block"],
      'belay: invalid --modes "enforce,block"; use enforce, audit, warn\n',
    ],
    [[], "belay: no namespaces: name them or pass -f with Namespace manifests\n"],
  ])("rejects %j", async (args, message) => {
    expect(await runCli(["export", "pss-labels", ...args])).toEqual({ code: 2, stdout: "", stderr: message });
  });
});

describe("belay export vap", () => {
  it("writes the template's namespace, params, policy and binding with the chosen actions", async () => {
    const result = await runCli([
      "export",
      "vap",
      "--templates",
      "required-labels",
      "--actions",
      "Warn,Audit",
    ]);
    expect(result.code).toBe(0);
    const objects = parseStream(result.stdout, "out.yaml").resources.map((r) => r.object);
    expect(objects.map((o) => o.kind).sort()).toEqual([
      "ConfigMap",
      "Namespace",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
    ]);
    const binding = objects.find((o) => o.kind === "ValidatingAdmissionPolicyBinding");
    expect((binding?.spec as { validationActions?: string[] } | undefined)?.validationActions).toEqual([
      "Warn",
      "Audit",
    ]);
  });

  it.each([
    [["--actions", "Deny,Warn"], "belay: --actions must not contain both Deny and Warn\n"],
    [["--actions", "Block"], 'belay: invalid --actions "Block"; use Deny, Warn and/or Audit\n'],
    [["--templates", "nope"], 'belay: unknown template "nope" in policies\n'],
  ])("rejects %j", async (args, message) => {
    expect(await runCli(["export", "vap", ...args])).toEqual({ code: 2, stdout: "", stderr: message });
  });
});

describe("belay export vap from built-in rules", () => {
  it("exports the templates that enforce the selected rules", async () => {
    const result = await runCli([
      "export",
      "vap",
      "--from-rules",
      "pss-privileged,image-latest-tag,image-no-tag",
    ]);
    expect(result.code).toBe(0);
    const names = parseStream(result.stdout, "out.yaml")
      .resources.filter((r) => r.ref.kind === "ValidatingAdmissionPolicy")
      .map((r) => r.ref.name)
      .sort();
    expect(names).toEqual(["disallow-latest-tag", "disallow-privileged"]);
  });

  it("rejects unknown rules and rules without a CEL form", async () => {
    expect(await runCli(["export", "vap", "--from-rules", "nope"])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'belay: unknown rule "nope" (see `belay rules list`)\n',
    });
    expect(await runCli(["export", "vap", "--from-rules", "liveness-probe"])).toEqual({
      code: 2,
      stdout: "",
      stderr: 'belay: no catalog template enforces "liveness-probe"\n',
    });
  });

  it("maps only known rules to existing templates", async () => {
    const { RULE_VAP_TEMPLATES } = await import("../../src/rules/vap-forms.ts");
    const { RULE_IDS } = await import("../../src/rules/index.ts");
    const { existsSync } = await import("node:fs");
    for (const [rule, template] of Object.entries(RULE_VAP_TEMPLATES)) {
      expect(RULE_IDS.has(rule), rule).toBe(true);
      expect(existsSync(`policies/${template}/policy.yaml`), template).toBe(true);
    }
  });
});
