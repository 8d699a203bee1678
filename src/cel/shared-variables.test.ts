import { parse } from "@bufbuild/cel";
import type { Expr } from "@bufbuild/cel-spec/cel/expr/syntax_pb.js";
import { describe, expect, it } from "vitest";
import { type CompiledExpression, createCelEnvironment, VAP_VARIABLES, type VariableMemo } from "./index.ts";
import { rewriteOptionalSyntax } from "./optional-syntax.ts";
import { references } from "./references.ts";
import { entryKey, type ShareKey } from "./shared-variables.ts";

const DECLARED = new Set(Object.keys(VAP_VARIABLES));
const refs = (expression: string) => {
  const r = references(parse(rewriteOptionalSyntax(expression).source).expr as Expr, DECLARED);
  return { globals: [...r.globals].sort(), variables: r.variables && [...r.variables].sort() };
};

describe("references", () => {
  it("lists the declared variables and the `variables` members an expression reads", () => {
    expect(refs("object.spec.x + variables.a.size() + variables.?b.orValue(0) + variables['c']")).toEqual({
      globals: ["object", "variables"],
      variables: ["a", "b", "c"],
    });
    expect(refs("params.data.x.split(',').map(c, c.trim())")).toEqual({ globals: ["params"], variables: [] });
    expect(refs("has(variables.a) && authorizer.group('').resource('pods').check('get').allowed()")).toEqual({
      globals: ["authorizer", "variables"],
      variables: ["a"],
    });
  });

  it("does not count comprehension variables that shadow declared names", () => {
    expect(refs("[1, 2].all(object, object > 0)")).toEqual({ globals: [], variables: [] });
    expect(refs("[1].map(x, x + object.n)")).toEqual({ globals: ["object"], variables: [] });
  });

  it("gives up on `variables` members when the map itself is used", () => {
    expect(refs("size(variables) > 0")).toEqual({ globals: ["variables"], variables: undefined });
    expect(refs("variables[object.kind]")).toEqual({
      globals: ["object", "variables"],
      variables: undefined,
    });
  });
});

/** Compile a policy's variables in order, as the VAP compiler does. */
function compileVariables(
  env: ReturnType<typeof createCelEnvironment>,
  defs: [string, string][],
): Record<string, CompiledExpression> {
  const out: Record<string, CompiledExpression> = {};
  for (const [name, expression] of defs) {
    const compiled = env.compile(expression);
    if (!compiled.ok) throw new Error(`${name}: ${JSON.stringify(compiled.error)}`);
    out[name] = compiled.value;
  }
  return out;
}

const POD_SPEC =
  "object.kind == 'Pod' ? object.spec : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec";
const CONTAINERS =
  "variables.podSpec.?containers.orValue([]) + variables.podSpec.?initContainers.orValue([])";

const objects = [
  {
    kind: "Deployment",
    spec: {
      template: {
        spec: {
          containers: [
            { name: "a", image: "x:1", securityContext: { capabilities: { add: ["NET_ADMIN", "CHOWN"] } } },
            { name: "b", image: "y" },
          ],
          initContainers: [{ name: "i", image: "z" }],
        },
      },
    },
  },
  {
    kind: "Pod",
    spec: { containers: [{ name: "c", image: "w", securityContext: { capabilities: { add: [] } } }] },
  },
  { kind: "Pod", spec: {} },
];
const paramsA = { data: { allowed: "CHOWN, NET_BIND_SERVICE" } };
const paramsB = { data: { allowed: "" } };

/** Three policies' variables and validations; two define `podSpec`/`containers` alike. */
function policies(env: ReturnType<typeof createCelEnvironment>) {
  return [
    {
      vars: compileVariables(env, [
        ["podSpec", POD_SPEC],
        ["containers", CONTAINERS],
        ["allowed", "params.data.allowed.split(',').map(c, c.trim()).filter(c, c != '')"],
        [
          "offending",
          "variables.containers.filter(c, c.?securityContext.?capabilities.?add.orValue([]).exists(cap, !(cap in variables.allowed)))",
        ],
      ]),
      validations: [
        "size(variables.offending) == 0",
        "variables.offending.map(c, c.name).join(', ') + variables.allowed.join(',')",
      ],
    },
    {
      vars: compileVariables(env, [
        ["podSpec", POD_SPEC],
        ["containers", CONTAINERS],
        ["names", "variables.containers.map(c, c.name)"],
      ]),
      validations: [
        "variables.names.all(n, n.size() < 3)",
        "size(variables.containers)",
        "variables.podSpec",
      ],
    },
    {
      // Same names, different definitions: nothing may be shared with the others.
      vars: compileVariables(env, [
        ["podSpec", "object.spec"],
        ["containers", "variables.podSpec.?containers.orValue([])"],
        ["names", "variables.containers.map(c, c.image)"],
      ]),
      validations: ["variables.names.join('|')", "size(variables.containers) + size(variables.names)"],
    },
  ];
}

describe("shared variables", () => {
  for (const limit of [1_000_000, 60, 25]) {
    it(`give exactly the values and costs of unshared evaluation, in any order (cost limit ${limit})`, () => {
      const env = createCelEnvironment({ variables: VAP_VARIABLES, perCallCostLimit: limit });
      const set = policies(env);
      const compiledValidations = set.map((p) =>
        p.validations.map((v) => {
          const c = env.compile(v);
          if (!c.ok) throw new Error(JSON.stringify(c.error));
          return c.value;
        }),
      );
      const orders = [
        [0, 1, 2],
        [2, 1, 0],
        [1, 0, 2],
        [1, 2, 0],
      ];
      let compared = 0;
      let costLimited = 0;
      let sharedEntries = 0;
      for (const params of [paramsA, paramsB, null]) {
        for (const object of objects) {
          for (const order of orders) {
            // One memo per request, shared by every policy (and a second activation of the
            // same policy, as for messageExpression).
            const memo: VariableMemo = new Map();
            for (const index of order) {
              const policy = set[index] as (typeof set)[number];
              const bindings = { object, params };
              for (const [v, expression] of (compiledValidations[index] ?? []).entries()) {
                const shared = env.activation(bindings, { lazyVariables: policy.vars, variableMemo: memo });
                const alone = env.activation(bindings, { lazyVariables: policy.vars });
                const result = expression.evaluate(alone);
                expect(expression.evaluate(shared), `policy ${index} validation ${v}`).toEqual(result);
                compared++;
                if (result.kind === "error" && result.code === "cost-limit") costLimited++;
              }
            }
            sharedEntries += memo.size;
          }
        }
      }
      expect(compared).toBe(3 * 3 * 4 * 7);
      // The limits chosen make both paths happen: shared values, and evaluations over the limit.
      if (limit === 1_000_000) expect(costLimited).toBe(0);
      else expect(costLimited).toBeGreaterThan(0);
      expect(sharedEntries).toBeGreaterThan(0);
    });
  }

  it("share values that read only params across requests", () => {
    const env = createCelEnvironment({ variables: VAP_VARIABLES });
    const vars = compileVariables(env, [
      ["allowed", "params.data.allowed.split(',')"],
      ["mine", "object.kind"],
    ]);
    const check = env.compile("variables.allowed");
    if (!check.ok) throw new Error("compile");
    const first = env.activation(
      { object: objects[0], params: paramsA },
      { lazyVariables: vars, variableMemo: new Map() },
    );
    const second = env.activation(
      { object: objects[1], params: paramsA },
      { lazyVariables: vars, variableMemo: new Map() },
    );
    const a = check.value.evaluateCel(first);
    const b = check.value.evaluateCel(second);
    // The very same list object: computed once for the params object, not once per request.
    expect(b.value).toBe(a.value);
    expect(b.cost).toBe(a.cost);
    const other = env.activation(
      { object: objects[1], params: paramsB },
      { lazyVariables: vars, variableMemo: new Map() },
    );
    expect(check.value.evaluateCel(other).value).not.toBe(a.value);
  });

  it("never share a variable that reads the authorizer or the whole variables map", () => {
    const env = createCelEnvironment({ variables: VAP_VARIABLES });
    const vars = compileVariables(env, [
      ["kind", "object.kind"],
      ["canGet", "authorizer.group('').resource('pods').check('get').allowed()"],
      ["dynamic", "variables[object.kind == 'Pod' ? 'kind' : 'canGet']"],
    ]);
    const check = env.compile("variables.kind + string(variables.canGet) + variables.dynamic");
    if (!check.ok) throw new Error("compile");
    const memo: VariableMemo = new Map();
    let asked = 0;
    const authorizer = {
      authorize: () => {
        asked++;
        return { decision: "allow" as const, reason: "" };
      },
    };
    for (let i = 0; i < 2; i++) {
      const activation = env.activation(
        { object: objects[1] },
        { lazyVariables: vars, variableMemo: memo, authorizer },
      );
      expect(check.value.evaluate(activation)).toMatchObject({ kind: "value", value: "PodtruePod" });
    }
    // Only `kind` was shared; the authorizer was asked by both evaluations.
    expect(memo.size).toBe(1);
    expect(asked).toBe(2);
  });
});

describe("entry keys", () => {
  const share = (key: number): ShareKey => ({ key, text: `k${key}`, paramsOnly: false, usesParams: true });

  it("give every variable and params object its own key, in small and large form", () => {
    // Past 2^14 params objects (and for key ids past 2^16) keys take the large form; the two
    // forms never meet.
    const keys = new Set<number>();
    const objects = Array.from({ length: 2 ** 14 + 100 }, () => ({}));
    for (const key of [1, 2, 2 ** 16 + 1]) {
      keys.add(entryKey(share(key), null));
      for (const params of objects) keys.add(entryKey(share(key), params));
    }
    expect(keys.size).toBe(3 * (objects.length + 1));
    // The same params object keeps its key; a variable that ignores params ignores the object.
    const first = objects[0] as object;
    expect(entryKey(share(2), first)).toBe(entryKey(share(2), first));
    expect(entryKey({ ...share(2), usesParams: false }, first)).toBe(entryKey(share(2), null));
  });
});
