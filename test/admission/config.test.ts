/**
 * The webhook config file: parsing with every error and its path, the action table's
 * precedence, and `belay webhook --config` with flags overriding the file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { parseWebhookConfig, ruleAction } from "../../src/admission/config.ts";
import { registerWebhook } from "../../src/cli/webhook.ts";
import type { Finding } from "../../src/findings/finding.ts";
import { makeCert, pod, review, send, startWebhookCommand } from "./support.ts";

const HEADER = "apiVersion: belay.dev/v1alpha1\nkind: WebhookConfig\n";

describe("parseWebhookConfig", () => {
  it("reads every field", () => {
    const parsed = parseWebhookConfig(
      `${HEADER}profiles: [pss-restricted, hardening]
pssVersion: v1.30
rules: []
skipRules: [image-no-digest]
exceptions: exceptions.yaml
policies: [/etc/belay/policies]
clusterPolicies: true
clusterPoliciesRefresh: 1m
authorizer: none
exemptNamespaces: [kube-system, belay-system, monitoring]
failureMode: allow
actions:
  default: warn
  pss-restricted: deny
  severity:critical: deny
  liveness-probe: off
  policy:require-team: audit
  policies: warn
decisionLog: {file: /var/log/belay/decisions.jsonl, includeObjects: true}
mutate: {enabled: true}
`,
      "config.yaml",
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        profiles: ["pss-restricted", "hardening"],
        pssVersion: "v1.30",
        rules: [],
        skipRules: ["image-no-digest"],
        exceptions: "exceptions.yaml",
        policies: ["/etc/belay/policies"],
        clusterPolicies: true,
        clusterPoliciesRefreshMs: 60_000,
        authorizer: "none",
        exemptNamespaces: ["kube-system", "belay-system", "monitoring"],
        failureMode: "allow",
        actions: {
          default: "warn",
          "pss-restricted": "deny",
          "severity:critical": "deny",
          "liveness-probe": "off",
          "policy:require-team": "audit",
          policies: "warn",
        },
        decisionLog: { file: "/var/log/belay/decisions.jsonl", includeObjects: true },
        mutate: { enabled: true },
      },
    });
  });

  it("an empty config is valid and sets nothing", () => {
    expect(parseWebhookConfig(HEADER, "c.yaml")).toEqual({ ok: true, value: {} });
  });

  it("lists every problem with its path", () => {
    const parsed = parseWebhookConfig(
      `apiVersion: belay.dev/v1
kind: WebhookConfig
profiles: [strict]
pssVersion: "1.30"
rules: [no-such-rule]
exemptNamespaces: [Kube_System]
failureMode: maybe
clusterPoliciesRefresh: 10ms
authorizer: rbac
actions:
  liveness-probe: block
  severity:urgent: warn
  nope: deny
decisionLog: {file: 3, extra: 1}
mutate: {enabled: "yes"}
bogus: 1
`,
      "config.yaml",
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.details).toEqual([
      'config.yaml: apiVersion: must be "belay.dev/v1alpha1", got "belay.dev/v1"',
      "config.yaml: bogus: unknown field; use apiVersion, kind, profiles, pssVersion, rules, skipRules, exceptions, policies, clusterPolicies, clusterPoliciesRefresh, authorizer, exemptNamespaces, failureMode, actions, decisionLog, mutate or workers",
      'config.yaml: profiles[0]: unknown profile "strict"; use pss-baseline, pss-restricted, hardening or all',
      'config.yaml: pssVersion: "1.30" is not v1.N or latest',
      'config.yaml: rules[0]: unknown rule "no-such-rule" (see `belay rules list`)',
      'config.yaml: clusterPoliciesRefresh: "10ms" is not a duration of at least 1s (e.g. 30s, 2m)',
      'config.yaml: exemptNamespaces[0]: "Kube_System" is not a valid namespace name',
      'config.yaml: authorizer: must be sar or none, got "rbac"',
      'config.yaml: failureMode: must be deny or allow, got "maybe"',
      'config.yaml: actions.liveness-probe: unknown action "block"; use deny, warn, audit or off',
      'config.yaml: actions.severity:urgent: unknown severity "urgent"; use critical, high, medium, low or info',
      'config.yaml: actions.nope: unknown rule "nope"; use a rule id (see `belay rules list`), policy:<name>, policies, pss, pss-baseline, pss-restricted, severity:<level> or default',
      "config.yaml: decisionLog.extra: unknown field; use file or includeObjects",
      "config.yaml: decisionLog.file: must be a non-empty string",
      "config.yaml: mutate.enabled: must be true or false",
    ]);
  });

  it("rejects a document that is not a map, and broken YAML", () => {
    const list = parseWebhookConfig("- a\n", "c.yaml");
    expect(list.ok ? [] : list.error.details).toEqual(["c.yaml: must be a YAML map (kind: WebhookConfig)"]);
    const broken = parseWebhookConfig("a: [b\n", "c.yaml");
    expect(broken.ok ? "" : broken.error.details?.[0]).toMatch(/^c\.yaml: not valid YAML: /);
  });
});

describe("ruleAction", () => {
  const finding = (over: Partial<Finding>): Finding => ({
    ruleId: "x",
    status: "fail",
    severity: "medium",
    title: "",
    message: "",
    resource: { apiVersion: "v1", kind: "Pod", name: "p" },
    path: "",
    remediation: "",
    frameworks: {},
    ...over,
  });
  const pss = { pss: { level: "restricted" as const, check: "c" } };

  it("without a table: PSS, critical and high deny, the rest warns", () => {
    expect(ruleAction(finding({ frameworks: pss, severity: "low" }), {})).toBe("deny");
    expect(ruleAction(finding({ severity: "high" }), {})).toBe("deny");
    expect(ruleAction(finding({ severity: "medium" }), {})).toBe("warn");
  });

  it("the most specific key wins: id, pss level, pss, severity, default", () => {
    const table = {
      x: "off",
      "pss-restricted": "audit",
      pss: "warn",
      "severity:medium": "deny",
      default: "audit",
    } as const;
    expect(ruleAction(finding({ frameworks: pss }), table)).toBe("off");
    expect(ruleAction(finding({ ruleId: "y", frameworks: pss }), table)).toBe("audit");
    expect(
      ruleAction(finding({ ruleId: "y", frameworks: { pss: { level: "baseline", check: "c" } } }), table),
    ).toBe("warn");
    expect(ruleAction(finding({ ruleId: "y" }), table)).toBe("deny");
    expect(ruleAction(finding({ ruleId: "y", severity: "low" }), table)).toBe("audit");
  });

  it("a warn finding never denies", () => {
    expect(ruleAction(finding({ status: "warn" }), { x: "deny" })).toBe("warn");
  });
});

describe("belay webhook --config", () => {
  const cert = makeCert();
  const io = (stderr: string[] = []) => ({
    stdout: { write: () => 0 },
    stderr: { write: (t: string) => stderr.push(t) },
    readStdin: async () => "",
    isTTY: false,
    env: {},
    cwd: process.cwd(),
  });
  afterAll(() => rmSync(cert.dir, { recursive: true, force: true }));

  it("refuses to start and lists every problem of the file and the flags", async () => {
    const file = join(cert.dir, "bad.yaml");
    writeFileSync(file, `${HEADER}failureMode: sometimes\nactions: {liveness-probe: block}\n`);
    const program = new Command("belay").exitOverride();
    registerWebhook(program, io(), { exitCode: 0 });
    await expect(
      program.parseAsync(
        ["webhook", "--config", file, "--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--port", "x"],
        {
          from: "user",
        },
      ),
    ).rejects.toThrow(
      [
        "webhook not started:",
        `  ${file}: failureMode: must be deny or allow, got "sometimes"`,
        `  ${file}: actions.liveness-probe: unknown action "block"; use deny, warn, audit or off`,
        '  --port: "x" is not a port number',
      ].join("\n"),
    );
  });

  it("says when the file cannot be read", async () => {
    const program = new Command("belay").exitOverride();
    registerWebhook(program, io(), { exitCode: 0 });
    const missing = join(cert.dir, "missing.yaml");
    await expect(
      program.parseAsync(
        ["webhook", "--config", missing, "--tls-cert", cert.certFile, "--tls-key", cert.keyFile],
        {
          from: "user",
        },
      ),
    ).rejects.toThrow(
      `webhook not started:\n  --config: cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'`,
    );
  });

  it("applies the file; flags override it; relative paths are the file's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "belay-wh-config-"));
    try {
      writeFileSync(
        join(dir, "config.yaml"),
        `${HEADER}exemptNamespaces: [team-b]
actions: {default-service-account: deny}
decisionLog: {file: decisions.jsonl}
mutate: {enabled: true}
`,
      );
      const webhook = await startWebhookCommand([
        ...["--config", join(dir, "config.yaml")],
        ...["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--port", "0", "--host", "127.0.0.1"],
        ...["--exempt-namespaces", "team-c"],
      ]);
      const { port } = webhook;
      const post = async (path: string, body: unknown) =>
        JSON.parse((await send(port, cert.cert, "POST", path, JSON.stringify(body))).body).response;
      const noSa = pod("no-sa");
      delete (noSa.spec as Record<string, unknown>).serviceAccountName;
      expect((await post("/validate", review("CREATE", noSa))).allowed).toBe(false);
      // --exempt-namespaces replaced the file's list.
      expect((await post("/validate", review("CREATE", noSa, { namespace: "team-b" }))).allowed).toBe(false);
      expect((await post("/validate", review("CREATE", noSa, { namespace: "team-c" }))).allowed).toBe(true);
      const bare = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "bare" },
        spec: { containers: [{ name: "a", image: "a" }] },
      };
      expect((await post("/mutate", review("CREATE", bare))).patchType).toBe("JSONPatch");
      expect(await webhook.stop()).toBe(0);
      const log = readFileSync(join(dir, "decisions.jsonl"), "utf8").trim().split("\n");
      expect(log.map((l) => JSON.parse(l).verdict)).toEqual(["deny", "deny", "exempt", "allow"]);
      expect(JSON.parse(log[3] as string)).toMatchObject({
        endpoint: "mutate",
        mutated: [
          "spec.securityContext.seccompProfile",
          "spec.containers[0].securityContext.allowPrivilegeEscalation",
        ],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
