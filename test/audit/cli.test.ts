import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAudit } from "./run-audit.ts";

let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "belay-audit-"));
  kubeconfig = join(dir, "config");
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  await writeFile(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]",
      "users: [{name: me, user: {token: t}}]",
      "contexts: [{name: nowhere, context: {cluster: gone, user: me}}]",
      "current-context: nowhere",
    ].join("\n"),
  );
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

  it("rejects several contexts with a machine format", async () => {
    const result = await runAudit(["--context", "a", "--context", "b", "-o", "json"], {
      KUBECONFIG: kubeconfig,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("several --context values need -o table");
  });

  it("rejects a bad output format", async () => {
    const result = await runAudit(["-o", "html"], { KUBECONFIG: kubeconfig });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown output format "html"');
  });
});
