import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers.ts";

const POLICY = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}]
  validations:
    - expression: object.spec.replicas <= 5
      message: at most 5 replicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-replicas}
spec: {policyName: max-replicas, validationActions: [Deny]}
`;

const deployment = (replicas: number) =>
  `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {replicas: ${replicas}}}`;

function suite(tests: string): string {
  const dir = mkdtempSync(join(tmpdir(), "belay-test-"));
  writeFileSync(join(dir, "policy.yaml"), POLICY);
  writeFileSync(
    join(dir, "tests.yaml"),
    `apiVersion: belay.dev/v1alpha1\nkind: PolicyTest\ncases:\n${tests}`,
  );
  return dir;
}

describe("belay test", () => {
  it("passes when every case gets its verdict and message", async () => {
    const dir = suite(
      `  - {name: small, object: ${deployment(3)}, expect: allow}\n  - {name: big, object: ${deployment(9)}, expect: deny, message: at most 5 replicas}\n  - {name: delete, operation: DELETE, oldObject: ${deployment(9)}, expect: allow}\n`,
    );
    const result = await runCli(["test", dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `${dir}\n  ok   small\n  ok   big\n  ok   delete\npolicy tests: 3 passed, 0 failed\n`,
    );
  });

  it("shows expected and got for a failing case and exits 1", async () => {
    const dir = suite(
      `  - {name: wrong, object: ${deployment(9)}, expect: allow}\n  - {name: message, object: ${deployment(9)}, expect: deny, message: other}\n`,
    );
    const result = await runCli(["test", dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      [
        dir,
        "  FAIL wrong",
        "         expected: allow",
        "         got:      deny: at most 5 replicas",
        "  FAIL message",
        "         expected: deny: other",
        "         got:      deny: at most 5 replicas",
        "policy tests: 0 passed, 2 failed",
        "",
      ].join("\n"),
    );
  });

  it("reports invalid test files with exit 2", async () => {
    const dir = suite(`  - {name: bad, expect: maybe}\n`);
    const result = await runCli(["test", dir]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(
      `error: ${join(dir, "tests.yaml")}: cases[0].expect: must be allow, deny or warn`,
    );
    expect(result.stdout).toContain(`error: ${join(dir, "tests.yaml")}: cases[0]: needs object or oldObject`);
  });

  it("says so when there is nothing to test", async () => {
    const dir = mkdtempSync(join(tmpdir(), "belay-test-"));
    const result = await runCli(["test", dir]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(
      `error: no PolicyTest files found under ${dir}\npolicy tests: 0 passed, 0 failed, 1 input errors\n`,
    );
  });

  it("passes on the shipped policy catalog", async () => {
    const result = await runCli(["test", "policies"]);
    expect(result.stdout).toMatch(/policy tests: \d+ passed, 0 failed\n$/);
    expect(result.code).toBe(0);
  });
});
