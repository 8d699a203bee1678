/** `belay audit --report-api`: validated before any cluster is contacted. */
import { describe, expect, it } from "vitest";
import { runAudit } from "./run-audit.ts";

describe("belay audit --report-api", () => {
  it("rejects an unknown report API with the choices", async () => {
    const result = await runAudit(["--write-reports", "--report-api", "kyverno"], {
      KUBECONFIG: "/nonexistent/config",
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'belay: unknown --report-api "kyverno"; use one of wgpolicyk8s, openreports, both\n',
    );
  });
});
