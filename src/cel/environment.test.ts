import { describe, expect, it } from "vitest";
import { createCelEnvironment, VAP_VARIABLES } from "./environment.ts";
import { createCostBudget, MAX_MESSAGE_EXPRESSION_LENGTH, truncateMessage } from "./index.ts";
import type { AuthzAttributes, CelAuthorizer } from "./lib/authz.ts";
import { LATEST_K8S_VERSION, parseK8sVersion, v } from "./version.ts";

const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", labels: { app: "web" } },
  spec: { replicas: 3, containers: [{ name: "app", image: "nginx:1.25" }] },
};

describe("createCelEnvironment / compile / evaluate", () => {
  const env = createCelEnvironment({ k8sVersion: v(1, 34), variables: VAP_VARIABLES });

  it("compiles once and evaluates many times with plain JS in and out", () => {
    const c = env.compile("object.spec.containers.map(c, c.image)", { expectedType: "list" });
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.value.evaluate({ object: pod })).toMatchObject({ kind: "value", value: ["nginx:1.25"] });
    expect(c.value.evaluate({ object: { ...pod, spec: { containers: [] } } })).toMatchObject({ value: [] });
  });

  it("JSON integers are CEL ints, other numbers doubles", () => {
    const c = env.compile("type(object.a) == int && type(object.b) == double");
    expect(c.ok && c.value.evaluate({ object: { a: 1, b: 1.5 } })).toMatchObject({ value: true });
  });

  it("reports every compile error with its position", () => {
    const c = env.compile("nope(1) && object.x.matches('(') && undefinedVar");
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.error.map((e) => [e.message.split(":")[0], e.line, e.column])).toEqual([
      ["undeclared reference to 'nope' (in container '')", 1, 1],
      ["invalid regex '('", 1, 29],
      ["undeclared reference to 'undefinedVar' (in container '')", 1, 37],
    ]);
  });

  it("reports syntax errors with line and column", () => {
    const c = env.compile("object.spec\n  .x +");
    expect(c.ok).toBe(false);
    if (!c.ok)
      expect(c.error[0]).toMatchObject({ line: 2, message: expect.stringContaining("Syntax error") });
  });

  it("checks the expected type when it is statically known", () => {
    const c = env.compile("'a' + 'b'", { expectedType: "bool" });
    expect(c.ok).toBe(false);
    if (!c.ok)
      expect(c.error[0]?.message).toBe("cel expression must evaluate to bool, but evaluates to string");
    const d = env.compile("object.spec.x", { expectedType: "bool" });
    expect(d.ok && d.value.evaluate({ object: { spec: { x: "s" } } })).toMatchObject({
      kind: "error",
      code: "type",
    });
  });

  it("runtime errors are values, never thrown, and never a 'false'", () => {
    const c = env.compile("object.spec.missing == 1");
    expect(c.ok && c.value.evaluate({ object: pod })).toMatchObject({
      kind: "error",
      code: "runtime",
      message: "no such key: missing",
    });
  });

  it("unbound declared variables are null (oldObject on CREATE, params without paramKind)", () => {
    const c = env.compile("oldObject == null && params == null");
    expect(c.ok && c.value.evaluate({ object: pod })).toMatchObject({ value: true });
  });

  it("evaluates lazy VAP variables once per activation and composes them", () => {
    let calls = 0;
    const tracked = createCelEnvironment({ variables: { object: "dyn" } });
    const imageCount = env.compile("size(object.spec.containers)");
    const main = env.compile("variables.count == 1 && variables.count < 5");
    expect(imageCount.ok && main.ok).toBe(true);
    if (!imageCount.ok || !main.ok) return;
    const counting = {
      ...imageCount.value,
      evaluateCel: (a: Parameters<typeof imageCount.value.evaluateCel>[0]) => {
        calls++;
        return imageCount.value.evaluateCel(a);
      },
    };
    const act = env.activation({ object: pod }, { lazyVariables: { count: counting } });
    expect(main.value.evaluate(act)).toMatchObject({ value: true });
    expect(calls).toBe(1);
    expect(tracked.k8sVersion).toBeDefined();
  });

  it("authorizer checks go through the CelAuthorizer interface", () => {
    const seen: AuthzAttributes[] = [];
    const authorizer: CelAuthorizer = {
      authorize(a) {
        seen.push(a);
        return a.verb === "get"
          ? { decision: "allow", reason: "rbac" }
          : { decision: "deny", reason: "nope" };
      },
    };
    const c = env.compile(
      "authorizer.group('apps').resource('deployments').namespace('ns').name('d').check('get').allowed() && " +
        "!authorizer.serviceAccount('ns', 'sa').path('/healthz').check('post').allowed() && " +
        "authorizer.requestResource.check('get').reason() == 'rbac'",
    );
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    const act = env.activation(
      { object: pod },
      {
        authorizer,
        authorizerUser: { name: "alice", groups: ["dev", "system:authenticated"] },
        requestResource: { group: "", resource: "pods", namespace: "ns" },
      },
    );
    // Three checks cost 3 × 350,000: over the per-expression limit, as in kube-apiserver.
    expect(c.value.evaluate(act)).toMatchObject({ kind: "error", code: "cost-limit" });
    seen.length = 0;
    const r = c.value.evaluate(act, { costLimit: 5_000_000 });
    expect(r).toMatchObject({ kind: "value", value: true });
    const alice = { name: "alice", groups: ["dev", "system:authenticated"] };
    expect(seen).toEqual([
      { group: "apps", resource: "deployments", namespace: "ns", name: "d", verb: "get", user: alice },
      {
        path: "/healthz",
        verb: "post",
        // ServiceAccountInfo.UserInfo: the two service account groups only (no system:authenticated).
        user: {
          name: "system:serviceaccount:ns:sa",
          groups: ["system:serviceaccounts", "system:serviceaccounts:ns"],
        },
      },
      { group: "", resource: "pods", namespace: "ns", verb: "get", user: alice },
    ]);
    // Each check costs 350,000 as in Kubernetes' cost estimator.
    expect(r.cost).toBeGreaterThan(3 * 350_000);
  });

  it("a failing authorizer gives an errored decision, not an exception", () => {
    const c = env.compile("authorizer.path('/x').check('get').errored()");
    const act = env.activation(
      {},
      {
        authorizer: {
          authorize: () => {
            throw new Error("down");
          },
        },
      },
    );
    expect(c.ok && c.value.evaluate(act)).toMatchObject({ value: true });
  });

  it("lists the available functions", () => {
    expect(env.functionNames()).toEqual(
      expect.arrayContaining(["quantity", "isSorted", "semver", "format.named"]),
    );
  });
});

describe("--k8s-version gating", () => {
  it.each([
    ["quantity('1')", "1.27", "1.28"],
    ["sets.contains([1], [1])", "1.28", "1.29"],
    ["'%s'.format(['a'])", "1.28", "1.29"],
    ["ip('1.2.3.4').family() == 4", "1.29", "1.30"],
    ["cidr('10.0.0.0/8').prefixLength() == 8", "1.29", "1.30"],
    ["format.dns1123Label().validate('a').hasValue()", "1.30", "1.31"],
    ["semver('1.0.0').major() == 1", "1.32", "1.33"],
    ["lists.range(2).size() == 2", "1.33", "1.34"],
    ["[1].first().hasValue()", "1.33", "1.34"],
    ["[1, 2].includes(2)", "1.36", "1.37"],
  ])("%s is unavailable at %s and available from %s", (expr, before, from) => {
    const older = createCelEnvironment({ k8sVersion: okVersion(before), variables: {} }).compile(expr);
    expect(older.ok).toBe(false);
    if (!older.ok) expect(older.error[0]?.message).toMatch(`available from Kubernetes ${from}`);
    const newer = createCelEnvironment({ k8sVersion: okVersion(from), variables: {} }).compile(expr);
    expect(newer.ok).toBe(true);
  });

  it.each([
    ["object.?a.orValue(1)", "1.27"],
    ["{'a': 1}.all(k, v, v > 0)", "1.31"],
  ])("%s needs a newer version than %s", (expr, ver) => {
    const r = createCelEnvironment({ k8sVersion: okVersion(ver), variables: { object: "dyn" } }).compile(
      expr,
    );
    expect(r.ok).toBe(false);
  });

  it("regex literals are validated at compile time from 1.29 and at runtime before", () => {
    const newer = createCelEnvironment({ k8sVersion: v(1, 29), variables: {} }).compile("'a'.matches('[')");
    expect(newer.ok).toBe(false);
    const older = createCelEnvironment({ k8sVersion: v(1, 28), variables: {} }).compile("'a'.matches('[')");
    expect(older.ok && older.value.evaluate({})).toMatchObject({ kind: "error", code: "runtime" });
  });

  it("includes (lists library v1, 1.37) finds an equal element, or compares a non-list target", () => {
    const env37 = createCelEnvironment({ k8sVersion: v(1, 37), variables: { object: "dyn" } });
    const run = (expr: string) => {
      const c = env37.compile(expr);
      return c.ok ? c.value.evaluate({ object: { tags: ["a", "b"], n: 3 } }) : c.error;
    };
    expect(run("object.tags.includes('b') && !object.tags.includes('c')")).toMatchObject({ value: true });
    expect(
      run("[1, 2].includes(2.0) && 'model-a'.includes('model-a') && !'model-a'.includes('model')"),
    ).toMatchObject({ value: true });
    expect(run("object.n.includes(3) && ![[1]].includes([2])")).toMatchObject({ value: true });
  });

  it("new expressions get the previous release's environment, as kube-apiserver checks them at creation", () => {
    const created = createCelEnvironment({ k8sVersion: v(1, 37), variables: {}, expressions: "new" });
    const r = created.compile("[1].includes(1)");
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error[0]?.message).toBe(
        "undeclared reference to 'includes': available from Kubernetes 1.38 for new expressions (introduced in 1.37; kube-apiserver checks new expressions against the previous release's environment)",
      );
    expect(created.k8sVersion).toEqual(v(1, 37));
    // 1.36's environment has everything up to 1.34's lists v3.
    expect(created.compile("lists.range(2).size() == 2").ok).toBe(true);
    expect(
      createCelEnvironment({ k8sVersion: v(1, 34), variables: {}, expressions: "new" }).compile(
        "lists.range(1)",
      ).ok,
    ).toBe(false);
  });

  it("defaults to the newest modelled release and refuses newer ones", () => {
    expect(LATEST_K8S_VERSION).toEqual(v(1, 37));
    expect(createCelEnvironment({ variables: {} }).k8sVersion).toEqual(v(1, 37));
    expect(parseK8sVersion("1.38")).toEqual({
      ok: false,
      error: `Kubernetes version "1.38" is newer than belay's CEL environment: 1.37 is the newest modelled`,
    });
  });

  it("parses versions", () => {
    expect(parseK8sVersion("v1.30.2")).toEqual({ ok: true, value: { major: 1, minor: 30 } });
    expect(parseK8sVersion("1.20").ok).toBe(false);
    expect(parseK8sVersion("latest").ok).toBe(false);
  });
});

describe("messages and budgets", () => {
  it("caps messageExpression output at 5 KiB without splitting characters", () => {
    expect(truncateMessage("x".repeat(6000))).toHaveLength(MAX_MESSAGE_EXPRESSION_LENGTH);
    expect(Buffer.byteLength(truncateMessage("é".repeat(4000)))).toBeLessThanOrEqual(5120);
    expect(truncateMessage("short")).toBe("short");
  });

  it("a shared budget is charged by every evaluation", () => {
    const env = createCelEnvironment({ variables: { object: "dyn" } });
    const c = env.compile("object.a + object.b");
    const budget = createCostBudget(100);
    expect(c.ok && c.value.evaluate({ object: { a: 1, b: 2 } }, { costBudget: budget })).toMatchObject({
      value: 3,
    });
    expect(budget.remaining).toBeLessThan(100);
  });
});

function okVersion(text: string) {
  const r = parseK8sVersion(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
