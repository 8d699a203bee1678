/**
 * The ValidatingAdmissionPolicy catalog in `policies/`: every template loads like the API server
 * loads it, every CEL expression compiles in belay's Kubernetes CEL environment, bindings and
 * params fit their policy, metadata is complete, and every test case in `tests.yaml` gets the
 * expected verdict (and message) from a small, self-contained VAP evaluation
 * (evaluationUnits → matchConditions → validations → validationActions) on belay's CEL API.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CelEnvironment,
  type CompiledExpression,
  createCelEnvironment,
  createCostBudget,
  LATEST_K8S_VERSION,
  VAP_VARIABLES,
} from "../src/cel/index.ts";
import {
  type AdmissionRequest,
  type EvaluateUnit,
  evaluationUnits,
  type GroupVersionKind,
  type Operation,
  parsePolicies,
  requestForObject,
  type ValidatingAdmissionPolicy,
} from "../src/policy/vap/index.ts";
import { parseStream } from "../src/resources/parse.ts";
import type { KubeObject } from "../src/resources/types.ts";

const ROOT = new URL("../policies/", import.meta.url).pathname;
const SEVERITIES = ["critical", "high", "medium", "low", "info"];
const OPERATIONS: Operation[] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

const templates = readdirSync(ROOT)
  .filter((name) => statSync(join(ROOT, name)).isDirectory())
  .sort();

const env = createCelEnvironment({ k8sVersion: LATEST_K8S_VERSION, variables: VAP_VARIABLES });

/** One case of a `tests.yaml` (`belay.dev/v1alpha1` PolicyTest). */
interface PolicyTestCase {
  name: string;
  operation?: Operation;
  object?: KubeObject | null;
  objectFile?: string;
  oldObject?: KubeObject | null;
  namespaceObject?: KubeObject | null;
  /** Overrides of the request derived from the object (needed for subresources and CONNECT). */
  resource?: { group: string; version: string; resource: string; subresource?: string };
  kind?: GroupVersionKind;
  namespace?: string;
  /** The request's name (e.g. the pod of a CONNECT); `name` is the case's own name. */
  resourceName?: string;
  /** `request.userInfo` (default: an authenticated user with no special groups). */
  userInfo?: { username?: string; groups?: string[] };
  expect: "allow" | "deny" | "warn";
  message?: string;
}

function objects(file: string): KubeObject[] {
  const parsed = parseStream(readFileSync(file, "utf8"), file);
  expect(parsed.errors, file).toEqual([]);
  return parsed.resources.map((r) => r.object);
}

function load(name: string) {
  const dir = join(ROOT, name);
  const file = (f: string) => join(dir, f);
  const resources = ["policy.yaml", "binding.yaml"].flatMap(
    (f) => parseStream(readFileSync(file(f), "utf8"), file(f)).resources,
  );
  const parsed = parsePolicies(resources);
  const params = existsSync(file("params.yaml")) ? objects(file("params.yaml")) : [];
  const tests = objects(file("tests.yaml"))[0] as {
    apiVersion: string;
    kind: string;
    cases: PolicyTestCase[];
  };
  return { dir, parsed, params, tests };
}

/** Every CEL expression of a policy with the type it must have. */
function expressions(
  policy: ValidatingAdmissionPolicy,
): { where: string; expr: string; type?: "bool" | "string" }[] {
  const s = policy.spec;
  return [
    ...s.matchConditions.map((m, i) => ({
      where: `matchConditions[${i}]`,
      expr: m.expression,
      type: "bool" as const,
    })),
    ...s.variables.map((v, i) => ({ where: `variables[${i}] (${v.name})`, expr: v.expression })),
    ...s.validations.flatMap((v, i) => [
      { where: `validations[${i}].expression`, expr: v.expression, type: "bool" as const },
      ...(v.messageExpression === ""
        ? []
        : [
            {
              where: `validations[${i}].messageExpression`,
              expr: v.messageExpression,
              type: "string" as const,
            },
          ]),
    ]),
    ...s.auditAnnotations.map((a, i) => ({ where: `auditAnnotations[${i}]`, expr: a.valueExpression })),
  ];
}

function compile(cel: CelEnvironment, expr: string, type?: "bool" | "string"): CompiledExpression {
  const c = cel.compile(expr, type === undefined ? {} : { expectedType: type });
  if (!c.ok)
    throw new Error(`${expr}: ${c.error.map((e) => `${e.line}:${e.column} ${e.message}`).join("; ")}`);
  return c.value;
}

/** The admission request of a test case. */
function requestOf(c: PolicyTestCase, dir: string): AdmissionRequest {
  const operation = c.operation ?? "CREATE";
  let object = c.object ?? null;
  if (c.objectFile !== undefined) object = objects(join(dir, c.objectFile))[0] ?? null;
  const base = object ?? c.oldObject ?? {};
  const request = requestForObject(base, operation, {
    ...(c.oldObject === undefined ? {} : { oldObject: c.oldObject }),
    ...(c.namespaceObject === undefined ? {} : { namespaceObject: c.namespaceObject }),
  });
  if (operation === "CONNECT") request.oldObject = null;
  if (operation === "DELETE") request.object = null;
  if (c.resource !== undefined) request.resource = { subresource: "", ...c.resource };
  if (c.kind !== undefined) request.kind = c.kind;
  if (c.namespace !== undefined) request.namespace = c.namespace;
  if (c.resourceName !== undefined) request.name = c.resourceName;
  return request;
}

/** The `request` CEL variable (admission.k8s.io/v1 AdmissionRequest without the objects). */
function requestVariable(request: AdmissionRequest, c: PolicyTestCase): Record<string, unknown> {
  const { group, version, resource, subresource } = request.resource;
  return {
    uid: "00000000-0000-0000-0000-000000000000",
    kind: request.kind,
    resource: { group, version, resource },
    subResource: subresource,
    requestKind: request.kind,
    requestResource: { group, version, resource },
    requestSubResource: subresource,
    name: request.name,
    namespace: request.namespace,
    operation: request.operation,
    userInfo: {
      username: c.userInfo?.username ?? "jane@example.com",
      groups: c.userInfo?.groups ?? ["system:authenticated"],
    },
    dryRun: false,
  };
}

type Verdict = { result: "allow" | "deny" | "warn"; message?: string };

/** A self-contained VAP evaluation of one unit (upstream `validating/validator.go`), on belay's CEL API. */
function evaluateUnit(unit: EvaluateUnit, request: AdmissionRequest, c: PolicyTestCase): Verdict {
  const spec = unit.policy.spec;
  const lazyVariables = Object.fromEntries(spec.variables.map((v) => [v.name, compile(env, v.expression)]));
  const activation = env.activation(
    {
      object: request.object,
      oldObject: request.oldObject,
      request: requestVariable(request, c),
      params: unit.param,
      namespaceObject: request.namespaceObject ?? null,
    },
    { lazyVariables },
  );
  const budget = createCostBudget();
  const fail = (message: string): Verdict =>
    spec.failurePolicy === "Fail" ? { result: "deny", message } : { result: "allow" };
  let conditionError: string | undefined;
  for (const m of spec.matchConditions) {
    const r = compile(env, m.expression, "bool").evaluate(activation, { costBudget: budget });
    if (r.kind === "error") conditionError ??= `matchCondition ${m.name}: ${r.message}`;
    else if (r.value === false) return { result: "allow" };
  }
  if (conditionError !== undefined) return fail(conditionError);
  for (const v of spec.validations) {
    const r = compile(env, v.expression, "bool").evaluate(activation, { costBudget: budget });
    if (r.kind === "error") return fail(`expression '${v.expression}' resulted in error: ${r.message}`);
    if (r.value === true) continue;
    let message = v.message === "" ? `failed expression: ${v.expression}` : v.message;
    if (v.messageExpression !== "") {
      const m = compile(env, v.messageExpression, "string").evaluate(activation, { costBudget: budget });
      if (m.kind === "error") throw new Error(`messageExpression failed: ${m.message}`);
      if (typeof m.value === "string" && m.value.trim() !== "") message = m.value;
    }
    const actions = unit.binding.spec.validationActions;
    if (actions.includes("Deny")) return { result: "deny", message };
    if (actions.includes("Warn")) return { result: "warn", message };
    return { result: "allow" };
  }
  return { result: "allow" };
}

function verdict(name: string, c: PolicyTestCase): Verdict {
  const { dir, parsed, params } = load(name);
  const request = requestOf(c, dir);
  let warn: Verdict | undefined;
  for (const unit of evaluationUnits(parsed.policies, parsed.bindings, request, params)) {
    if (unit.type === "config-error") {
      if (unit.denies) return { result: "deny", message: unit.message };
      continue;
    }
    const v = evaluateUnit(unit, request, c);
    if (v.result === "deny") return v;
    if (v.result === "warn") warn ??= v;
  }
  return warn ?? { result: "allow" };
}

describe("policies/ catalog", () => {
  it("has at least 25 templates, each with policy, binding and tests", () => {
    expect(templates.length).toBeGreaterThanOrEqual(25);
    for (const name of templates) {
      for (const f of ["policy.yaml", "binding.yaml", "tests.yaml"]) {
        expect(existsSync(join(ROOT, name, f)), `${name}/${f}`).toBe(true);
      }
    }
  });

  it("README lists every template", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const name of templates) expect(readme, name).toContain(`[\`${name}\`](${name}/)`);
  });
});

describe.each(templates)("policies/%s", (name) => {
  it("loads through parsePolicies with no errors", () => {
    const { parsed } = load(name);
    expect(parsed.errors.map((e) => e.message)).toEqual([]);
    expect(parsed.policies.map((p) => p.metadata.name)).toEqual([name]);
    expect(parsed.bindings).toHaveLength(1);
  });

  it("every expression compiles", () => {
    const { parsed } = load(name);
    const policy = parsed.policies[0] as ValidatingAdmissionPolicy;
    const errors: string[] = [];
    for (const { where, expr, type } of expressions(policy)) {
      const c = env.compile(expr, type === undefined ? {} : { expectedType: type });
      if (!c.ok) errors.push(`${where}: ${c.error.map((e) => e.message).join("; ")}`);
    }
    expect(errors).toEqual([]);
    expect(policy.spec.validations.length).toBeGreaterThan(0);
    for (const v of policy.spec.validations)
      expect(v.message !== "" || v.messageExpression !== "").toBe(true);
  });

  it("has complete metadata annotations", () => {
    const policy = load(name).parsed.policies[0] as ValidatingAdmissionPolicy;
    const a = policy.metadata.annotations;
    expect(a["belay.dev/title"]?.trim().length ?? 0).toBeGreaterThan(5);
    expect(a["belay.dev/title"]).not.toMatch(/\.$/);
    expect(a["belay.dev/description"]?.length ?? 0).toBeGreaterThan(60);
    expect(a["belay.dev/description"]).toMatch(/\.$/);
    expect(SEVERITIES).toContain(a["belay.dev/severity"]);
    expect(a["belay.dev/remediation"]).toMatch(/^[A-Z][^\n]*\.$/);
    if (a["belay.dev/frameworks"] !== undefined) expect(a["belay.dev/frameworks"]).toMatch(/^\S.*\S$/);
  });

  it("binding and params fit the policy", () => {
    const { parsed, params } = load(name);
    const policy = parsed.policies[0] as ValidatingAdmissionPolicy;
    const binding = parsed.bindings[0];
    expect(binding?.metadata.name).toBe(name);
    expect(binding?.spec.policyName).toBe(name);
    expect(binding?.spec.validationActions).toContain("Deny");
    if (policy.spec.paramKind === undefined) {
      expect(binding?.spec.paramRef).toBeUndefined();
      expect(params).toEqual([]);
      return;
    }
    expect(policy.spec.paramKind).toEqual({ apiVersion: "v1", kind: "ConfigMap" });
    const ref = binding?.spec.paramRef;
    expect(ref?.parameterNotFoundAction).toBe("Deny");
    expect(params).toHaveLength(1);
    const param = params[0] as KubeObject;
    const meta = param.metadata as { name: string; namespace: string };
    expect([param.apiVersion, param.kind]).toEqual(["v1", "ConfigMap"]);
    expect({ name: ref?.name, namespace: ref?.namespace }).toEqual({
      name: meta.name,
      namespace: meta.namespace,
    });
    expect(meta.namespace).toBe("belay-system");
    const data = param.data as Record<string, unknown>;
    for (const value of Object.values(data)) expect(typeof value).toBe("string");
    // Every params.data key the policy reads is in the example params.
    const used = new Set(
      expressions(policy).flatMap(({ expr }) =>
        [...expr.matchAll(/params\.data\.\??(\w+)/g)].map((m) => m[1]),
      ),
    );
    for (const key of used) expect(Object.keys(data), `params.data.${key}`).toContain(key);
  });

  it("tests.yaml has at least 2 allow and 2 deny cases with valid objects", () => {
    const { dir, tests } = load(name);
    expect([tests.apiVersion, tests.kind]).toEqual(["belay.dev/v1alpha1", "PolicyTest"]);
    const cases = tests.cases;
    expect(cases.filter((c) => c.expect === "allow").length).toBeGreaterThanOrEqual(2);
    expect(cases.filter((c) => c.expect === "deny").length).toBeGreaterThanOrEqual(2);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const c of cases) {
      expect(OPERATIONS, c.name).toContain(c.operation ?? "CREATE");
      expect(["allow", "deny", "warn"], c.name).toContain(c.expect);
      const objs = c.objectFile === undefined ? [c.object, c.oldObject] : objects(join(dir, c.objectFile));
      for (const o of [...objs, c.namespaceObject]) {
        if (o === undefined || o === null) continue;
        expect(typeof o.apiVersion === "string" && typeof o.kind === "string", c.name).toBe(true);
      }
      if (c.operation === "DELETE") expect(c.object ?? null, c.name).toBeNull();
      else expect(c.object ?? c.objectFile, c.name).toBeDefined();
    }
  });

  const { tests } = load(name);
  it.each(tests.cases.map((c) => [c.name, c] as const))("case: %s", (_, c) => {
    const v = verdict(name, c);
    expect(v.result).toBe(c.expect);
    if (c.message !== undefined) expect(v.message).toBe(c.message);
  });
});
