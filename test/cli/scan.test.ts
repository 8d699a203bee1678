import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers.ts";

interface JsonReport {
  findings: {
    ruleId: string;
    status: string;
    severity: string;
    message: string;
    resource: { kind: string; name: string; namespace?: string };
    path: string;
    file?: string;
    line?: number;
    column?: number;
  }[];
  summary: { resources: number; findings: number; bySeverity: Record<string, number> };
  errors: { file: string; line?: number; message: string }[];
}

async function scanJson(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  const result = await runCli(["scan", "-o", "json", ...args], options);
  return { ...result, report: JSON.parse(result.stdout) as JsonReport };
}

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "belay-cli-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("belay scan on the bundled examples", () => {
  it("finds the insecure app's problems at the offending lines and exits 1", async () => {
    const { code, report } = await scanJson(["examples/insecure-app"]);
    expect(code).toBe(1);
    const privileged = report.findings.find((f) => f.ruleId === "pss-privileged");
    expect(privileged).toMatchObject({
      status: "fail",
      file: "examples/insecure-app/deployment.yaml",
      line: 31,
      column: 13,
      path: "spec.template.spec.containers[0].securityContext.privileged",
      resource: { kind: "Deployment", name: "shop-api" },
    });
    const ids = new Set(report.findings.map((f) => f.ruleId));
    for (const id of [
      "pss-host-namespaces",
      "pss-restricted-volumes",
      "pss-host-ports",
      "pss-run-as-user",
      "docker-socket-mount",
      "secrets-in-env",
      "rbac-cluster-admin-binding",
    ]) {
      expect(ids, id).toContain(id);
    }
    expect(report.summary.resources).toBe(9);
    expect(report.errors).toEqual([]);
  });

  it("has no failing finding on the hardened app and exits 0", async () => {
    const { code, report } = await scanJson(["examples/hardened-app"]);
    expect(report.findings.filter((f) => f.status === "fail")).toEqual([]);
    expect(code).toBe(0);
  });

  it("prints a readable table with a summary", async () => {
    const { code, stdout } = await runCli(["scan", "examples/insecure-app"]);
    expect(code).toBe(1);
    expect(stdout).toContain("examples/insecure-app/deployment.yaml:31:13");
    expect(stdout).toContain("pss-privileged");
    expect(stdout).toMatch(/\d+ findings? \(/);
    expect(stdout).not.toContain("\u001b["); // no colour when not a TTY
  });
});

describe("belay scan input handling", () => {
  it("reads stdin with -", async () => {
    const { code, report } = await scanJson(["-", "--rules", "pss-privileged"], {
      stdin:
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: i\n      securityContext: {privileged: on}\n",
    });
    expect(code).toBe(1);
    expect(report.findings.map((f) => [f.ruleId, f.file, f.line])).toEqual([
      ["pss-privileged", "<stdin>", 8],
    ]);
  });

  it("keeps scanning after broken input, reports it with file and line, and exits 2", async () => {
    const dir = tempDir({
      "a-bad.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [oops\n",
      "b-nokind.yaml": "apiVersion: v1\nmetadata: {name: x}\n",
      "c-good.yaml":
        "apiVersion: v1\nkind: Pod\nmetadata: {name: good}\nspec:\n  hostPID: true\n  containers: [{name: c, image: i}]\n",
      "notes.txt": "not yaml: [",
    });
    const { code, report } = await scanJson([
      dir,
      join(dir, "missing.yaml"),
      "--rules",
      "pss-host-namespaces",
    ]);
    expect(code).toBe(2);
    expect(report.findings.map((f) => f.resource.name)).toEqual(["good"]);
    const messages = report.errors.map((e) => `${e.file.replace(dir, "D")}:${e.line ?? ""}: ${e.message}`);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toMatch(/^D\/a-bad\.yaml:\d+: invalid YAML: /);
    expect(messages[1]).toBe(
      "D/b-nokind.yaml:1: object has no kind (every Kubernetes object needs apiVersion and kind)",
    );
    expect(messages[2]).toBe("D/missing.yaml:: cannot read: no such file or directory");
  });

  it("names the missing tool for --helm and --kustomize, and still scans the rest", async () => {
    const env = { PATH: "/nonexistent" };
    const { code, report } = await scanJson(
      ["examples/hardened-app", "--helm", "charts/web", "--kustomize", "overlays/prod"],
      { env },
    );
    expect(code).toBe(2);
    expect(report.summary.resources).toBeGreaterThan(0);
    expect(report.errors.map((e) => e.message)).toEqual([
      "cannot render Helm chart: helm is not on PATH; install Helm 3 (https://helm.sh/docs/intro/install/) or scan the output of `helm template` instead",
      "cannot build Kustomize directory: neither kustomize nor kubectl is on PATH; install kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) or kubectl",
    ]);
  });

  it("renders a directory holding Chart.yaml with helm (and says so when helm is missing)", async () => {
    const dir = tempDir({ "Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n" });
    const { code, report } = await scanJson([dir], { env: { PATH: "/nonexistent" } });
    expect(code).toBe(2);
    expect(report.errors[0]?.file).toBe(dir);
    expect(report.errors[0]?.message).toMatch(/^cannot render Helm chart: helm is not on PATH/);
  });
});

describe("belay scan flags and exit codes", () => {
  const pod = tempDir({
    "pod.yaml":
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: apps}\nspec:\n  containers:\n    - name: c\n      image: i:1\n      securityContext: {privileged: true}\n",
  });

  it("--fail-on sets the threshold for exit 1", async () => {
    expect((await runCli(["scan", pod, "--rules", "pss-privileged", "--fail-on", "critical"])).code).toBe(1);
    expect((await runCli(["scan", pod, "--rules", "pss-privileged", "--fail-on", "low"])).code).toBe(1);
    const sev = (await scanJson([pod, "--rules", "pss-privileged"])).report.findings[0]?.severity;
    expect(sev).toBe("critical");
  });

  it("exits 0 when nothing reaches the threshold", async () => {
    const { code, report } = await scanJson([
      pod,
      "--rules",
      "pss-privileged",
      "--skip-rules",
      "pss-privileged",
    ]);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
  });

  it.each([
    [
      ["--output", "xml"],
      'belay: unknown output format "xml"; use one of table, json, yaml, sarif, junit, html\n',
    ],
    [
      ["--fail-on", "severe"],
      'belay: unknown severity "severe" for --fail-on; use one of critical, high, medium, low, info\n',
    ],
    [["--pss-version", "1.25"], 'belay: invalid --pss-version "1.25"; use v1.0 … v1.N or latest\n'],
    [
      ["--profile", "strict"],
      'belay: unknown profile "strict"; use one of pss-baseline, pss-restricted, hardening, all\n',
    ],
    [["--rules", "nope,pss-privileged"], 'belay: unknown rule "nope" (see `belay rules list`)\n'],
    [["--values", "v.yaml"], "belay: --values and --set apply to a Helm chart; add --helm CHART\n"],
  ])("rejects %j with exit 2 and a clear message", async (flags, message) => {
    const result = await runCli(["scan", pod, ...flags]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(message);
    expect(result.stdout).toBe("");
  });

  it("rejects a scan with no input", async () => {
    const result = await runCli(["scan"]);
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "belay: no input: give files or directories to scan, - for stdin, --helm CHART or --kustomize DIR\n",
    });
  });

  it("rejects unknown flags and commands with exit 2", async () => {
    expect((await runCli(["scan", pod, "--bogus"])).code).toBe(2);
    expect((await runCli(["frobnicate"])).code).toBe(2);
  });

  it("--show-passed lists passed checks too", async () => {
    const { report } = await scanJson([
      pod,
      "--rules",
      "pss-privileged,pss-host-namespaces",
      "--show-passed",
    ]);
    expect(report.findings.map((f) => [f.ruleId, f.status])).toEqual([
      ["pss-host-namespaces", "pass"],
      ["pss-privileged", "fail"],
    ]);
  });

  it("--pss-version selects the behaviour of that release", async () => {
    const dir = tempDir({
      "pod.yaml":
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: i\n      securityContext:\n        allowPrivilegeEscalation: false\n        runAsNonRoot: true\n        seccompProfile: {type: RuntimeDefault}\n",
    });
    // capabilities drop ALL is a restricted requirement from v1.22 on.
    const latest = await scanJson([dir, "--profile", "pss-restricted"]);
    expect(latest.report.findings.map((f) => f.ruleId)).toContain("pss-capabilities-restricted");
    const old = await scanJson([dir, "--profile", "pss-restricted", "--pss-version", "v1.21"]);
    expect(old.report.findings.map((f) => f.ruleId)).not.toContain("pss-capabilities-restricted");
  });
});

describe("suppressions", () => {
  const manifest = (annotation: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: agent\n  namespace: monitoring\n  annotations:\n    belay.dev/ignore: "${annotation}"\nspec:\n  hostPID: true\n  containers: [{name: c, image: i}]\n`;

  it("an annotation with a reason suppresses the named rule", async () => {
    const dir = tempDir({ "p.yaml": manifest("pss-host-namespaces: node agent needs host PIDs") });
    const { code, report } = await scanJson([
      dir,
      "--rules",
      "pss-host-namespaces,ignore-annotation-invalid",
    ]);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
    const shown = await scanJson([dir, "--rules", "pss-host-namespaces", "--show-passed"]);
    expect(shown.report.findings.map((f) => [f.status, f.message])).toEqual([
      ["skip", "suppressed: annotation: node agent needs host PIDs"],
    ]);
  });

  it("an annotation without a reason suppresses nothing and is itself a finding", async () => {
    const dir = tempDir({ "p.yaml": manifest("pss-host-namespaces") });
    const { code, report } = await scanJson([
      dir,
      "--rules",
      "pss-host-namespaces,ignore-annotation-invalid",
    ]);
    expect(code).toBe(1);
    expect(report.findings.map((f) => [f.ruleId, f.line, f.message])).toEqual([
      [
        "ignore-annotation-invalid",
        7,
        'annotation belay.dev/ignore gives no reason; write "pss-host-namespaces: <why this is acceptable>"; it suppresses nothing',
      ],
      ["pss-host-namespaces", 9, expect.any(String)],
    ]);
  });

  it("an exceptions file suppresses until its expiry, then reports the lapse", async () => {
    const dir = tempDir({ "p.yaml": manifest("x") });
    const exceptions = (expires: string) =>
      tempDir({
        "ex.yaml": `exceptions:\n  - rule: pss-host-namespaces\n    resource: {kind: Pod, namespace: monitoring, name: "ag*"}\n    reason: node agent\n    owner: platform\n    expires: ${expires}\n`,
      });
    const valid = await scanJson([
      dir,
      "--rules",
      "pss-host-namespaces",
      "--exceptions",
      join(exceptions("2999-01-01"), "ex.yaml"),
    ]);
    expect(valid.report.findings).toEqual([]);
    expect(valid.code).toBe(0);
    const lapsed = await scanJson([
      dir,
      "--rules",
      "pss-host-namespaces",
      "--exceptions",
      join(exceptions("2020-01-01"), "ex.yaml"),
    ]);
    expect(lapsed.code).toBe(1);
    expect(lapsed.report.findings.map((f) => [f.ruleId, f.status])).toEqual([
      ["exception-expired", "warn"],
      ["pss-host-namespaces", "fail"],
    ]);
    expect(lapsed.report.findings[0]?.message).toBe(
      'exceptions[0] for rule "pss-host-namespaces" (owner platform) expired on 2020-01-01; its findings are reported again',
    );
  });

  it("an invalid exceptions file stops the scan with every problem listed", async () => {
    const dir = tempDir({ "ex.yaml": "exceptions:\n  - rule: nope\n" });
    const result = await runCli(["scan", "examples/hardened-app", "--exceptions", join(dir, "ex.yaml")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        `belay: ${join(dir, "ex.yaml")}: invalid exceptions file`,
        '  exceptions[0].rule: unknown rule "nope" (see `belay rules list`)',
        "  exceptions[0].reason: required: say why the exception is acceptable",
        "  exceptions[0].owner: required: say who owns it",
        "  exceptions[0].expires: must be a date (YYYY-MM-DD); every exception expires",
        "",
      ].join("\n"),
    );
  });
});
