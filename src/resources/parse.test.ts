import { describe, expect, it } from "vitest";
import { locate } from "./locate.ts";
import { parseStream } from "./parse.ts";
import { containersOf, podTemplates } from "./pod-spec.ts";

const multi = `# leading comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
---
---
apiVersion: v1
kind: Pod
metadata:
  name: two
  namespace: ns
spec:
  containers:
    - name: app
      image: nginx
      securityContext:
        privileged: yes
`;

describe("parseStream", () => {
  it("reads multi-document YAML, skipping empty documents", () => {
    const { resources, errors } = parseStream(multi, "m.yaml");
    expect(errors).toEqual([]);
    expect(resources.map((r) => r.ref)).toEqual([
      { apiVersion: "v1", kind: "ConfigMap", name: "one" },
      { apiVersion: "v1", kind: "Pod", name: "two", namespace: "ns" },
    ]);
  });

  it("resolves scalars like kubectl's YAML 1.1 reader", () => {
    const { resources } = parseStream(
      "apiVersion: v1\nkind: X\nmetadata: {name: x}\na: yes\nb: off\nc: 0755\nd: 'yes'\ne: 1_000\nf: 0x1f\ng: ~\n",
      "x.yaml",
    );
    const o = resources[0]?.object as Record<string, unknown>;
    expect([o.a, o.b, o.c, o.d, o.e, o.f, o.g]).toEqual([true, false, 493, "yes", 1000, 31, null]);
  });

  it("keeps the last value of a duplicated key, like the API server's decoder", () => {
    const { resources, errors } = parseStream(
      "apiVersion: v1\nkind: X\nmetadata: {name: a}\nk: 1\nk: 2\n",
      "d.yaml",
    );
    expect(errors).toEqual([]);
    expect(resources[0]?.object.k).toBe(2);
  });

  it("expands List kinds and locates items inside them", () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
  - apiVersion: v1
    kind: Secret
    metadata:
      name: b
`;
    const { resources } = parseStream(text, "l.yaml");
    expect(resources.map((r) => r.ref.name)).toEqual(["a", "b"]);
    expect(locate(resources[1] as never, ["metadata", "name"])).toEqual({
      file: "l.yaml",
      line: 10,
      column: 7,
    });
  });

  it("reads JSON documents and locates their fields", () => {
    const text =
      '{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {"name": "j"},\n  "spec": {"hostPID": true}\n}\n';
    const { resources } = parseStream(text, "p.json");
    expect(resources[0]?.ref.name).toBe("j");
    expect(locate(resources[0] as never, ["spec", "hostPID"])).toEqual({
      file: "p.json",
      line: 5,
      column: 12,
    });
  });

  it("reports invalid YAML with file, line and column and keeps the other documents", () => {
    const text =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: [unclosed\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n";
    const { resources, errors } = parseStream(text, "bad.yaml");
    expect(resources.map((r) => r.ref.name)).toEqual(["ok", "after"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: "bad.yaml", line: 9 });
    expect(errors[0]?.message).toMatch(/^invalid YAML: /);
  });

  it("never quotes input text in errors (it may be a Secret)", () => {
    const text = "apiVersion: v1\nkind: Secret\ndata:\n  password: c2VjcmV0LXZhbHVl\n  bad: [x\n";
    const { errors } = parseStream(text, "s.yaml");
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors)).not.toContain("c2VjcmV0LXZhbHVl");
  });

  it("reports documents without apiVersion or kind at their first line", () => {
    const text =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# comment\nmetadata:\n  name: nokind\n";
    const { resources, errors } = parseStream(text, "k.yaml");
    expect(resources).toHaveLength(1);
    expect(errors).toEqual([
      {
        file: "k.yaml",
        line: 6,
        column: 1,
        message: "object has no apiVersion and no kind (every Kubernetes object needs apiVersion and kind)",
      },
    ]);
  });

  it("reports a scalar document", () => {
    const { errors } = parseStream("just a string\n", "s.yaml");
    expect(errors[0]?.message).toBe(
      "document is not a mapping (expected a Kubernetes object with apiVersion and kind)",
    );
  });
});

describe("locate", () => {
  it("points at the offending field's key, in the right document", () => {
    const { resources } = parseStream(multi, "m.yaml");
    const pod = resources[1] as never;
    expect(locate(pod, ["spec", "containers", 0, "securityContext", "privileged"])).toEqual({
      file: "m.yaml",
      line: 18,
      column: 9,
    });
  });

  it("falls back to the deepest existing ancestor of a missing field", () => {
    const { resources } = parseStream(multi, "m.yaml");
    const pod = resources[1] as never;
    expect(locate(pod, ["spec", "containers", 0, "resources", "limits"])).toEqual({
      file: "m.yaml",
      line: 15,
      column: 7,
    });
  });
});

describe("podTemplates", () => {
  const kinds: [string, string][] = [
    ["Pod", "spec:\n  containers: [{name: c, image: i}]"],
    ["Deployment", "spec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]"],
    ["StatefulSet", "spec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]"],
    ["DaemonSet", "spec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]"],
    ["ReplicaSet", "spec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]"],
    ["ReplicationController", "spec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]"],
    ["Job", "spec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]"],
    [
      "CronJob",
      "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: i}]",
    ],
    ["PodTemplate", "template:\n  spec:\n    containers: [{name: c, image: i}]"],
    ["Rollout", "spec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]"],
    [
      "CronWorkflowLike",
      "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: i}]",
    ],
  ];
  for (const [kind, body] of kinds) {
    it(`finds the pod template of ${kind}`, () => {
      const { resources } = parseStream(
        `apiVersion: x/v1\nkind: ${kind}\nmetadata: {name: n}\n${body}\n`,
        "k.yaml",
      );
      const templates = podTemplates(resources[0]?.object ?? {});
      expect(templates).toHaveLength(1);
      const containers = containersOf(templates[0] as never);
      expect(containers.map((c) => c.container.name)).toEqual(["c"]);
      expect(locate(resources[0] as never, containers[0]?.path ?? [])?.line).toBeGreaterThan(3);
    });
  }

  it("ignores unknown kinds whose spec.template.spec is not a pod spec", () => {
    const { resources } = parseStream(
      "apiVersion: x/v1\nkind: Thing\nmetadata: {name: n}\nspec:\n  template:\n    spec:\n      size: 3\n",
      "t.yaml",
    );
    expect(podTemplates(resources[0]?.object ?? {})).toEqual([]);
  });

  it("lists init, regular and ephemeral containers with their paths", () => {
    const { resources } = parseStream(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: i}]\n  containers: [{name: a}, {name: b}]\n  ephemeralContainers: [{name: e}]\n",
      "p.yaml",
    );
    const refs = containersOf(podTemplates(resources[0]?.object ?? {})[0] as never);
    expect(refs.map((r) => [r.list, r.index, r.container.name, r.path.join(".")])).toEqual([
      ["initContainers", 0, "i", "spec.initContainers.0"],
      ["containers", 0, "a", "spec.containers.0"],
      ["containers", 1, "b", "spec.containers.1"],
      ["ephemeralContainers", 0, "e", "spec.ephemeralContainers.0"],
    ]);
  });
});

describe("go-yaml v2 scalar resolution (checked against the API server in test/cluster/yaml-fidelity.test.ts)", () => {
  const read = (value: string) =>
    parseStream(`apiVersion: v1\nkind: X\nmetadata: {name: a}\nv: ${value}\n`, "x.yaml").resources[0]?.object
      .v;

  it.each([
    ["0X1F", 31],
    ["0O17", 15],
    ["0B11", 3],
    ["-.5", -0.5],
    ["+.0", 0],
    ["0._", 0],
    ["0789", 789],
    ["0x_1F", 31],
    [".5e1", 5],
    ["_0", "_0"],
    ["1.5.3", "1.5.3"],
    ["yEs", "yEs"],
    ["1:30", "1:30"],
  ])("%s → %j", (text, expected) => {
    expect(read(text)).toBe(expected);
  });

  it("applies merge keys positionally, the first of a list winning", () => {
    const text = `apiVersion: v1
kind: X
metadata: {name: a}
t: &t {privileged: true, x: 1}
f: &f {privileged: false}
a: {<<: *t}
b: {privileged: false, <<: *t}
c: {<<: [*t, *f]}
d: {<<: *t, privileged: false}
`;
    const o = parseStream(text, "m.yaml").resources[0]?.object as Record<string, unknown>;
    expect([o.a, o.b, o.c, o.d]).toEqual([
      { privileged: true, x: 1 },
      { privileged: true, x: 1 },
      { privileged: true, x: 1 },
      { privileged: false, x: 1 },
    ]);
  });
});
