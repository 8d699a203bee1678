import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAudit } from "./run-audit.ts";

let dir: string;
let kubeconfig: string;
let twoContexts: string;

// Port 1 on loopback: nothing listens, the connection is refused at once.
function config(contexts: string[], current: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]",
    "users: [{name: me, user: {token: t}}]",
    `contexts: [${contexts.map((c) => `{name: ${c}, context: {cluster: gone, user: me}}`).join(", ")}]`,
    `current-context: ${current}`,
  ].join("\n");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "belay-audit-"));
  kubeconfig = join(dir, "config");
  await writeFile(kubeconfig, config(["nowhere"], "nowhere"));
  twoContexts = join(dir, "two");
  await writeFile(twoContexts, config(["west", "east"], "west"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("belay audit errors", () => {
  it("exits 2 naming the context and the error when the cluster is unreachable", async () => {
    const result = await runAudit(["-o", "json"], { KUBECONFIG: kubeconfig });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/context "nowhere" \(https:\/\/127\.0\.0\.1:1\).*ECONNREFUSED/);
  });

  it("rejects an unknown context", async () => {
    const result = await runAudit(["--context", "other"], { KUBECONFIG: kubeconfig });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown context "other" in the kubeconfig');
  });

  it("rejects an unknown context among several before contacting any cluster", async () => {
    const result = await runAudit(["--context", "west", "--context", "north", "-o", "json"], {
      KUBECONFIG: twoContexts,
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe('belay: unknown context "north" in the kubeconfig\n');
  });

  it("rejects --context together with --all-contexts", async () => {
    const result = await runAudit(["--context", "west", "--all-contexts"], { KUBECONFIG: twoContexts });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("give either --context or --all-contexts, not both");
  });

  it("rejects a bad output format", async () => {
    const result = await runAudit(["-o", "pdf"], { KUBECONFIG: kubeconfig });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'unknown output format "pdf"; use one of table, json, yaml, sarif, junit, html',
    );
  });
});

describe("belay audit with several contexts", () => {
  it("reports every unreachable cluster in the JSON output and on stderr, and exits 2", async () => {
    const result = await runAudit(["--all-contexts", "-o", "json"], { KUBECONFIG: twoContexts });
    expect(result.code).toBe(2);
    const doc = JSON.parse(result.stdout) as {
      findings: unknown[];
      summary: { resources: number };
      clusters: { name: string; server: string; status: string; error?: string }[];
    };
    // --all-contexts audits every context, sorted by name.
    expect(doc.clusters.map((c) => `${c.name} ${c.status} ${c.server}`)).toEqual([
      "east failed https://127.0.0.1:1",
      "west failed https://127.0.0.1:1",
    ]);
    expect(doc.clusters[0]?.error).toMatch(/cannot reach the API server of context "east".*ECONNREFUSED/);
    expect(doc.findings).toEqual([]);
    expect(doc.summary.resources).toBe(0);
    expect(result.stderr).toContain('belay: audit of context "east" failed: cannot reach the API server');
    expect(result.stderr).toContain('belay: audit of context "west" failed: cannot reach the API server');
    expect(result.stderr).toContain('belay: 2 of 2 contexts not audited: "east", "west"\n');
  });

  it("lists each unreachable cluster in the table, with the per-cluster summary", async () => {
    const result = await runAudit(["--context", "west", "--context", "east"], { KUBECONFIG: twoContexts });
    expect(result.code).toBe(2);
    // Contexts in the order given.
    expect(result.stdout).toMatch(
      /^== cluster west \(https:\/\/127\.0\.0\.1:1\)\nnot audited: .*ECONNREFUSED.*\n\n== cluster east /,
    );
    expect(result.stdout).toMatch(
      /CLUSTER\s+STATUS\s+OBJECTS\s+FAIL\s+WARN\nwest\s+failed\neast\s+failed\n$/,
    );
  });

  it("gives a junit suite and a SARIF run per cluster", async () => {
    const junit = await runAudit(["--all-contexts", "-o", "junit"], { KUBECONFIG: twoContexts });
    expect(junit.stdout).toContain('<testsuite name="east" tests="1" failures="0" errors="1" skipped="0">');
    expect(junit.stdout).toContain('type="cluster-not-audited"');
    const sarif = await runAudit(["--all-contexts", "-o", "sarif"], { KUBECONFIG: twoContexts });
    const log = JSON.parse(sarif.stdout) as { runs: { automationDetails: { id: string } }[] };
    expect(log.runs.map((r) => r.automationDetails.id)).toEqual(["belay/audit/east/", "belay/audit/west/"]);
  });

  it("prints an HTML page naming each cluster", async () => {
    const result = await runAudit(["--all-contexts", "-o", "html"], { KUBECONFIG: twoContexts });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^<!DOCTYPE html>/);
    expect(result.stdout).toContain("<h2>Cluster east</h2>");
    expect(result.stdout).toContain('<p class="unreachable">Not audited: cannot reach the API server');
  });

  it("never writes progress when stderr is not a terminal", async () => {
    const result = await runAudit(["--all-contexts", "-o", "json"], { KUBECONFIG: twoContexts });
    expect(result.stderr).not.toContain("\r");
    expect(result.stderr).not.toContain("auditing");
  });
});
