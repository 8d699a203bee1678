import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parsePolicies } from "./parse.ts";
import { fieldErrors, fixtureFromText, load } from "./test-helpers.ts";

const fixtureResources = (name: string) =>
  fixtureFromText(name, readFileSync(new URL(`../../../test/fixtures/vap/${name}`, import.meta.url), "utf8"));

/** A valid policy with `spec` lines appended/replaced. */
function policy(spec: string, name = "p.example.com"): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ${name}
spec:
${spec}`;
}

const RULES = `  matchConstraints:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["deployments"]
`;
const VALIDATIONS = `  validations:
  - expression: "true"
`;

function binding(spec: string, name = "b.example.com"): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ${name}
spec:
${spec}`;
}

function ruleErrors(rule: string): string[] {
  return fieldErrors(policy(`  matchConstraints:\n    resourceRules:\n    - ${rule}\n${VALIDATIONS}`));
}

describe("parsePolicies: valid objects and defaults", () => {
  it("applies the API server's defaults", () => {
    const { policies, errors } = load(policy(RULES + VALIDATIONS));
    expect(errors).toEqual([]);
    expect(policies).toHaveLength(1);
    const spec = policies[0]?.spec;
    expect(spec?.failurePolicy).toBe("Fail");
    expect(spec?.matchConstraints).toEqual({
      namespaceSelector: { matchLabels: {}, matchExpressions: [] },
      objectSelector: { matchLabels: {}, matchExpressions: [] },
      resourceRules: [
        {
          resourceNames: [],
          operations: ["CREATE"],
          apiGroups: ["apps"],
          apiVersions: ["v1"],
          resources: ["deployments"],
          scope: "*",
        },
      ],
      excludeResourceRules: [],
      matchPolicy: "Equivalent",
    });
    expect(spec?.validations).toEqual([{ expression: "true", message: "", messageExpression: "" }]);
    expect(spec?.paramKind).toBeUndefined();
  });

  it("loads the upstream docs examples", () => {
    const demo = parsePolicies(fixtureResources("demo-policy.yaml"));
    expect(demo.errors).toEqual([]);
    expect(demo.policies.map((p) => p.metadata.name)).toEqual([
      "demo-policy.example.com",
      "demo-policy-audit.example.com",
    ]);
    const audit = demo.policies[1];
    expect(audit?.spec.failurePolicy).toBe("Ignore");
    expect(audit?.spec.variables).toEqual([
      { name: "containers", expression: "has(object.spec.containers) ? object.spec.containers : []" },
    ]);
    expect(audit?.spec.auditAnnotations[0]?.key).toBe("high-replica-count");
    expect(demo.bindings[1]?.spec).toEqual({
      policyName: "demo-policy-audit.example.com",
      validationActions: ["Warn", "Audit"],
    });

    const replica = parsePolicies(fixtureResources("replica-limit.yaml"));
    expect(replica.errors).toEqual([]);
    expect(replica.policies[0]?.spec.paramKind).toEqual({
      apiVersion: "rules.example.com/v1",
      kind: "ReplicaLimit",
    });
    expect(replica.bindings[0]?.spec.paramRef).toEqual({
      name: "replica-limit-test.example.com",
      namespace: "default",
      parameterNotFoundAction: "Deny",
    });
  });

  it("ignores other kinds and keeps good objects next to broken ones", () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
${policy(RULES + VALIDATIONS, "good")}
---
${policy(`  failurePolicy: Never\n${RULES}${VALIDATIONS}`, "bad")}`;
    const result = load(text);
    expect(result.policies.map((p) => p.metadata.name)).toEqual(["good"]);
    expect(result.errors.map((e) => e.message)).toEqual([
      'ValidatingAdmissionPolicy "bad": spec.failurePolicy: Unsupported value: "Never": supported values: "Fail", "Ignore"',
    ]);
  });
});

describe("parsePolicies: the invalid fixture, every error with file and line", () => {
  it("reports all errors in the API server's order and wording", () => {
    const result = parsePolicies(fixtureResources("invalid.yaml"));
    expect(result.policies).toEqual([]);
    expect(result.bindings).toEqual([]);
    expect(result.errors.map((e) => `${e.file}:${e.line}: ${e.message}`)).toEqual([
      'test/fixtures/vap/invalid.yaml:7: ValidatingAdmissionPolicy "broken-policy": spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"',
      'test/fixtures/vap/invalid.yaml:9: ValidatingAdmissionPolicy "broken-policy": spec.matchConstraints.matchPolicy: Unsupported value: "Fuzzy": supported values: "Equivalent", "Exact"',
      'test/fixtures/vap/invalid.yaml:13: ValidatingAdmissionPolicy "broken-policy": spec.matchConstraints.resourceRules[0].operations[1]: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"',
      'test/fixtures/vap/invalid.yaml:11: ValidatingAdmissionPolicy "broken-policy": spec.matchConstraints.resourceRules[0].apiGroups: Invalid value: ["*","apps"]: if \'*\' is present, must not specify other API groups',
      'test/fixtures/vap/invalid.yaml:12: ValidatingAdmissionPolicy "broken-policy": spec.matchConstraints.resourceRules[0].apiVersions[1]: Required value',
      'test/fixtures/vap/invalid.yaml:14: ValidatingAdmissionPolicy "broken-policy": spec.matchConstraints.resourceRules[0].resources: Invalid value: ["*","pods"]: if \'*\' is present, must not specify other resources without subresources',
      'test/fixtures/vap/invalid.yaml:15: ValidatingAdmissionPolicy "broken-policy": spec.matchConstraints.resourceRules[0].scope: Unsupported value: "Global": supported values: "*", "Cluster", "Namespaced"',
      "test/fixtures/vap/invalid.yaml:27: ValidatingAdmissionPolicy \"broken-policy\": spec.matchConditions[0].name: Invalid value: \"has space\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      'test/fixtures/vap/invalid.yaml:32: ValidatingAdmissionPolicy "broken-policy": spec.matchConditions[2].expression: Required value',
      'test/fixtures/vap/invalid.yaml:31: ValidatingAdmissionPolicy "broken-policy": spec.matchConditions[2].name: Duplicate value: "dup"',
      'test/fixtures/vap/invalid.yaml:22: ValidatingAdmissionPolicy "broken-policy": spec.variables[0].name: Invalid value: "1bad": must be a valid CEL identifier',
      'test/fixtures/vap/invalid.yaml:24: ValidatingAdmissionPolicy "broken-policy": spec.variables[1].name: Invalid value: "in": must be a valid CEL identifier',
      'test/fixtures/vap/invalid.yaml:25: ValidatingAdmissionPolicy "broken-policy": spec.variables[1].expression: Required value: expression is not specified',
      'test/fixtures/vap/invalid.yaml:18: ValidatingAdmissionPolicy "broken-policy": spec.validations[1].expression: Required value: expression is not specified',
      'test/fixtures/vap/invalid.yaml:19: ValidatingAdmissionPolicy "broken-policy": spec.validations[2].expression: Required value: expression is not specified',
      'test/fixtures/vap/invalid.yaml:20: ValidatingAdmissionPolicy "broken-policy": spec.validations[2].reason: Unsupported value: "Teapot": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge"',
      'test/fixtures/vap/invalid.yaml:38: ValidatingAdmissionPolicyBinding "broken-binding": spec.policyName: Required value',
      'test/fixtures/vap/invalid.yaml:41: ValidatingAdmissionPolicyBinding "broken-binding": spec.paramRef.name: Forbidden: name and selector are mutually exclusive',
      'test/fixtures/vap/invalid.yaml:42: ValidatingAdmissionPolicyBinding "broken-binding": spec.paramRef.selector: Forbidden: name and selector are mutually exclusive',
      'test/fixtures/vap/invalid.yaml:40: ValidatingAdmissionPolicyBinding "broken-binding": spec.paramRef.parameterNotFoundAction: Required value',
      'test/fixtures/vap/invalid.yaml:39: ValidatingAdmissionPolicyBinding "broken-binding": spec.validationActions[2]: Duplicate value: "Deny"',
      'test/fixtures/vap/invalid.yaml:39: ValidatingAdmissionPolicyBinding "broken-binding": spec.validationActions[3]: Unsupported value: "Block": supported values: "Audit", "Deny", "Warn"',
      'test/fixtures/vap/invalid.yaml:39: ValidatingAdmissionPolicyBinding "broken-binding": spec.validationActions: Invalid value: ["Deny","Warn","Deny","Block"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)',
      'test/fixtures/vap/invalid.yaml:51: ValidatingAdmissionPolicy "no-rules": spec.matchConstraints.resourceRules: Required value',
      'test/fixtures/vap/invalid.yaml:50: ValidatingAdmissionPolicy "no-rules": spec.validations: Required value: validations or auditAnnotations must contain at least one item',
      'test/fixtures/vap/invalid.yaml:50: ValidatingAdmissionPolicy "no-rules": spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item',
    ]);
    expect(result.errors[0]).toMatchObject({
      field: "spec.failurePolicy",
      column: 3,
      kind: "ValidatingAdmissionPolicy",
    });
  });
});

describe("parsePolicies: policy field errors", () => {
  const cases: [string, string, string[]][] = [
    ["missing matchConstraints", VALIDATIONS, ["spec.matchConstraints: Required value"]],
    [
      "no validations nor auditAnnotations",
      RULES,
      [
        "spec.validations: Required value: validations or auditAnnotations must contain at least one item",
        "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item",
      ],
    ],
    [
      "auditAnnotations alone are enough",
      `${RULES}  auditAnnotations:\n  - key: k\n    valueExpression: "'v'"\n`,
      [],
    ],
    [
      "blank message",
      `${RULES}  validations:\n  - expression: "true"\n    message: "  "\n`,
      ['spec.validations[0].message: Invalid value: "  ": must be non-empty if specified'],
    ],
    [
      "message with a line break",
      `${RULES}  validations:\n  - expression: "true"\n    message: "a\\nb"\n`,
      ['spec.validations[0].message: Invalid value: "a\\nb": must not contain line breaks'],
    ],
    [
      "blank messageExpression",
      `${RULES}  validations:\n  - expression: "true"\n    messageExpression: " "\n`,
      ['spec.validations[0].messageExpression: Invalid value: " ": must be non-empty if specified'],
    ],
    [
      "paramKind without fields",
      `  paramKind: {}\n${RULES}${VALIDATIONS}`,
      ["spec.paramKind.apiVersion: Required value", "spec.paramKind.kind: Required value"],
    ],
    [
      "paramKind with a bad apiVersion and kind",
      `  paramKind: {apiVersion: "a/b/c", kind: "Foo_Bar"}\n${RULES}${VALIDATIONS}`,
      [
        'spec.paramKind.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
        "spec.paramKind.kind: Invalid value: \"Foo_Bar\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ],
    ],
    [
      "paramKind group without version",
      `  paramKind: {apiVersion: "example.com/", kind: "Foo"}\n${RULES}${VALIDATIONS}`,
      ['spec.paramKind.apiVersion: Invalid value: "example.com/": version must be specified'],
    ],
    [
      "duplicate audit annotation keys and a bad key",
      `${RULES}  auditAnnotations:\n  - key: a\n    valueExpression: "'1'"\n  - key: a\n    valueExpression: "'2'"\n  - key: "b c"\n    valueExpression: ""\n`,
      [
        'spec.auditAnnotations[1].key: Duplicate value: "a"',
        "spec.auditAnnotations[2].key: Invalid value: \"p.example.com/b c\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "spec.auditAnnotations[2].valueExpression: Required value: valueExpression is not specified",
      ],
    ],
    [
      "too long audit valueExpression",
      `${RULES}  auditAnnotations:\n  - key: a\n    valueExpression: "${"x".repeat(5121)}"\n`,
      ["spec.auditAnnotations[0].valueExpression: Required value: must not exceed 5120 bytes in length"],
    ],
    [
      "selectors are validated strictly",
      `  matchConstraints:\n    namespaceSelector:\n      matchLabels: {"env": "bad value"}\n      matchExpressions:\n      - {key: tier, operator: In}\n      - {key: tier, operator: Exists, values: [a]}\n      - {key: tier, operator: Near}\n    resourceRules:\n    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}\n${VALIDATIONS}`,
      [
        "spec.matchConstraints.namespaceSelector.matchLabels: Invalid value: \"bad value\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        "spec.matchConstraints.namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        "spec.matchConstraints.namespaceSelector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        'spec.matchConstraints.namespaceSelector.matchExpressions[2].operator: Invalid value: "Near": not a valid selector operator',
      ],
    ],
    [
      "too many matchConditions",
      `${RULES}${VALIDATIONS}  matchConditions:\n${Array.from({ length: 65 }, (_, i) => `  - {name: c${i}, expression: "true"}`).join("\n")}\n`,
      ["spec.matchConditions: Too many: 65: must have at most 64 items"],
    ],
    [
      "wrong types are reported, not thrown",
      `  failurePolicy: 3\n  validations: "nope"\n${RULES}`,
      [
        "spec.failurePolicy: Invalid value: 3: must be a string",
        'spec.validations: Invalid value: "nope": must be a list',
      ],
    ],
  ];
  it.each(cases)("%s", (_title, spec, expected) => {
    expect(fieldErrors(policy(spec))).toEqual(expected);
  });

  it("requires a valid metadata.name", () => {
    expect(fieldErrors(policy(RULES + VALIDATIONS, "Bad_Name"))).toEqual([
      "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    expect(fieldErrors(policy(RULES + VALIDATIONS, '""'))).toEqual([
      "metadata.name: Required value: name or generateName is required",
    ]);
  });

  it("reports a duplicate policy name and keeps the first", () => {
    const result = load(`${policy(RULES + VALIDATIONS)}\n---\n${policy(RULES + VALIDATIONS)}`);
    expect(result.policies).toHaveLength(1);
    expect(result.errors.map((e) => e.fieldError)).toEqual([
      'metadata.name: Duplicate value: "p.example.com"',
    ]);
  });

  it("rejects an unknown version of the group", () => {
    const text = policy(RULES + VALIDATIONS).replace("/v1\n", "/v2\n");
    expect(fieldErrors(text)).toEqual([
      'apiVersion: Unsupported value: "admissionregistration.k8s.io/v2": supported values: "admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1beta1"',
    ]);
  });
});

describe("parsePolicies: rule validation", () => {
  const base = 'apiGroups: [""]\n      apiVersions: ["v1"]\n      operations: ["CREATE"]\n      ';
  const cases: [string, string, string[]][] = [
    [
      "empty rule",
      "{}",
      [
        "spec.matchConstraints.resourceRules[0].operations: Required value",
        "spec.matchConstraints.resourceRules[0].apiGroups: Required value",
        "spec.matchConstraints.resourceRules[0].apiVersions: Required value",
        "spec.matchConstraints.resourceRules[0].resources: Required value",
      ],
    ],
    [
      "'*' with other operations",
      'apiGroups: [""]\n      apiVersions: ["v1"]\n      operations: ["*", "CREATE"]\n      resources: [pods]',
      [
        'spec.matchConstraints.resourceRules[0].operations: Invalid value: ["*","CREATE"]: if \'*\' is present, must not specify other operations',
      ],
    ],
    [
      "'*' with other versions",
      'apiGroups: [""]\n      apiVersions: ["*", "v1"]\n      operations: ["*"]\n      resources: [pods]',
      [
        'spec.matchConstraints.resourceRules[0].apiVersions: Invalid value: ["*","v1"]: if \'*\' is present, must not specify other API versions',
      ],
    ],
    [
      "'*/*' with others",
      `${base}resources: ["*/*", "pods"]`,
      [
        'spec.matchConstraints.resourceRules[0].resources: Invalid value: ["*/*","pods"]: if \'*/*\' is present, must not specify other resources',
      ],
    ],
    [
      "'pods/*' with 'pods/log'",
      `${base}resources: ["pods/*", "pods/log"]`,
      [
        "spec.matchConstraints.resourceRules[0].resources[1]: Invalid value: \"pods/log\": if 'pods/*' is present, must not specify pods/log",
      ],
    ],
    [
      "'*/scale' with 'deployments/scale'",
      `${base}resources: ["*/scale", "deployments/scale"]`,
      [
        "spec.matchConstraints.resourceRules[0].resources[1]: Invalid value: \"deployments/scale\": if '*/scale' is present, must not specify deployments/scale",
      ],
    ],
    ["'*' with subresources is fine", `${base}resources: ["*", "pods/log", "*/status"]`, []],
    [
      "empty resource",
      `${base}resources: ["pods", ""]`,
      ["spec.matchConstraints.resourceRules[0].resources[1]: Required value"],
    ],
    [
      "bad and duplicate resourceNames",
      `${base}resources: [pods]\n      resourceNames: ["a/b", "..", "x", "x"]`,
      [
        "spec.matchConstraints.resourceRules[0].resourceNames[0]: Invalid value: \"a/b\": may not contain '/'",
        "spec.matchConstraints.resourceRules[0].resourceNames[1]: Invalid value: \"..\": may not be '..'",
        'spec.matchConstraints.resourceRules[0].resourceNames[3]: Duplicate value: "x"',
      ],
    ],
  ];
  it.each(cases)("%s", (_title, rule, expected) => {
    expect(ruleErrors(rule)).toEqual(expected);
  });
});

describe("parsePolicies: binding field errors", () => {
  const cases: [string, string, string[]][] = [
    ["valid minimal binding", "  policyName: p\n  validationActions: [Deny]\n", []],
    [
      "empty spec",
      "  {}\n",
      [
        "spec.policyName: Required value",
        "spec.validationActions: Required value: at least one validation action is required",
      ],
    ],
    [
      "bad policy name",
      "  policyName: P_1\n  validationActions: [Audit]\n",
      [
        "spec.policyName: Invalid value: \"P_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    ],
    [
      "paramRef with neither name nor selector",
      "  policyName: p\n  validationActions: [Deny]\n  paramRef: {namespace: x}\n",
      [
        "spec.paramRef: Required value: one of name or selector must be specified",
        "spec.paramRef.parameterNotFoundAction: Required value",
      ],
    ],
    [
      "paramRef with a bad action and name",
      "  policyName: p\n  validationActions: [Deny]\n  paramRef: {name: 'a%b', parameterNotFoundAction: Ignore}\n",
      [
        "spec.paramRef.name: Invalid value: \"a%b\": may not contain '%'",
        'spec.paramRef.parameterNotFoundAction: Unsupported value: "Ignore": supported values: "Deny", "Allow"',
      ],
    ],
    [
      "empty selector is allowed",
      "  policyName: p\n  validationActions: [Deny]\n  paramRef: {selector: {}, parameterNotFoundAction: Allow}\n",
      [],
    ],
    [
      "matchResources is validated with defaults",
      "  policyName: p\n  validationActions: [Warn, Audit]\n  matchResources:\n    matchPolicy: Loose\n    excludeResourceRules:\n    - {apiGroups: [''], apiVersions: [v1], operations: [DELETE], resources: [pods], scope: Namespaced}\n",
      [
        'spec.matchResources.matchPolicy: Unsupported value: "Loose": supported values: "Equivalent", "Exact"',
      ],
    ],
  ];
  it.each(cases)("%s", (_title, spec, expected) => {
    expect(fieldErrors(binding(spec))).toEqual(expected);
  });

  it("keeps matchResources unset when absent and defaults it when present", () => {
    const { bindings } = load(`${binding("  policyName: p\n  validationActions: [Deny]\n")}
---
${binding("  policyName: p\n  validationActions: [Deny]\n  matchResources: {}\n", "b2")}`);
    expect(bindings[0]?.spec.matchResources).toBeUndefined();
    expect(bindings[1]?.spec.matchResources?.matchPolicy).toBe("Equivalent");
    expect(bindings[1]?.spec.matchResources?.resourceRules).toEqual([]);
  });
});

describe("unknown fields (strict decoding, kubectl's default field validation)", () => {
  it("reports a misspelt field with its path, before the validation errors it causes", () => {
    const parsed = load(policy(`${RULES}  validations:\n  - expresion: "true"\n`));
    expect(parsed.policies).toEqual([]);
    expect(parsed.errors.map((e) => e.message)).toEqual([
      'ValidatingAdmissionPolicy "p.example.com": strict decoding error: unknown field "spec.validations[0].expresion"',
      'ValidatingAdmissionPolicy "p.example.com": spec.validations[0].expression: Required value: expression is not specified',
    ]);
    expect(parsed.errors[0]).toMatchObject({
      field: "spec.validations[0].expresion",
      fieldError: 'unknown field "spec.validations[0].expresion"',
      file: "policy.yaml",
      line: 13,
    });
  });

  it("walks nested types and lists, in document order, and leaves maps and free-form fields alone", () => {
    const text = `${policy(`  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments], resourceName: [x]}
    namespaceSelector:
      matchExpressions: [{key: a, operator: In, valuse: [b]}]
      matchLabels: {anything: goes}
  validations:
  - expression: "true"
  paramKnd: {kind: ConfigMap}
status:
  typeChecking: {expressionWarnings: [{fieldRef: x, warning: y}]}
  conditions: [{type: Ready, status: "True", lastTransitionTime: null, reason: r, message: m, extra: 1}]
`)}`;
    const withMeta = text.replace(
      "metadata:\n  name: p.example.com\n",
      "metadata:\n  name: p.example.com\n  labels: {x: z}\n  managedFields: [{manager: m, fieldsV1: {f:spec: {}}}]\n  lables: {}\n",
    );
    expect(fieldErrors(withMeta)).toEqual([
      'unknown field "metadata.lables"',
      'unknown field "spec.matchConstraints.resourceRules[0].resourceName"',
      'unknown field "spec.matchConstraints.namespaceSelector.matchExpressions[0].valuse"',
      'unknown field "spec.paramKnd"',
      'unknown field "status.conditions[0].extra"',
      "spec.matchConstraints.namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ]);
  });

  it("knows the binding's fields (a binding has no status)", () => {
    expect(
      fieldErrors(
        `${binding("  policyName: p\n  validationActions: [Deny]\n  paramRef: {name: x, parameterNotFoundAction: Deny, namespce: y}\n")}status: {}\n`,
      ),
    ).toEqual(['unknown field "spec.paramRef.namespce"', 'unknown field "status"']);
  });
});
