/**
 * `--rbac` on `belay eval`, `belay scan --policy` and `belay test`: a policy's `authorizer`
 * checks answered offline by belay's RBAC engine over the given Roles and bindings.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPolicySet } from "../../src/engine/policies.ts";
import { parseStream } from "../../src/resources/parse.ts";
import { runCli } from "../helpers.ts";

const POLICY = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: sa-can-create-pods}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
    - expression: "authorizer.serviceAccount(object.metadata.namespace, object.spec.template.spec.serviceAccountName).group('').resource('pods').namespace(object.metadata.namespace).check('create').allowed()"
      messageExpression: "'service account ' + object.spec.template.spec.serviceAccountName + ' cannot create pods in ' + object.metadata.namespace"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: sa-can-create-pods}
spec: {policyName: sa-can-create-pods, validationActions: [Deny]}
`;

const RBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-creator, namespace: shop}
rules: [{apiGroups: [""], resources: [pods], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-creator}
subjects: [{kind: ServiceAccount, name: deployer}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dangling, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gone}
subjects: [{kind: User, name: nobody}]
`;

const deployment = (sa: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: ${sa}
      containers: [{name: c, image: "ghcr.io/x/web:1"}]
`;

const TEST = `apiVersion: belay.dev/v1alpha1
kind: PolicyTest
cases:
  - name: deployer may create pods
    object: {apiVersion: apps/v1, kind: Deployment, metadata: {name: a, namespace: shop}, spec: {template: {spec: {serviceAccountName: deployer}}}}
    expect: allow
  - name: default may not
    object: {apiVersion: apps/v1, kind: Deployment, metadata: {name: b, namespace: shop}, spec: {template: {spec: {serviceAccountName: default}}}}
    expect: deny
    message: service account default cannot create pods in shop
`;

function files(entries: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "belay-eval-rbac-"));
  for (const [name, text] of Object.entries(entries)) {
    const path = join(dir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
  }
  return dir;
}

describe("--rbac answers authorizer checks offline", () => {
  const dir = files({
    "policy.yaml": POLICY,
    "rbac.yaml": RBAC,
    "good.yaml": deployment("deployer"),
    "bad.yaml": deployment("default"),
    "nothing.yaml": deployment("x"),
    "suite/policy.yaml": POLICY,
    "suite/rbac.yaml": RBAC,
    "suite/tests.yaml": TEST,
  });
  const at = (f: string) => join(dir, f);

  it("belay eval allows what RBAC grants and denies the rest, with the policy's message", async () => {
    const base = ["eval", "--policy", at("policy.yaml"), "--rbac", at("rbac.yaml")];
    const good = await runCli([...base, "--resource", at("good.yaml")]);
    expect(good).toMatchObject({ code: 0, stdout: "allowed\n" });
    expect(good.stderr).toBe(
      "belay: warning: --rbac: RoleBinding/shop/dangling references Role/shop/gone, which does not exist; it grants nothing\n",
    );
    const bad = await runCli([...base, "--resource", at("bad.yaml")]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(
      "denied (422 Invalid): ValidatingAdmissionPolicy 'sa-can-create-pods' with binding 'sa-can-create-pods' denied request: service account default cannot create pods in shop\n",
    );
  });

  it("without --rbac, authorizer is null: an evaluation error, denied under failurePolicy Fail", async () => {
    const result = await runCli(["eval", "--policy", at("policy.yaml"), "--resource", at("good.yaml")]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^denied \(422 Invalid\): ValidatingAdmissionPolicy 'sa-can-create-pods' with binding 'sa-can-create-pods' denied request: expression 'authorizer\.serviceAccount\(.*' resulted in error: /,
    );
  });

  it("rejects an --rbac path without RBAC objects (exit 2)", async () => {
    const result = await runCli([
      "eval",
      "--policy",
      at("policy.yaml"),
      "--resource",
      at("good.yaml"),
      "--rbac",
      at("nothing.yaml"),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `belay: --rbac: ${at("nothing.yaml")} holds no Role, ClusterRole, RoleBinding or ClusterRoleBinding\n`,
    );
  });

  it("belay scan --policy --rbac reports the denied deployment only", async () => {
    const scan = await runCli([
      "scan",
      at("good.yaml"),
      at("bad.yaml"),
      "--policy",
      at("policy.yaml"),
      "--rbac",
      at("rbac.yaml"),
      "-o",
      "json",
    ]);
    const report = JSON.parse(scan.stdout) as {
      findings: { ruleId: string; message: string; resource: unknown }[];
    };
    const policyFindings = report.findings.filter((f) => f.ruleId === "sa-can-create-pods");
    expect(policyFindings.map((f) => f.message)).toEqual([
      "service account default cannot create pods in shop (binding sa-can-create-pods, validation 0)",
    ]);
  });

  it("belay scan --rbac without --policy is a usage error", async () => {
    const result = await runCli(["scan", at("good.yaml"), "--rbac", at("rbac.yaml")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "belay: --rbac answers the authorizer checks of policies; add --policy FILE|DIR\n",
    );
  });

  it("belay test uses the RBAC objects of the suite's folder", async () => {
    const result = await runCli(["test", at("suite")]);
    expect(result.stdout).toContain("policy tests: 2 passed, 0 failed");
    expect(result.code).toBe(0);
  });
});

describe("PolicySet.usesAuthorizer", () => {
  it("is true only when an expression mentions authorizer (the webhook then needs SubjectAccessReviews)", () => {
    expect(loadPolicySet(parseStream(POLICY, "p.yaml").resources).set.usesAuthorizer).toBe(true);
    const plain = POLICY.replace(/expression: "authorizer[^\n]*/, 'expression: "true"');
    expect(loadPolicySet(parseStream(plain, "p.yaml").resources).set.usesAuthorizer).toBe(false);
  });
});

describe("--k8s-version", () => {
  const dir = files({
    "includes.yaml": POLICY.replace(/expression: "authorizer[^\n]*/, `expression: "[1, 2].includes(2)"`),
    "good.yaml": deployment("deployer"),
  });

  it("compiles policies as that API server checks new ones (the previous release's functions)", async () => {
    const result = await runCli([
      "eval",
      "--policy",
      join(dir, "includes.yaml"),
      "--resource",
      join(dir, "good.yaml"),
      "--k8s-version",
      "1.37",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `spec.validations[0].expression: compilation failed: undeclared reference to 'includes': available from Kubernetes 1.38 for new expressions`,
    );
  });

  it("rejects versions belay does not model (exit 2)", async () => {
    const args = ["eval", "--policy", join(dir, "includes.yaml"), "--resource", join(dir, "good.yaml")];
    const newer = await runCli([...args, "--k8s-version", "1.40"]);
    expect(newer.code).toBe(2);
    expect(newer.stderr).toBe(
      `belay: invalid --k8s-version: Kubernetes version "1.40" is newer than belay's CEL environment: 1.37 is the newest modelled\n`,
    );
    const bad = await runCli(["test", dir, "--k8s-version", "one"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `belay: invalid --k8s-version: invalid Kubernetes version "one": expected MAJOR.MINOR such as 1.30\n`,
    );
  });
});
