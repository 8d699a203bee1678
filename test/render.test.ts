/**
 * `belay scan --helm` / `--kustomize` / chart directories against the real helm and kustomize,
 * built from source by scripts/build-tools.ts (cached in ~/.cache/belay/tools; the first run
 * takes a few minutes). Without Go the suite is skipped, except under CI where it fails.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cachedTools, ensureTools, goVersion, type ToolPaths } from "../scripts/build-tools.ts";
import { runCli } from "./helpers.ts";

interface JsonReport {
  findings: {
    ruleId: string;
    status: string;
    resource: { kind: string; name: string; namespace?: string };
    path: string;
    file?: string;
    line?: number;
    column?: number;
  }[];
  summary: { resources: number };
  errors: { file: string; line?: number; message: string }[];
}

const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
/** Skip only outside CI, and only when the tools are neither cached nor buildable. */
const skip = !inCi && cachedTools() === undefined && goVersion() === undefined;
if (skip) {
  console.log(
    "skipping test/render.test.ts (real helm and kustomize): go is not on PATH to build them; " +
      "install Go 1.26+ (https://go.dev/dl/) to run it (under CI=true a missing go fails it)",
  );
}

const WEB = "test/fixtures/helm/web";
const BROKEN = "test/fixtures/helm/broken";
const PROD = "test/fixtures/kustomize/overlays/prod";

/** 1-based line of the first line matching `pattern` in `text`, or 0. */
function lineOf(text: string, pattern: RegExp): number {
  return text.split("\n").findIndex((line) => pattern.test(line)) + 1;
}

describe.skipIf(skip)("scan with real helm and kustomize", () => {
  let tools: ToolPaths;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // Throws (failing every test) when go is missing or a build fails.
    tools = await ensureTools();
    env = { PATH: [dirname(tools.helm), dirname(tools.kustomize), process.env.PATH ?? ""].join(delimiter) };
  }, 900_000);

  async function scanJson(args: string[], scanEnv: NodeJS.ProcessEnv = env) {
    const result = await runCli(["scan", "-o", "json", ...args], { env: scanEnv });
    return { ...result, report: JSON.parse(result.stdout) as JsonReport };
  }

  /**
   * The line of `privileged: true` in the rendered deployment.yaml document, as helm prints it
   * below its `---` / `# Source:` header.
   */
  function privilegedLine(args: string[]): number {
    const out = execFileSync(
      tools.helm,
      ["template", "belay-scan", WEB, ...args, "--show-only", "templates/deployment.yaml"],
      { encoding: "utf8" },
    );
    const document = out.replace(/^---\n# Source: web\/templates\/deployment\.yaml\n/, "");
    expect(document).toMatch(/^apiVersion: apps\/v1\n/);
    return lineOf(document, /^\s+privileged: true$/);
  }

  describe("--helm", () => {
    it("passes the chart's hardened defaults", async () => {
      const { code, report } = await scanJson(["--helm", WEB, "--rules", "pss-privileged"]);
      expect(report.errors).toEqual([]);
      expect(report.summary.resources).toBe(2);
      expect(report.findings).toEqual([]);
      expect(code).toBe(0);
    });

    it("reports --set securityContext.privileged=true at the template and rendered line", async () => {
      const set = ["--set", "securityContext.privileged=true"];
      const { code, report } = await scanJson(["--helm", WEB, ...set, "--rules", "pss-privileged"]);
      expect(report.errors).toEqual([]);
      expect(code).toBe(1);
      const line = privilegedLine(set);
      expect(line).toBeGreaterThan(30);
      expect(report.findings).toEqual([
        expect.objectContaining({
          ruleId: "pss-privileged",
          status: "fail",
          resource: expect.objectContaining({ kind: "Deployment", name: "belay-scan-web" }),
          path: "spec.template.spec.containers[0].securityContext.privileged",
          file: `${WEB}/templates/deployment.yaml`,
          line,
          column: 13,
        }),
      ]);
    });

    it("applies --values files the same way", async () => {
      const values = ["--values", `${WEB}/ci/privileged-values.yaml`];
      const { code, report } = await scanJson(["--helm", WEB, ...values, "--rules", "pss-privileged"]);
      expect(report.errors).toEqual([]);
      expect(code).toBe(1);
      expect(report.findings).toEqual([
        expect.objectContaining({
          ruleId: "pss-privileged",
          file: `${WEB}/templates/deployment.yaml`,
          line: privilegedLine(values),
        }),
      ]);
    });

    it("names the template each object came from", async () => {
      const { code, report } = await scanJson([
        "--helm",
        WEB,
        "--set",
        "service.type=LoadBalancer",
        "--rules",
        "service-loadbalancer",
      ]);
      expect(code).toBe(0); // the rule is advice (status warn)
      expect(report.findings).toEqual([
        expect.objectContaining({
          ruleId: "service-loadbalancer",
          status: "warn",
          resource: expect.objectContaining({ kind: "Service", name: "belay-scan-web" }),
          // The missing field is reported at its parent, `spec:`, below 4 lines of metadata and 5 labels.
          path: "spec.loadBalancerSourceRanges",
          file: `${WEB}/templates/service.yaml`,
          line: 11,
          column: 1,
        }),
      ]);
    });

    it("exits 2 with helm's error when a template fails", async () => {
      const { code, report } = await scanJson(["--helm", BROKEN]);
      expect(code).toBe(2);
      expect(report.summary.resources).toBe(0);
      expect(report.errors).toEqual([
        {
          file: BROKEN,
          message: expect.stringMatching(
            /^cannot render Helm chart: helm template failed: Error: execution error at \(broken\/templates\/deployment\.yaml:\d+:\d+\): image\.repository is required/,
          ),
        },
      ]);
    });
  });

  describe("chart directories found while walking", () => {
    it("renders a chart directory given as a path", async () => {
      const { code, report } = await scanJson([WEB, "--rules", "pss-privileged"]);
      expect(report.errors).toEqual([]);
      expect(report.summary.resources).toBe(2);
      expect(code).toBe(0);
    });

    it("renders every chart under a directory (default values) and reports the broken one", async () => {
      const { code, report } = await scanJson(["test/fixtures/helm", "--rules", "pss-privileged"]);
      expect(report.summary.resources).toBe(2);
      expect(report.errors).toEqual([
        { file: BROKEN, message: expect.stringContaining("image.repository is required") },
      ]);
      expect(code).toBe(2);
    });
  });

  describe("--kustomize", () => {
    it("finds the problems the prod overlay patches in", async () => {
      const { code, report } = await scanJson([
        "--kustomize",
        PROD,
        "--rules",
        "pss-host-namespaces,image-latest-tag",
      ]);
      expect(report.errors).toEqual([]);
      expect(report.summary.resources).toBe(2);
      expect(code).toBe(1);
      const built = execFileSync(tools.kustomize, ["build", PROD], { encoding: "utf8" });
      const file = `${PROD} (kustomize build)`;
      const deployment = expect.objectContaining({ kind: "Deployment", name: "api", namespace: "prod" });
      expect(report.findings).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            ruleId: "pss-host-namespaces",
            resource: deployment,
            path: "spec.template.spec.hostNetwork",
            file,
            line: lineOf(built, /^\s+hostNetwork: true$/),
          }),
          expect.objectContaining({
            ruleId: "image-latest-tag",
            resource: deployment,
            path: "spec.template.spec.containers[0].image",
            file,
            line: lineOf(built, /^\s+(- )?image: registry\.example\.com\/api:latest$/),
          }),
        ]),
      );
      expect(report.findings).toHaveLength(2);
    });

    it("passes the base the overlay patches", async () => {
      const { code, report } = await scanJson([
        "--kustomize",
        "test/fixtures/kustomize/base",
        "--rules",
        "pss-host-namespaces,image-latest-tag",
      ]);
      expect(report.errors).toEqual([]);
      expect(report.findings).toEqual([]);
      expect(code).toBe(0);
    });

    it("uses kustomize when kubectl is absent, and prefers it when both are present", async () => {
      const kustomizeOnly = { PATH: dirname(tools.kustomize) };
      const alone = await scanJson(["--kustomize", PROD, "--rules", "pss-host-namespaces"], kustomizeOnly);
      expect(alone.report.errors).toEqual([]);
      expect(alone.code).toBe(1);

      // A kubectl that fails if called: the build must still succeed through kustomize.
      const fake = mkdtempSync(join(tmpdir(), "belay-kubectl-"));
      writeFileSync(join(fake, "kubectl"), "#!/bin/sh\necho 'fake kubectl must not be called' >&2\nexit 3\n");
      chmodSync(join(fake, "kubectl"), 0o755);
      const both = { PATH: [fake, dirname(tools.kustomize)].join(delimiter) };
      const preferred = await scanJson(["--kustomize", PROD, "--rules", "pss-host-namespaces"], both);
      expect(preferred.report.errors).toEqual([]);
      expect(preferred.code).toBe(1);
    });
  });
});
