import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers.ts";

const POLICY = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: require-team-label
  annotations: {belay.dev/severity: high, belay.dev/title: Deployments name their team}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      messageExpression: "'deployment ' + object.metadata.name + ' has no team label'"
  auditAnnotations:
    - {key: user, valueExpression: "request.userInfo.username"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: team}
spec:
  policyName: require-team-label
  validationActions: [Deny]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: team-warn}
spec:
  policyName: require-team-label
  validationActions: [Warn]
`;

const deployment = (labels: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {${labels}}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "ghcr.io/x/web:1"}]}
`;

function files(entries: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "belay-eval-"));
  for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("belay eval", () => {
  const dir = files({
    "policy.yaml": POLICY,
    "bad.yaml": deployment("app: web"),
    "good.yaml": deployment("team: shop"),
    "broken.yaml": POLICY.replace("validationActions: [Deny]", "validationActions: [Deny, Warn]").replace(
      "'team' in object.metadata.labels",
      "'team' in object.metadata.labels &&",
    ),
  });
  const policy = join(dir, "policy.yaml");

  it("answers like the API server, as an AdmissionResponse in JSON", async () => {
    const result = await runCli([
      "eval",
      "--policy",
      policy,
      "--resource",
      join(dir, "bad.yaml"),
      "--user",
      "alice",
      "-o",
      "json",
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      allowed: false,
      status: {
        code: 422,
        reason: "Invalid",
        message:
          "ValidatingAdmissionPolicy 'require-team-label' with binding 'team' denied request: deployment web has no team label",
      },
      warnings: [
        "Validation failed for ValidatingAdmissionPolicy 'require-team-label' with binding 'team-warn': deployment web has no team label",
      ],
      auditAnnotations: { "require-team-label/user": "alice" },
    });
  });

  it("allows a good object with exit 0", async () => {
    const result = await runCli(["eval", "--policy", policy, "--resource", join(dir, "good.yaml")]);
    expect(result).toEqual({
      code: 0,
      stdout: "allowed\naudit annotation require-team-label/user: \n",
      stderr: "",
    });
  });

  it("skips policies that do not match the operation", async () => {
    const result = await runCli([
      "eval",
      "--policy",
      policy,
      "--resource",
      join(dir, "bad.yaml"),
      "--operation",
      "DELETE",
    ]);
    expect(result.code).toBe(0);
  });

  it("rejects invalid policies with every problem, file and line, exit 2", async () => {
    const result = await runCli([
      "eval",
      "--policy",
      join(dir, "broken.yaml"),
      "--resource",
      join(dir, "bad.yaml"),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("belay: invalid policies:\n");
    expect(result.stderr).toContain(
      `broken.yaml:11:7: ValidatingAdmissionPolicy "require-team-label": spec.validations[0].expression: compilation failed: `,
    );
    expect(result.stderr).toMatch(
      /broken\.yaml:\d+:\d+: ValidatingAdmissionPolicyBinding "team": spec\.validationActions: /,
    );
  });

  it.each([
    [["--operation", "PATCH"], 'belay: unknown operation "PATCH"; use CREATE, UPDATE, DELETE or CONNECT\n'],
    [["-o", "yaml"], 'belay: unknown output format "yaml"; use text or json\n'],
  ])("rejects %j", async (flags, message) => {
    const result = await runCli(["eval", "--policy", policy, "--resource", join(dir, "bad.yaml"), ...flags]);
    expect(result).toEqual({ code: 2, stdout: "", stderr: message });
  });

  it("requires --resource", async () => {
    expect(await runCli(["eval", "--policy", policy])).toEqual({
      code: 2,
      stdout: "",
      stderr: "belay: --resource FILE is required\n",
    });
  });
});

describe("belay scan --policy", () => {
  const dir = files({
    "policy.yaml": POLICY,
    "bad.yaml": deployment("app: web"),
    "good.yaml": deployment("team: shop"),
  });

  it("reports policy violations as findings beside the rules", async () => {
    const result = await runCli([
      "scan",
      join(dir, "bad.yaml"),
      join(dir, "good.yaml"),
      "--policy",
      join(dir, "policy.yaml"),
      "--rules",
      "pss-privileged",
      "-o",
      "json",
    ]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      findings: {
        ruleId: string;
        status: string;
        severity: string;
        title: string;
        message: string;
        line: number;
      }[];
    };
    expect(report.findings.map((f) => [f.ruleId, f.status, f.severity, f.title, f.message, f.line])).toEqual([
      [
        "require-team-label",
        "fail",
        "high",
        "Deployments name their team",
        "deployment web has no team label (binding team, validation 0)",
        1,
      ],
      [
        "require-team-label",
        "warn",
        "high",
        "Deployments name their team",
        "deployment web has no team label (binding team-warn, validation 0)",
        1,
      ],
    ]);
  });
});

describe("belay eval on a subresource", () => {
  const dir = files({
    "policy.yaml": `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [UPDATE], resources: [deployments, deployments/scale]}]
  validations:
    - expression: "object.spec.replicas <= 5"
      message: at most 5 replicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-replicas}
spec: {policyName: max-replicas, validationActions: [Deny]}
`,
    "scale.yaml":
      "apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 9}\n",
  });

  it("evaluates a Scale as an update of deployments/scale", async () => {
    const args = [
      "eval",
      "--policy",
      join(dir, "policy.yaml"),
      "--resource",
      join(dir, "scale.yaml"),
      "--operation",
      "UPDATE",
    ];
    expect((await runCli(args)).code).toBe(0);
    const scaled = await runCli([
      ...args,
      "--subresource",
      "scale",
      "--request-resource",
      "apps/v1/deployments",
    ]);
    expect(scaled.stdout).toBe(
      "denied (422 Invalid): ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas' denied request: at most 5 replicas\n",
    );
    expect(scaled.code).toBe(1);
  });

  it("rejects a malformed --request-resource", async () => {
    const result = await runCli([
      "eval",
      "--policy",
      join(dir, "policy.yaml"),
      "--resource",
      join(dir, "scale.yaml"),
      "--request-resource",
      "deployments",
    ]);
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr:
        'belay: invalid --request-resource "deployments"; use GROUP/VERSION/RESOURCE, e.g. apps/v1/deployments, or v1/pods\n',
    });
  });
});
